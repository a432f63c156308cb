/**
 * The faulty peers of the fault scenarios, in this process (their rates are low): upstreams that
 * reset mid-stream, never read, stream without end or never accept, and clients that reset,
 * stall or keep a connection open, each remembering what happened to it.
 */
import net from "node:net";
import { Proc } from "../../lib/procs.js";
import { sleep, until } from "./scenario.js";

/** Bytes a request takes: linkgate's PROXY v2 header, then one TLS record; -1 while unknown. */
function requestLength(b: Buffer): number {
  if (b.length < 16) return -1;
  const p = 16 + b.readUInt16BE(14);
  if (b.length < p + 5) return -1;
  return p + 5 + b.readUInt16BE(p + 3);
}

export type OriginBehaviour =
  /** After the request: send `bytes`, then reset the connection. */
  | { kind: "reset-after"; bytes: number }
  /** After the request: stop reading, forever. */
  | { kind: "no-read" }
  /** After the request: send without end, as fast as the connection takes it. */
  | { kind: "stream" }
  /** After the request: echo every byte back. */
  | { kind: "echo" };

export interface OriginConnection {
  socket: net.Socket;
  received: number;
  sent: number;
  /** When the connection closed (Date.now()), or 0 while open. */
  closedAt: number;
}

/** An upstream with a behaviour, on 127.0.0.3. */
export class Origin {
  readonly connections: OriginConnection[] = [];
  readonly server: net.Server;
  port = 0;

  private constructor(behaviour: OriginBehaviour) {
    this.server = net.createServer({ allowHalfOpen: true }, (socket) => {
      const c: OriginConnection = { socket, received: 0, sent: 0, closedAt: 0 };
      this.connections.push(c);
      let head = Buffer.alloc(0);
      socket.on("error", () => {});
      socket.on("close", () => {
        c.closedAt = Date.now();
      });
      const onData = (d: Buffer) => {
        c.received += d.length;
        head = Buffer.concat([head, d]);
        const want = requestLength(head);
        if (want < 0 || head.length < want) return;
        socket.off("data", onData);
        start(c, behaviour, head.subarray(want));
      };
      socket.on("data", onData);
    });
  }

  static async start(behaviour: OriginBehaviour): Promise<Origin> {
    const o = new Origin(behaviour);
    await new Promise<void>((resolve) => o.server.listen(0, "127.0.0.3", resolve));
    o.port = (o.server.address() as net.AddressInfo).port;
    return o;
  }

  get target(): string {
    return `127.0.0.3:${this.port}`;
  }

  open(): number {
    return this.connections.filter((c) => c.closedAt === 0).length;
  }

