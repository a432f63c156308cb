/**
 * Where JSON lines go: standard output, written in batches, never blocking, bounded.
 *
 * - Batched: a write happens when a full batch is waiting, or 25 ms after the first waiting
 *   line, whichever comes first: one write(2) for many lines instead of one per connection.
 * - Atomic per batch: when the output is a pipe or a socket, which the workers of
 *   `serve --workers N` share, a batch is whole lines and at most PIPE_BUF (4096) bytes, the
 *   size up to which a pipe write is atomic: lines of different processes never interleave.
 * - Never blocking: a pipe or socket is written in non-blocking mode (the mode Node.js itself
 *   gives a standard output pipe on Linux); when it is full, the batch waits and is retried a
 *   moment later, so a slow reader of the output delays lines, never the data plane. Files and
 *   terminals are written directly.
 * - Bounded: at most `maxBufferedBytes` wait; lines beyond are dropped and counted
 *   (`droppedLines`, the metric linkgate_log_lines_dropped_total), never queued without limit.
 * - Exact on exit: every write happens on the calling thread, so `flushSync` (on exit) writes
 *   exactly what is left, in order; a SIGKILL loses at most the last 25 ms of lines.
 */
import { fstatSync, writeSync } from "node:fs";

/** The largest write(2) to a pipe that POSIX guarantees is not interleaved with others. */
const PIPE_BUF = 4096;
/** Batch size when the output is a file or a terminal. */
const FILE_BATCH = 64 * 1024;
/** How long a line waits at most for its batch to fill. */
const FLUSH_MS = 25;
/** How long to wait before retrying when the output is full. */
const RETRY_MS = 5;

export interface LineOutputOptions {
  /** Descriptor to write to. Default 1 (standard output). */
  fd?: number;
  /** Lines waiting beyond this many bytes are dropped. Default 8 MiB. */
  maxBufferedBytes?: number;
}

export class LineOutput {
  readonly fd: number;
  readonly maxBufferedBytes: number;
  /** Lines dropped because too much was waiting (a stalled reader of the output). */
  droppedLines = 0;
  readonly #batchLimit: number;
  /** Waiting lines are #lines[#head...]: taking a batch moves #head, it copies nothing. */
  #lines: string[] = [];
  #head = 0;
  #bytes = 0;
  /** The rest of a batch the output did not take yet; written before any other line. */
  #partial: Buffer | null = null;
  /** The next write is due: on a timer (FLUSH_MS, or RETRY_MS when full) or at once. */
  #timer: NodeJS.Timeout | null = null;
  #immediate = false;
  #idle: (() => void)[] = [];

  constructor(options: LineOutputOptions = {}) {
    this.fd = options.fd ?? 1;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 8 * 1024 * 1024;
    const shared = isPipeOrSocket(this.fd);
    // Standard output: Node.js puts a pipe or socket in non-blocking mode once process.stdout
    // exists (on Linux), which is what a write here must never wait on.
    if (shared && this.fd === 1) void process.stdout;
    this.#batchLimit = shared ? PIPE_BUF : FILE_BATCH;
  }

  /** Queues one line (with its "\n"); it is written within FLUSH_MS, sooner in a full batch. */
  write(line: string): void {
    const bytes = Buffer.byteLength(line);
    if (this.bufferedBytes + bytes > this.maxBufferedBytes) {
      this.droppedLines++;
      return;
    }
    this.#lines.push(line);
    this.#bytes += bytes;
    if (this.#immediate) return;
    if (this.#bytes >= this.#batchLimit && this.#partial === null) {
      this.#immediate = true;
      if (this.#timer !== null) clearTimeout(this.#timer);
      this.#timer = null;
      setImmediate(pumpOutput, this);
    } else if (this.#timer === null) {
      this.#arm(FLUSH_MS);
    }
  }

  /** Bytes waiting to be written. */
  get bufferedBytes(): number {
    return this.#bytes + (this.#partial?.length ?? 0);
  }

  get #waiting(): number {
    return this.#lines.length - this.#head;
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(pumpOutput, ms, this);
    this.#timer.unref(); // lines never keep a process alive; exit writes them (flushSync)
  }

  /** Takes the next batch: whole lines up to the atomic limit (at least one line). */
  #nextBatch(): Buffer {
    const lines = this.#lines;
    const start = this.#head;
    let size = 0;
    let end = start;
    while (end < lines.length) {
      const bytes = Buffer.byteLength(lines[end]);
      if (end > start && size + bytes > this.#batchLimit) break;
      size += bytes;
      end++;
    }
    const batch = end === start + 1 ? lines[start] : lines.slice(start, end).join("");
    if (end === lines.length) {
      this.#lines = [];
      this.#head = 0;
    } else if (end > 4096 && end * 2 > lines.length) {
      this.#lines = lines.slice(end); // compact now and then, not per batch
      this.#head = 0;
    } else {
      this.#head = end;
    }
    this.#bytes -= size;
    return Buffer.from(batch);
  }

  /**
   * Writes batches until nothing waits or the output is full. Returns "full" (retry later),
   * "done", or "gone" (the output is closed: what waits is dropped).
   */
  #writeAll(): "done" | "full" | "gone" {
    for (;;) {
      const data = this.#partial ?? (this.#waiting > 0 ? this.#nextBatch() : null);
      if (data === null) return "done";
      this.#partial = null;
      let written: number;
      try {
        written = writeSync(this.fd, data);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "EAGAIN" || code === "EWOULDBLOCK") {
          this.#partial = data;
          return "full";
        }
        // EPIPE (the reader exited) or another failure: nothing more can be written.
        this.droppedLines += this.#waiting + 1;
        this.#lines = [];
        this.#head = 0;
        this.#bytes = 0;
        return "gone";
      }
      if (written < data.length) this.#partial = data.subarray(written);
    }
  }

  /** Writes what waits; on a full output, tries again RETRY_MS later. */
  _pump(): void {
    this.#immediate = false;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#writeAll() === "full") {
      this.#arm(RETRY_MS);
      return;
    }
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  /** Writes what waits now; resolves once all of it is written (or the output is gone). */
  flush(): Promise<void> {
    if (this.bufferedBytes === 0) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.#idle.push(resolve));
    this._pump();
    return done;
  }

  /**
   * Writes everything that waits before returning, waiting out a full output for up to about a
   * second: for exit paths, where no timer will run again.
   */
  flushSync(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    for (let attempts = 0; attempts < 1000; attempts++) {
      if (this.#writeAll() !== "full") return;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

function pumpOutput(output: LineOutput): void {
  output._pump();
}

function isPipeOrSocket(fd: number): boolean {
  try {
    const s = fstatSync(fd);
    return s.isFIFO() || s.isSocket();
  } catch {
    return true; // unknown: keep batches atomic
  }
}
