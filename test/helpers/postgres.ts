/**
 * A real, throwaway PostgreSQL server for tests: Debian's `postgresql` package (initdb, pg_ctl
 * and postgres under /usr/lib/postgresql/<version>/bin, not on PATH), a data directory in a
 * temporary directory, TCP on 127.0.0.1 and a free port, durability off (fsync) for speed.
 *
 * - requirePostgres: skip loudly when PostgreSQL is missing (fail with LINKGATE_REQUIRE_ALL=1).
 * - startPostgres: one server, stopped and removed when its owner (a test, or a file through
 *   postgresPerFile) ends, and when the test process exits whatever happened.
 * - postgresPerFile: one server for the tests of a file, started by the first that needs it.
 *
 * PostgreSQL refuses to run as root: as root, every program runs as the `postgres` OS user
 * (runuser), and the temporary directory is handed to that user.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, type TestContext } from "node:test";
import postgres from "postgres";
import { findProgram, freePort, requireAll, run } from "./programs.js";

/** The Debian package that has the server programs. */
const PACKAGE = "postgresql";

/** Something whose end stops the server: a TestContext, or a file's `after` hook. */
export interface Owner {
  after(fn: () => Promise<void>): void;
}

export interface Postgres {
  /** A URL of the `postgres` database, superuser `postgres`, no password. */
  readonly url: string;
  readonly port: number;
  /** "PostgreSQL 15.18 (Debian …)": what `SELECT version()` says. */
  readonly version: string;
  /** Stops the server (fast shutdown: sessions are ended); the data stays for start(). */
  stop(): Promise<void>;
  /** Starts the stopped server again, on the same port with the same data. */
  start(): Promise<void>;
  /** stop() then start(). */
  restart(): Promise<void>;
  /** A new, empty database; returns its URL. */
  createDatabase(): Promise<string>;
}

/** The directory with pg_ctl: the newest /usr/lib/postgresql/<version>/bin, or PATH's. */
export function findPostgresBin(): string | null {
  const root = "/usr/lib/postgresql";
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, "bin", "pg_ctl")))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return join(root, versions[0], "bin");
  }
  const onPath = findProgram("pg_ctl");
  return onPath === null ? null : join(onPath, "..");
}

/**
 * Returns true if PostgreSQL is installed. Otherwise, with LINKGATE_REQUIRE_ALL=1 the test
 * fails (this throws); without it the test is skipped loudly and this returns false.
 */
export function requirePostgres(t: TestContext): boolean {
  if (findPostgresBin() !== null) return true;
  const need = `PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/pg_ctl; Debian package ${PACKAGE})`;
  if (requireAll()) {
    assert.fail(`${need}; LINKGATE_REQUIRE_ALL=1 requires it: apt-get install ${PACKAGE}`);
  }
  process.stderr.write(`SKIPPED: ${t.name}: ${need}; install it or run .ci/run\n`);
  t.skip(`NOT RUN: needs PostgreSQL (apt-get install ${PACKAGE}, or run .ci/run)`);
  return false;
}

/** As root, the uid and gid of the `postgres` OS user (the server refuses root); else null. */
function serverUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith("postgres:"));
  if (line === undefined) {
    throw new Error(`running as root, and there is no "postgres" user (Debian package ${PACKAGE})`);
  }
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

/** Data directories of servers still running, stopped if the process exits without cleanup. */
const running = new Map<string, () => void>();
process.on("exit", () => {
  for (const stopNow of running.values()) stopNow();
});

/**
 * Starts a server (initdb, then pg_ctl start) and returns once it accepts connections. It is
 * stopped, and its directory removed, when `owner` ends. Call requirePostgres(t) first.
 */
export async function startPostgres(owner: Owner): Promise<Postgres> {
  const bin = findPostgresBin();
  if (bin === null) throw new Error(`PostgreSQL is not installed (Debian package ${PACKAGE})`);
  const user = serverUser();
  const dir = await mkdtemp(join(tmpdir(), "linkgate-pg-"));
  const data = join(dir, "data");
  if (user !== null) {
    chownSync(dir, user.uid, user.gid);
    chmodSync(dir, 0o755);
  }
  const asServer = (program: string, args: string[]): [string, string[]] =>
    user === null
      ? [join(bin, program), args]
      : ["runuser", ["-u", "postgres", "--", join(bin, program), ...args]];
  const pgCtl = (args: string[], timeoutMs: number) =>
    run(...asServer("pg_ctl", ["-D", data, ...args]), { timeoutMs });

  let port = 0;
  let up = false;
  const start = async (): Promise<void> => {
    // -w waits until the server accepts connections; the socket directory is the private one.
    await pgCtl(
      [
        "-l",
        join(dir, "server.log"),
        "-w",
        "-t",
        "30",
        "-o",
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`,
        "start",
      ],
      40_000,
    );
    up = true;
  };
  const stop = async (): Promise<void> => {
    if (!up) return;
    try {
      await pgCtl(["-m", "fast", "-w", "-t", "10", "stop"], 15_000);
    } catch {
      await pgCtl(["-m", "immediate", "-w", "-t", "10", "stop"], 15_000);
    }
    up = false;
  };
  const serverLog = () => {
    try {
      return readFileSync(join(dir, "server.log"), "utf8");
    } catch {
      return "(no server log)";
    }
  };

  owner.after(async () => {
    try {
      await stop();
    } finally {
      running.delete(data);
      await rm(dir, { recursive: true, force: true });
    }
  });
  running.set(data, () => {
    if (!up) return;
    const [program, args] = asServer("pg_ctl", ["-D", data, "-m", "immediate", "stop"]);
    try {
      execFileSync(program, args, { timeout: 5000, stdio: "ignore" });
    } catch {
      // the process is exiting: nothing more to do
    }
  });

  await run(
    ...asServer("initdb", [
      "-D",
      data,
      "-U",
      "postgres",
      "-A",
      "trust",
      "-E",
      "UTF8",
      "--locale=C.UTF-8",
      "--no-sync",
    ]),
    { timeoutMs: 60_000 },
  );
  // Another test file may take the port between freePort and the start: try a few.
  for (let attempt = 1; ; attempt++) {
    port = await freePort("127.0.0.1");
    try {
      await start();
      break;
    } catch (error) {
      if (attempt >= 3) throw new Error(`${(error as Error).message}\n${serverLog()}`);
    }
  }

  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const admin = () => postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  const sql = admin();
  let version: string;
  try {
    [{ version }] = await sql<{ version: string }[]>`SELECT version()`;
  } finally {
    await sql.end();
  }
  let databases = 0;

  return {
    url,
    port,
    version,
    stop,
    start,
    async restart() {
      await stop();
      await start();
    },
    async createDatabase() {
      const name = `test_${++databases}`;
      const conn = admin();
      try {
        await conn.unsafe(`CREATE DATABASE ${name}`);
      } finally {
        await conn.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
  };
}

/**
 * One server for the tests of a file: call at the top level of the file; each test that needs
 * the server calls the returned function, which skips the test (returning null) when
 * PostgreSQL is missing, and starts the server on first use. The server stops after the
 * file's last test.
 */
export function postgresPerFile(): (t: TestContext) => Promise<Postgres | null> {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  let server: Promise<Postgres> | undefined;
  return async (t) => {
    if (!requirePostgres(t)) return null;
    server ??= startPostgres({ after: (fn) => cleanups.push(fn) });
    return server;
  };
}
