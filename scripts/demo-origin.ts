/**
 * A demo upstream for `npm start` (examples/demo.yaml sends to 127.0.0.1:9443): it reads the
 * PROXY v2 header linkgate sends, terminates TLS with the demo certificate, and answers any
 * request with what linkgate told it. For demonstrations only.
 *
 *   npm run demo:origin
 */
import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import { TENANT_TLV } from "../src/dataplane/upstream-header.js";
import {
  DONE,
  INVALID,
  type ProxyHeader,
  ProxyHeaderDecoder,
} from "../src/proxy-protocol/index.js";

const dir = new URL("../examples/demo-origin/", import.meta.url);
const context = tls.createSecureContext({
  cert: readFileSync(new URL("cert.pem", dir)),
  key: readFileSync(new URL("key.pem", dir)),
});
const [host, port] = (process.argv[2] ?? "127.0.0.1:9443").split(/:(?=\d+$)/);

function describe(h: ProxyHeader): string {
  const tenant = h.tlvs.find((t) => t.type === TENANT_TLV)?.value.toString() ?? "-";
  return `tenant=${tenant} link=${h.link?.id ?? "-"} client=${h.source?.address ?? "-"}:${h.source?.port ?? "-"} sni=${h.authority ?? "-"}`;
}

net
  .createServer((socket) => {
    socket.on("error", () => {});
    const decoder = new ProxyHeaderDecoder();
    const onData = (chunk: Buffer) => {
      const status = decoder.push(chunk);
      if (status === INVALID) {
        console.log(
          `demo origin: no PROXY header (${decoder.error?.code}); set upstreamProxyProtocol: v2`,
        );
        socket.destroy();
        return;
      }
      if (status !== DONE) return;
      socket.off("data", onData);
      socket.pause();
      const h = decoder.header as ProxyHeader;
      const line = describe(h);
      console.log(`demo origin: ${line}`);
      const rest = chunk.subarray(decoder.tailOffset);
      if (rest.length > 0) socket.unshift(rest);
      const secure = new tls.TLSSocket(socket, {
        isServer: true,
        secureContext: context,
        ALPNProtocols: ["http/1.1"],
      });
      secure.on("error", () => {});
      secure.once("data", () => {
        const body = `hello from the demo origin: ${line}\n`;
        secure.end(
          `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
        );
      });
    };
    socket.on("data", onData);
  })
  .listen(Number(port), host, () => console.log(`demo origin: listening on ${host}:${port}`));
