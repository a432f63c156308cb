/**
 * The last-known-good policy on local disk (`store.snapshotPath`): the store's tenants as this
 * instance enforces them, and their change-feed version. It serves one case only: a start while
 * the database cannot be reached, which enforces the snapshot until the database answers (then
 * the database wins: the changes since the snapshot's version are applied).
 *
 * The file is JSON, one tenant per line inside `tenants` (readable with jq, comparable with
 * diff): `{"linkgateSnapshot": 1, "version": …, "writtenAt": "…", "tenants": [ … ]}`. It is
 * written whole to a temporary file in the same directory, fsynced, then renamed over the old
 * one (and the directory fsynced), so a crash leaves either the old file or the new one, never
 * half of one; a stray temporary file is overwritten by the next write.
 */
import { open, readFile, rename } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { LinkgateError } from "../errors/index.js";
import type { Logger } from "../observability/index.js";
import type { StoredTenant, StoreSnapshot } from "../store/index.js";

/** The format written in `linkgateSnapshot`; a file of another format is refused. */
const FORMAT = 1;
/**
 * Characters serialised per write call: the event loop serves connections between two. Writing
 * a million rules (137 MB) in chunks of this size blocked it for 9 to 21 ms at most, against
 * 77 ms in chunks of 1 000 tenants (1.4 MB), on the loaded 2-core development machine.
 */
const CHUNK_CHARS = 256 * 1024;
/** Writes are at least this far apart… */
const MIN_GAP_MS = 1000;
/** …and this many times as far apart as the last one took (a million rules take about 1 s). */
const GAP_PER_WRITE = 10;

export interface PolicySnapshotFile extends StoreSnapshot {
  /** When it was written (ms since the epoch). */
  writtenAt: number;
}

/** Writes `snapshot` to `path` atomically (see the file's comment). */
export async function writeSnapshot(path: string, snapshot: StoreSnapshot): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.tmp`);
  const file = await open(temporary, "w", 0o600);
  try {
    const writtenAt = JSON.stringify(new Date().toISOString());
    await file.write(
      `{"linkgateSnapshot":${FORMAT},"version":${snapshot.version},"writtenAt":${writtenAt},"tenants":[\n`,
    );
    const tenants = snapshot.tenants;
    let chunk = "";
    for (let k = 0; k < tenants.length; k++) {
      chunk += `${JSON.stringify(tenants[k])}${k + 1 < tenants.length ? "," : ""}\n`;
      if (chunk.length >= CHUNK_CHARS) {
        await file.write(chunk);
        chunk = "";
      }
    }
    await file.write(`${chunk}]}\n`);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, path);
  // The rename itself is durable once the directory is.
  const directory = await open(dirname(path), "r");
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

/** Reads a snapshot written by writeSnapshot; SNAPSHOT_UNREADABLE says why it cannot. */
export async function readSnapshot(path: string): Promise<PolicySnapshotFile> {
  const unreadable = (why: string): never => {
    throw new LinkgateError("SNAPSHOT_UNREADABLE", `the policy snapshot ${path} ${why}`);
  };
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return unreadable(code === "ENOENT" ? "does not exist" : `cannot be read (${code})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return unreadable("is not JSON: not a snapshot linkgate wrote, or damaged");
  }
  const v = value as Partial<Record<string, unknown>> | null;
  if (v?.linkgateSnapshot !== FORMAT) {
    return unreadable(`is not a linkgate policy snapshot of format ${FORMAT}`);
  }
  const writtenAt = Date.parse(String(v.writtenAt));
  if (!Number.isSafeInteger(v.version) || !Array.isArray(v.tenants) || Number.isNaN(writtenAt)) {
    return unreadable("lacks its version, writtenAt or tenants");
  }
  for (const t of v.tenants as Partial<StoredTenant>[]) {
    if (typeof t?.id !== "string" || !Array.isArray(t.hostnames) || t.allow === undefined) {
      return unreadable(`has a tenant without id, hostnames or allow (${JSON.stringify(t?.id)})`);
    }
  }
  return { version: v.version as number, tenants: v.tenants as StoredTenant[], writtenAt };
}

/**
 * Keeps the snapshot file up to date with `source` (the tenants in force): `changed()` after
 * each change applied asks for a write, coalesced: at most one write runs, and the next starts
 * MIN_GAP_MS, or GAP_PER_WRITE times the last write's duration, after it, so that a stream of
 * changes to a large policy costs a bounded share of a core. The file may lag the policy by
 * that much: it is only for a start during an outage, after which the database catches up.
 */
export class SnapshotWriter {
  readonly path: string;
  readonly #source: () => StoreSnapshot;
  readonly #logger: Logger;
  /** The version the file holds (-1: not written by this process yet). */
  #written: number;
  #dirty = false;
  #timer: NodeJS.Timeout | null = null;
  #writing: Promise<void> | null = null;
  #lastEnd = Number.NEGATIVE_INFINITY;
  #lastDurationMs = 0;
  #failing = false;
  #closed = false;

  constructor(path: string, source: () => StoreSnapshot, logger: Logger, written = -1) {
    this.path = path;
    this.#source = source;
    this.#logger = logger;
    this.#written = written;
  }

  /** The policy changed (or was loaded): write it, soon. */
  changed(): void {
    this.#dirty = true;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer !== null || this.#writing !== null || !this.#dirty || this.#closed) return;
    const gap = Math.max(MIN_GAP_MS, GAP_PER_WRITE * this.#lastDurationMs);
    const delay = Math.max(0, this.#lastEnd + gap - performance.now());
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#writing = this.#write().finally(() => {
        this.#writing = null;
        this.#schedule();
      });
    }, delay);
    this.#timer.unref();
  }

  async #write(): Promise<void> {
    this.#dirty = false;
    const snapshot = this.#source();
    if (snapshot.version === this.#written) return;
    const started = performance.now();
    try {
      await writeSnapshot(this.path, snapshot);
      this.#written = snapshot.version;
      if (this.#failing) this.#logger.info({ path: this.path }, "policy snapshot written again");
      this.#failing = false;
    } catch (error) {
      // Tried again after the gap; said once per run of failures.
      this.#dirty = true;
      if (!this.#failing) {
        this.#logger.error({ err: error, path: this.path }, "cannot write the policy snapshot");
      }
      this.#failing = true;
    } finally {
      this.#lastEnd = performance.now();
      this.#lastDurationMs = this.#lastEnd - started;
    }
  }

  /** Writes what is pending now (on stop), and stops. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#writing;
    if (this.#dirty) await this.#write();
  }
}
