/**
 * A tiny authoritative DNS server on 127.0.0.1 (UDP, port 0) for the `linkgate doctor dns`
 * tests: A and AAAA answers from a table, NXDOMAIN for names not in it, SERVFAIL on request, and
 * silence (a query that times out) on request. Enough of RFC 1035 for c-ares, nothing more.
 */
import dgram from "node:dgram";
import { isIPv4, isIPv6 } from "node:net";

export type Answer =
  | { a?: string[]; aaaa?: string[] }
  | "servfail"
  | "refused"
  /** No answer at all: the client's query times out. */
  | "silence";

const TYPE_A = 1;
const TYPE_AAAA = 28;
const RCODE_SERVFAIL = 2;
const RCODE_NXDOMAIN = 3;
const RCODE_REFUSED = 5;

export interface Responder {
  /** "127.0.0.1:PORT", for `--resolver` and `Resolver.setServers`. */
  address: string;
  /** Every question received, "name TYPE" (A, AAAA or the number). */
  queries: string[];
  close(): Promise<void>;
}

function ipBytes(text: string): Buffer {
  if (isIPv4(text)) return Buffer.from(text.split(".").map(Number));
  if (!isIPv6(text)) throw new Error(`not an address: ${text}`);
  const [head, tail = ""] = text.split("::");
  const groups = (s: string) => (s === "" ? [] : s.split(":").map((g) => Number.parseInt(g, 16)));
  const h = groups(head);
  const t = text.includes("::") ? groups(tail) : [];
  const all = [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
  const out = Buffer.alloc(16);
  for (let i = 0; i < 8; i++) out.writeUInt16BE(all[i], 2 * i);
  return out;
}

/** The question's name (lower case) and the offset just after it. */
function readName(msg: Buffer, start: number): { name: string; end: number } | null {
  const labels: string[] = [];
  let i = start;
  while (i < msg.length) {
    const len = msg[i];
    if (len === 0) return { name: labels.join(".").toLowerCase(), end: i + 1 };
    if (len > 63 || i + 1 + len > msg.length) return null;
    labels.push(msg.toString("latin1", i + 1, i + 1 + len));
    i += 1 + len;
  }
  return null;
}

function respond(
  query: Buffer,
  table: ReadonlyMap<string, Answer>,
  queries: string[],
): Buffer | null {
  if (query.length < 12 || query.readUInt16BE(4) < 1) return null;
  const q = readName(query, 12);
  if (q === null || q.end + 4 > query.length) return null;
  const qtype = query.readUInt16BE(q.end);
  queries.push(`${q.name} ${qtype === TYPE_A ? "A" : qtype === TYPE_AAAA ? "AAAA" : qtype}`);
  const answer = table.get(q.name);
  if (answer === "silence") return null;
  let rcode = 0;
  let records: Buffer[] = [];
  if (answer === undefined) rcode = RCODE_NXDOMAIN;
  else if (answer === "servfail") rcode = RCODE_SERVFAIL;
  else if (answer === "refused") rcode = RCODE_REFUSED;
  else {
    const list = qtype === TYPE_A ? answer.a : qtype === TYPE_AAAA ? answer.aaaa : undefined;
    records = (list ?? []).map((ip) => {
      const data = ipBytes(ip);
      const rr = Buffer.alloc(12);
      rr.writeUInt16BE(0xc00c, 0); // a pointer to the question's name
      rr.writeUInt16BE(qtype, 2);
      rr.writeUInt16BE(1, 4); // class IN
      rr.writeUInt32BE(60, 6); // TTL
      rr.writeUInt16BE(data.length, 10);
      return Buffer.concat([rr, data]);
    });
  }
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2); // id
  const rd = query[2] & 0x01;
  header[2] = 0x84 | rd; // QR, AA, RD as asked
  header[3] = 0x80 | rcode; // RA
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(records.length, 6);
  return Buffer.concat([header, query.subarray(12, q.end + 4), ...records]);
}

/** Starts the server; `table` maps lower-case names (no trailing dot) to their answers. */
export async function startResponder(table: Record<string, Answer>): Promise<Responder> {
  const names = new Map(Object.entries(table));
  const queries: string[] = [];
  const socket = dgram.createSocket("udp4");
  socket.on("message", (msg, peer) => {
    const reply = respond(msg, names, queries);
    if (reply !== null) socket.send(reply, peer.port, peer.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => resolve());
  });
  const { port } = socket.address();
  return {
    address: `127.0.0.1:${port}`,
    queries,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}
