/**
 * Test helpers for tests that drive real programs (HAProxy, openssl, curl) over real loopback
 * sockets. Everything here is bounded in time and cleans up after itself through `t.after`, even
 * when the test fails or times out.
 *
 * - requireProgram: skip loudly (or, with LINKGATE_REQUIRE_ALL=1 as in CI, fail) when a program
 *   is missing. A test never skips silently.
 * - tempDir, selfSignedCert: scratch directories and openssl-made certificates.
 * - startHaproxy: HAProxy in the foreground with a given configuration, ready when its
 *   frontends listen, stopped (SIGTERM, then SIGKILL) at the end of the test.
 * - freePort, listenTcp, hasIPv6Loopback: loopback sockets.
 * - waitFor, withTimeout, delay: bounded waiting.
 *
 * Loopback only: tests use distinct 127.0.0.x addresses (and ::1) so that test files running in
 * parallel do not compete for ports.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { accessSync, constants as fsConstants } from "node:fs";
import { mkdtemp, readdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { endianness, tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import type { TestContext } from "node:test";

// ---------------------------------------------------------------------------------------------
// Bounded waiting

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Settles like `promise`, or rejects with "timed out after N ms: <what>". */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export interface WaitForOptions {
  /** Default 5000. */
  timeoutMs?: number;
  /** Delay between polls; default 10. */
  intervalMs?: number;
  /** Said in the timeout error. */
  what?: string;
  /** Stops the wait early (it rejects). */
  signal?: AbortSignal;
}

/**
 * Polls `check` until it returns a value other than undefined/false/null and returns that value;
 * rejects after the timeout. A `check` that throws fails the wait at once.
 */
