/**
 * Captures the first bytes a real TLS client sends: a TCP server on 127.0.0.1 records what the
 * first connection delivers until the ClientHello is complete, writes it as hex (one line per
 * chunk read from the socket, so a fixture also shows how the hello arrived), then closes.
 *
 *   node --import tsx test/tls/capture-hello.ts OUT.hex -- CLIENT ARGS...
 *
 * "{PORT}" in the client's arguments is replaced with the server's port. The completeness check
 * here is a minimal record walk written independently of src/tls, so a bug there cannot shape
 * the fixtures.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";

const [out, dashes, command, ...args] = process.argv.slice(2);
if (out === undefined || dashes !== "--" || command === undefined) {
  console.error("usage: capture-hello.ts OUT.hex -- CLIENT ARGS... ({PORT} is substituted)");
  process.exit(2);
}

/** Whether the bytes hold a whole first handshake message (records walked by their lengths). */
function helloComplete(bytes: Buffer): boolean {
  const handshake: Buffer[] = [];
  let off = 0;
  while (off + 5 <= bytes.length) {
    const length = bytes.readUInt16BE(off + 3);
    handshake.push(bytes.subarray(off + 5, Math.min(off + 5 + length, bytes.length)));
    off += 5 + length;
    const hs = Buffer.concat(handshake);
    if (hs.length >= 4 && hs.length >= 4 + hs.readUIntBE(1, 3)) return true;
  }
  return false;
}

const chunks: Buffer[] = [];
let finished = false;
const server = createServer((socket) => {
  if (chunks.length > 0 || finished) {
    socket.destroy();
    return;
  }
  socket.on("data", (data: Buffer) => {
    if (finished) return;
    chunks.push(Buffer.from(data));
    if (helloComplete(Buffer.concat(chunks))) finish(socket.destroy.bind(socket));
  });
  socket.on("error", () => {});
});

const timer = setTimeout(() => finish(() => {}), 20_000);

function finish(closeSocket: () => void): void {
  if (finished) return;
  finished = true;
  clearTimeout(timer);
  closeSocket();
  server.close();
  client.kill();
  if (chunks.length === 0) {
    console.error("no bytes captured");
    process.exitCode = 1;
    return;
  }
  writeFileSync(out, `${chunks.map((c) => c.toString("hex")).join("\n")}\n`);
  const all = Buffer.concat(chunks);
  console.log(
    JSON.stringify({ out, bytes: all.length, chunks: chunks.map((c) => c.length) }, null, 0),
  );
}

let client: ReturnType<typeof spawn>;
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  client = spawn(
    command,
    args.map((a) => a.replaceAll("{PORT}", String(port))),
    { stdio: ["pipe", "ignore", "ignore"] },
  );
  client.on("error", (e) => {
    console.error(`cannot run ${command}: ${e.message}`);
    finish(() => {});
  });
});
