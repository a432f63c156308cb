/**
 * The runtime's floor on Node.js: the least a proxy must do for an allowed linkgate connection,
 * written the plain `node:net` way, with nothing else (no policy, no deadlines, no logs, no
 * metrics). `npm run bench` runs it as the `floor-node` system, so that every run shows
 * linkgate's own cost over what Node.js itself costs for the same work.
 *
 *   node bench/floor/node.ts LISTEN:PORT UPSTREAM:PORT HOST[,HOST...] [v2|none] [CIDR,...]
 *
 * Per connection: drop it unless its TCP peer is in one of the trusted IPv4 CIDRs (linkgate's
 * `trustedProxies`: reading the address is a getpeername(2)), read the whole PROXY v2 header and
 * the whole first TLS record, accept it if the record holds one of the host names as a server_name
 * entry (a byte search), connect to the upstream, send a fresh PROXY v2 header with the client's
 * addresses (unless `none`, the suite's --upstream-proxy none), then the bytes after the incoming
 * header exactly as received, then relay both ways with backpressure and half-close. Anything else
 * is dropped. Node.js >= 22.18 runs this file and minimal.ts (what the floors share) as they are
 * (type stripping): no loader is measured. Prints {"event":"listening","port":P}; exits on
 * SIGTERM.
 */
import net from "node:net";
import { DROP, floorArguments, freshHeader, inspect, MORE } from "./minimal.ts";

const { listen, upstream, serverNames, upstreamProxy, trusted } = floorArguments("node node.ts");

/**
 * from -> to: pause `from` while `to` cannot take more; its FIN ends `to`'s write half. Each
 * socket closes by itself once both of its halves have ended (net sockets auto-destroy).
 */
function relay(from: net.Socket, to: net.Socket): void {
  from.on("data", (chunk: Buffer) => {
    if (!to.write(chunk)) from.pause();
  });
  to.on("drain", () => from.resume());
  // After both FINs a close is the same FIN, one system call less (as linkgate's engines).
  from.on("end", () => {
    if (to.readableEnded && to.writableLength === 0) to.destroy();
    else to.end();
  });
}

function onConnection(client: net.Socket): void {
  if (!trusted(client.remoteAddress)) {
    client.destroy();
    return;
  }
  let buffered: Buffer = Buffer.alloc(0);
  let server: net.Socket | null = null;
  client.on("error", () => server?.destroy());
  client.on("end", () => {
    if (server === null) client.destroy(); // FIN before the ClientHello was in
  });
  const onHeaderData = (chunk: Buffer): void => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    const headerLength = inspect(buffered, serverNames);
    if (headerLength === MORE) return;
    if (headerLength === DROP) {
      client.destroy();
      return;
    }
    client.off("data", onHeaderData);
    const s = net.connect({ ...upstream, allowHalfOpen: true, noDelay: true });
    server = s;
    s.on("error", () => client.destroy());
    // Written before the connect completes: the socket sends it once connected.
    const received = buffered.subarray(headerLength);
    s.write(upstreamProxy === "none" ? received : Buffer.concat([freshHeader(buffered), received]));
    relay(client, s);
    relay(s, client);
  };
  client.on("data", onHeaderData);
}

const listener = net.createServer({ allowHalfOpen: true, noDelay: true }, onConnection);
listener.listen({ ...listen, backlog: 4096 }, () => {
  const { port } = listener.address() as net.AddressInfo;
  process.stdout.write(`${JSON.stringify({ event: "listening", port })}\n`);
});
process.on("SIGTERM", () => process.exit(0));