export async function waitFor<T>(
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: WaitForOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const intervalMs = options.intervalMs ?? 10;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    options.signal?.throwIfAborted();
    const value = await check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() >= deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${options.what ?? "a condition"}`,
      );
    }
    await delay(intervalMs);
  }
}

// ---------------------------------------------------------------------------------------------
// Programs

const programCache = new Map<string, string | null>();

/** The absolute path of `program` on PATH, or null. */
export function findProgram(program: string): string | null {
  const cached = programCache.get(program);
  if (cached !== undefined) return cached;
  let found: string | null = null;
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, program);
    try {
      accessSync(candidate, fsConstants.X_OK);
      found = candidate;
      break;
    } catch {
      // not here
    }
  }
  programCache.set(program, found);
  return found;
}

/** Whether CI asked for every test to run (LINKGATE_REQUIRE_ALL=1): missing programs fail. */
export function requireAll(): boolean {
  return process.env.LINKGATE_REQUIRE_ALL === "1";
}

/**
 * Skips the test, loudly: in the test report and with a `SKIPPED:` line on stderr that survives
 * any reporter. For conditions of the host that CI does not promise (such as IPv6 loopback).
 */
export function skipLoudly(t: TestContext, reason: string): void {
  process.stderr.write(`SKIPPED: ${t.name}: ${reason}\n`);
  t.skip(`SKIPPED: ${reason}`);
}

/**
 * Returns true if `program` is on PATH. Otherwise, with LINKGATE_REQUIRE_ALL=1 the test fails
 * (this throws); without it the test is skipped loudly and this returns false:
 *
 *   if (!requireProgram(t, "haproxy", "haproxy")) return;
 */
export function requireProgram(t: TestContext, program: string, debianPackage: string): boolean {
  if (findProgram(program) !== null) return true;
  const need = `${program} is not on PATH (Debian package ${debianPackage})`;
  if (requireAll()) {
    assert.fail(`${need}; LINKGATE_REQUIRE_ALL=1 requires it: apt-get install ${debianPackage}`);
  }
  process.stderr.write(
    `SKIPPED: ${t.name} needs ${program} (Debian package ${debianPackage}); install it or run .ci/run\n`,
  );
  t.skip(`NOT RUN: needs ${program} (apt-get install ${debianPackage}, or run .ci/run)`);
  return false;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a program to completion (killed after `timeoutMs`, default 10 s); rejects on failure. */
export function run(
  program: string,
  args: readonly string[],
  options: { timeoutMs?: number; cwd?: string } = {},
): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    execFile(
      program,
      args,
      { timeout: timeoutMs, killSignal: "SIGKILL", cwd: options.cwd, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        if (error) {
          const how = error.killed ? `killed after ${timeoutMs} ms` : `exit code ${error.code}`;
          reject(
            new Error(`${program} ${args.join(" ")} failed (${how})\n${stderr}${stdout}`.trim()),
          );
        } else {
          resolve({ stdout, stderr });
        }
      },
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Files

/** A fresh directory under the OS temp dir, removed when the test ends. */
export async function tempDir(t: TestContext, prefix = "linkgate-test-"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface Certificate {
  /** The certificate alone (PEM). */
  certPath: string;
  /** The private key alone (PEM, unencrypted). */
  keyPath: string;
  /** Certificate then key in one file, as HAProxy's `crt` wants. */
  pemPath: string;
  cert: string;
  key: string;
}

export interface CertificateOptions {
  /** Where to write the files; default a new temp dir removed after the test. */
  dir?: string;
  /** ECDSA curve; default "P-256" (signed with SHA-256); "P-384" is signed with SHA-384. */
  curve?: "P-256" | "P-384";
  /** Subject CN; default the host name. */
  commonName?: string;
}

/**
 * A self-signed ECDSA certificate for `host` (CN and subjectAltName DNS:host), valid two days,
 * made with openssl. Call requireProgram(t, "openssl", "openssl") first.
 */
export async function selfSignedCert(
  t: TestContext,
  host: string,
  options: CertificateOptions = {},
): Promise<Certificate> {
  const dir = options.dir ?? (await tempDir(t));
  const curve = options.curve ?? "P-256";
  const base = join(dir, host.replace(/[^A-Za-z0-9.-]/g, "_"));
  const certPath = `${base}.crt`;
  const keyPath = `${base}.key`;
  const pemPath = `${base}.pem`;
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    `ec_paramgen_curve:${curve === "P-256" ? "prime256v1" : "secp384r1"}`,
    curve === "P-256" ? "-sha256" : "-sha384",
    "-nodes",
    "-days",
    "2",
    "-subj",
    `/CN=${options.commonName ?? host}`,
    "-addext",
    `subjectAltName=DNS:${host}`,
    "-keyout",
    keyPath,
    "-out",
    certPath,
  ]);
  const [cert, key] = await Promise.all([readFile(certPath, "utf8"), readFile(keyPath, "utf8")]);
  await writeFile(pemPath, cert + key, { mode: 0o600 });
  return { certPath, keyPath, pemPath, cert, key };
}

// ---------------------------------------------------------------------------------------------
// Sockets

/**
 * A TCP port that was free on `host` a moment ago (bind port 0, read it, close). For programs
 * that need explicit ports; use a host address of the test's own to make reuse races unlikely.
 */
export function freePort(host: string): Promise<number> {
  return withTimeout(
    new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.unref();
      server.once("error", reject);
      server.listen({ host, port: 0, exclusive: true }, () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    }),
    5000,
    `finding a free port on ${host}`,
  );
}

/** Whether this host can listen on ::1. */
export async function hasIPv6Loopback(): Promise<boolean> {
  try {
    await freePort("::1");
    return true;
  } catch {
    return false;
  }
}

export interface TcpServer {
  server: net.Server;
  host: string;
  port: number;
  /** Every socket accepted so far (destroyed when the test ends). */
  sockets: net.Socket[];
}

/**
 * A TCP server on `host`, port 0 unless given, calling `onConnection` for each socket. Socket
 * errors (peers that reset) are ignored unless `onConnection` handles them. Closed, with every
 * socket destroyed, when the test ends.
 */
export async function listenTcp(
  t: TestContext,
  host: string,
  onConnection: (socket: net.Socket) => void,
  port = 0,
): Promise<TcpServer> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on("error", () => {});
    onConnection(socket);
  });
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host, port }, () => resolve());
    }),
    5000,
    `listening on ${host}:${port}`,
  );
  return { server, host, port: (server.address() as net.AddressInfo).port, sockets };
}

/** Canonical text of an IP address (WHATWG URL host rules: lower case, RFC 5952 zeros). */
function canonicalHost(address: string): string {
  const host = new URL(`http://${address.includes(":") ? `[${address}]` : address}/`).hostname;
  return host.startsWith("[") ? host.slice(1, -1) : host;
}