  close(): Promise<void> {
    for (const c of this.connections) c.socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Starts the behaviour once the request is in; `rest` is what came after it in the same read. */
function start(c: OriginConnection, b: OriginBehaviour, rest: Buffer): void {
  const s = c.socket;
  if (b.kind === "no-read") {
    s.pause();
    return;
  }
  const echo = b.kind === "echo";
  const onData = (d: Buffer) => {
    c.received += d.length;
    if (echo) {
      c.sent += d.length;
      s.write(d);
    }
  };
  if (echo && rest.length > 0) {
    c.sent += rest.length; // counted as received already
    s.write(rest);
  }
  s.on("data", onData);
  switch (b.kind) {
    case "reset-after":
      s.write(Buffer.alloc(b.bytes, 0x61), () => {
        c.sent += b.bytes;
        s.resetAndDestroy();
      });
      return;
    case "stream": {
      const chunk = Buffer.alloc(64 * 1024, 0x62);
      const pump = () => {
        while (!s.destroyed) {
          c.sent += chunk.length;
          if (!s.write(chunk)) return void s.once("drain", pump);
        }
      };
      pump();
      return;
    }
    case "echo":
      s.on("end", () => s.end());
      return;
  }
}

/**
 * An upstream address that never answers a SYN: a socket listening with a backlog of 1 in a
 * process that is stopped (SIGSTOP), its accept queue filled first. Loopback only, no firewall.
 */
export class BlackHole {
  readonly proc: Proc;
  readonly port: number;
  readonly #fill: net.Socket[];

  private constructor(proc: Proc, port: number, fill: net.Socket[]) {
    this.proc = proc;
    this.port = port;
    this.#fill = fill;
  }

  static async start(): Promise<BlackHole> {
    const proc = new Proc(
      process.execPath,
      [
        "-e",
        'const s=require("net").createServer();s.listen({host:"127.0.0.4",port:0,backlog:1},()=>console.log(JSON.stringify({port:s.address().port})));',
      ],
      { name: "black hole" },
    );
    const port = Number(
      (await proc.waitJson((j) => j.port !== undefined, 10_000, "the black hole")).port,
    );
    proc.signal("SIGSTOP");
    await sleep(100);
    // Fill the accept queue: the kernel completes handshakes into it until it is full, then
    // drops every SYN.
    const fill: net.Socket[] = [];
    for (let i = 0; i < 8; i++) {
      const s = net.connect({ host: "127.0.0.4", port });
      s.on("error", () => {});
      fill.push(s);
    }
    await sleep(300);
    return new BlackHole(proc, port, fill);
  }

  get target(): string {
    return `127.0.0.4:${this.port}`;
  }

  async stop(): Promise<void> {
    for (const s of this.#fill) s.destroy();
    this.proc.signal("SIGCONT");
    await this.proc.stop("SIGKILL", 0);
  }
}

/** A client of linkgate that sends a payload, then whatever the scenario tells it. */
export class Client {
  readonly socket: net.Socket;
  received = 0;
  /** The error code that ended it, or "" (closed normally, or still open). */
  error = "";
  closedAt = 0;
  readonly openedAt = Date.now();
  localAddress = "";
  localPort = 0;
  readonly connected: Promise<boolean>;

  constructor(port: number, payload: Buffer, localAddress?: string) {
    this.socket = net.connect({ host: "127.0.0.1", port, localAddress, noDelay: true });
    this.socket.on("data", (d: Buffer) => {
      this.received += d.length;
    });
    this.socket.on("error", (e: NodeJS.ErrnoException) => {
      this.error ||= e.code ?? e.message;
    });
    this.socket.on("close", () => {
      this.closedAt = Date.now();
    });
    this.connected = new Promise((resolve) => {
      this.socket.once("connect", () => {
        this.localAddress = this.socket.localAddress ?? "";
        this.localPort = this.socket.localPort ?? 0;
        this.socket.write(payload);
        resolve(true);
      });
      this.socket.once("close", () => resolve(false));
    });
  }

  get open(): boolean {
    return this.closedAt === 0;
  }

  /** Waits until it has received `bytes` or closed; false if neither happened in time. */
  receive(bytes: number, timeoutMs = 5000): Promise<boolean> {
    return until(() => this.received >= bytes || !this.open, timeoutMs, 10);
  }

  closed(timeoutMs = 5000): Promise<boolean> {
    return until(() => !this.open, timeoutMs, 10);
  }
}

/** Starts `n` clients and waits until each has connected (or failed). */
export async function clients(n: number, port: number, payload: Buffer): Promise<Client[]> {
  const out = Array.from(
    { length: n },
    (_, i) => new Client(port, payload, `127.0.0.${101 + (i % 16)}`),
  );
  await Promise.all(out.map((c) => c.connected));
  return out;
}

export interface LoopConnection {
  localAddress: string;
  localPort: number;
  startedAt: number;
  endedAt: number;
  /** Whether the TCP connection was established. */
  connected: boolean;
  received: number;
  error: string;
}

/**
 * A closed loop of allowed connections in this process, each remembered (local address and
 * port, to find its connection line; when and how it ended): for scenarios that must account
 * for every connection, where lgbench only counts.
 */
export class Loop {
  readonly connections: LoopConnection[] = [];
  #running = true;
  #live = 0;

  constructor(port: number, payload: Buffer, concurrency: number) {
    for (let i = 0; i < concurrency; i++) this.#one(port, payload, i);
  }

  #one(port: number, payload: Buffer, slot: number): void {
    if (!this.#running) return;
    const localAddress = `127.0.0.${101 + (slot % 16)}`;
    const c: LoopConnection = {
      localAddress,
      localPort: 0,
      startedAt: Date.now(),
      endedAt: 0,
      connected: false,
      received: 0,
      error: "",
    };
    this.connections.push(c);
    this.#live++;
    const s = net.connect({ host: "127.0.0.1", port, localAddress, noDelay: true });
    s.on("connect", () => {
      c.connected = true;
      c.localPort = s.localPort ?? 0;
      s.write(payload);
    });
    s.on("data", (d: Buffer) => {
      c.received += d.length;
    });
    s.on("error", (e: NodeJS.ErrnoException) => {
      c.error ||= e.code ?? e.message;
    });
    s.on("close", () => {
      c.endedAt = Date.now();
      this.#live--;
      // Refused: the listener is gone (a drain); wait a little rather than spin.
      if (c.error === "ECONNREFUSED") setTimeout(() => this.#one(port, payload, slot), 20);
      else setImmediate(() => this.#one(port, payload, slot));
    });
  }

  /** Stops starting connections; resolves when the last one has ended. */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.#running = false;
    await until(() => this.#live === 0, timeoutMs, 10);
  }
}