/**
 * The listening TCP sockets of this host from /proc/net/tcp{,6}: "host port" to the inodes of
 * the sockets; null off Linux.
 */
async function procListeners(): Promise<Map<string, string[]> | null> {
  const out = new Map<string, string[]>();
  const little = endianness() === "LE";
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch {
      if (file.endsWith("6")) continue; // no IPv6 on this host
      return null;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || fields[3] !== "0A") continue; // 0A = LISTEN
      const [hex, portHex] = fields[1].split(":");
      // The kernel prints each 32-bit word of the address in host byte order.
      const bytes = Buffer.alloc(hex.length / 2);
      for (let w = 0; w < hex.length / 8; w++) {
        const word = Number.parseInt(hex.slice(8 * w, 8 * w + 8), 16);
        if (little) bytes.writeUInt32LE(word, 4 * w);
        else bytes.writeUInt32BE(word, 4 * w);
      }
      const address =
        bytes.length === 4
          ? bytes.join(".")
          : canonicalHost(
              Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(2 * i).toString(16)).join(":"),
            );
      const key = `${address} ${Number.parseInt(portHex, 16)}`;
      out.set(key, [...(out.get(key) ?? []), fields[9]]);
    }
  }
  return out;
}

/** The inodes of the sockets process `pid` holds open (empty if it cannot be read). */
async function socketInodes(pid: number): Promise<Set<string>> {
  const inodes = new Set<string>();
  let fds: string[];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(await readlink(`/proc/${pid}/fd/${fd}`));
      if (match !== null) inodes.add(match[1]);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

export interface ListeningOptions extends WaitForOptions {
  /** Only a listening socket of this process counts (Linux); guards against port races. */
  pid?: number;
}

/**
 * Waits until something (process `pid`, if given) listens on host:port. On Linux it reads
 * /proc/net/tcp, which does not disturb the listener (a probe connection through a TCP proxy
 * would reach its backend); elsewhere it falls back to connecting.
 */
export async function waitForListening(
  host: string,
  port: number,
  options: ListeningOptions = {},
): Promise<void> {
  const key = `${canonicalHost(host)} ${port}`;
  const { pid, ...waitOptions } = options;
  await waitFor(
    async () => {
      const listeners = await procListeners();
      if (listeners === null) return canConnect(host, port);
      const inodes = listeners.get(key);
      if (inodes === undefined) return false;
      if (pid === undefined) return true;
      const own = await socketInodes(pid);
      return inodes.some((inode) => own.has(inode));
    },
    {
      what: `a listener on ${host}:${port}${pid === undefined ? "" : ` owned by process ${pid}`}`,
      ...waitOptions,
    },
  );
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

// ---------------------------------------------------------------------------------------------
// HAProxy

/**
 * `global` and `defaults` sections for test configurations: foreground-friendly (no chroot, no
 * user, no daemon, no stats socket), logging to stderr (see `logs()`), TCP mode, short timeouts.
 */
export const HAPROXY_TEST_PREAMBLE = `
global
  maxconn 200
  log stderr format raw local0 info

defaults
  mode tcp
  log global
  option tcplog
  timeout connect 2s
  timeout client 10s
  timeout server 10s
`;

export interface Haproxy {
  /** SIGTERM, then SIGKILL after the stop timeout; resolves once the process has exited. */
  stop(): Promise<void>;
  /** Everything HAProxy wrote to stdout and stderr so far. */
  logs(): string;
  /** The configuration file. */
  readonly configPath: string;
  readonly pid: number | undefined;
}

export interface HaproxyOptions {
  /** Listeners to wait for; default every `bind` address:port in the configuration. */
  ready?: readonly { host: string; port: number }[];
  /** Default 5000. */
  readyTimeoutMs?: number;
  /** Grace period between SIGTERM and SIGKILL; default 2000. */
  stopTimeoutMs?: number;
}

// Processes still running, killed if the test process exits without the cleanup having run.
const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/**
 * The host:port pairs of the `bind` lines of an HAProxy configuration: "ip:port", "[v6]:port",
 * "ipv4@"/"ipv6@" prefixes, comma-separated lists. UNIX sockets, port ranges and other
 * families are left out.
 */
export function haproxyBinds(config: string): { host: string; port: number }[] {
  const out: { host: string; port: number }[] = [];
  for (const match of config.matchAll(/^\s*bind\s+(\S+)/gm)) {
    for (let spec of match[1].split(",")) {
      spec = spec.replace(/^(?:ipv4|ipv6|tcp|tcp4|tcp6)@/, "");
      if (spec.includes("@") || spec.startsWith("/")) continue;
      let host: string;
      let portText: string;
      if (spec.startsWith("[")) {
        const close = spec.indexOf("]:");
        if (close < 0) continue;
        host = spec.slice(1, close);
        portText = spec.slice(close + 2);
      } else {
        const colon = spec.lastIndexOf(":");
        if (colon < 0) continue;
        host = spec.slice(0, colon);
        portText = spec.slice(colon + 1);
      }
      if (!/^\d+$/.test(portText)) continue;
      if (host === "" || host === "*") host = "0.0.0.0";
      out.push({ host, port: Number(portText) });
    }
  }
  return out;
}

/**
 * Runs HAProxy in the foreground (`haproxy -db -f <file>`) with `config`, after checking it with
 * `haproxy -c`. Resolves once every frontend listens; stopped when the test ends. Call
 * requireProgram(t, "haproxy", "haproxy") first. HAProxy refuses to start without a listener,
 * so a configuration needs at least one frontend.
 */
export async function startHaproxy(
  t: TestContext,
  config: string,
  options: HaproxyOptions = {},
): Promise<Haproxy> {
  const dir = await mkdtemp(join(tmpdir(), "linkgate-haproxy-"));
  const configPath = join(dir, "haproxy.cfg");
  const removeDir = () => rm(dir, { recursive: true, force: true });
  let output = "";
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stopping: Promise<void> | undefined;

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const c = child;
      if (c !== undefined && c.exitCode === null && c.signalCode === null) {
        c.kill("SIGTERM");
        const killer = setTimeout(() => c.kill("SIGKILL"), options.stopTimeoutMs ?? 2000);
        await exited;
        clearTimeout(killer);
      }
      await removeDir();
    })();
    return stopping;
  };
  t.after(stop);

  await writeFile(configPath, config);
  try {
    await run("haproxy", ["-c", "-f", configPath]);
  } catch (error) {
    throw new Error(`HAProxy rejects the configuration:\n${(error as Error).message}\n${config}`);
  }

  const c = spawn("haproxy", ["-db", "-f", configPath], { stdio: ["ignore", "pipe", "pipe"] });
  child = c;
  running.add(c);
  c.stdout?.setEncoding("utf8").on("data", (s: string) => {
    output += s;
  });
  c.stderr?.setEncoding("utf8").on("data", (s: string) => {
    output += s;
  });
  let exitCode: number | string | null = null;
  exited = new Promise<void>((resolve) => {
    c.once("close", (code, signal) => {
      exitCode = code ?? signal;
      running.delete(c);
      resolve();
    });
    c.once("error", (error) => {
      output += `spawn error: ${error.message}\n`;
      exitCode = "spawn error";
      running.delete(c);
      resolve();
    });
  });

  const ready = options.ready ?? haproxyBinds(config);
  const died = exited.then(() => {
    throw new Error(`HAProxy exited (${exitCode}) before it was ready`);
  });
  died.catch(() => {}); // only observed while waiting for readiness
  const giveUp = new AbortController();
  try {
    await Promise.race([
      Promise.all(
        ready.map((l) =>
          waitForListening(l.host, l.port, {
            pid: c.pid,
            timeoutMs: options.readyTimeoutMs ?? 5000,
            signal: giveUp.signal,
          }),
        ),
      ),
      died,
    ]);
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\nHAProxy output:\n${output}`);
  } finally {
    giveUp.abort(); // the other waits, when one failed
  }

  return {
    stop,
    logs: () => output,
    configPath,
    pid: c.pid,
  };
}
