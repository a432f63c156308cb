/**
 * Where JSON lines go: standard output, written in batches, off the event loop, bounded.
 *
 * - Batched: a write happens when a full batch is waiting, or 25 ms after the first waiting
 *   line, whichever comes first. A write per line, or per event-loop turn, costs a thread-pool
 *   hand-off (futex, eventfd) per line or two: 8 to 10 system calls per connection.
 * - Atomic per batch: when standard output is a pipe or a socket, which the workers of
 *   `serve --workers N` share, a batch is whole lines and at most PIPE_BUF (4096) bytes, the
 *   size up to which a pipe write is atomic: lines of different processes never interleave.
 * - Off the event loop: batches are written with fs.write (libuv's thread pool), one at a time.
 *   A slow reader of standard output delays lines, never the data plane.
 * - Bounded: at most `maxBufferedBytes` wait; lines beyond are dropped and counted
 *   (`droppedLines`, the metric linkgate_log_lines_dropped_total), never queued without limit.
 * - On exit, what is left is written synchronously (`flushSync`), so a normal exit, a fatal
 *   error handled by the runtime or a signal handled by it loses no line; a SIGKILL loses at
 *   most the lines of the last moments.
 */
import { fstatSync, write, writeSync } from "node:fs";

/** The largest write(2) to a pipe that POSIX guarantees is not interleaved with others. */
const PIPE_BUF = 4096;
/** Batch size when standard output is a file or a terminal. */
const FILE_BATCH = 64 * 1024;
/** How long a line waits at most for its batch to fill. */
const FLUSH_MS = 25;
/** How long to wait before retrying when a non-blocking output is full. */
const RETRY_MS = 1;

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
  /** A pump is due: `#timer` (FLUSH_MS after the first waiting line) or `#now` (a full batch). */
  #timer: NodeJS.Timeout | null = null;
  #now = false;
  /** The batch being written: handed to the thread pool, or waiting for a retry. */
  #inflight: Buffer | null = null;
  #retry: NodeJS.Timeout | null = null;
  #idle: (() => void)[] = [];

  constructor(options: LineOutputOptions = {}) {
    this.fd = options.fd ?? 1;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 8 * 1024 * 1024;
    this.#batchLimit = atomicLimit(this.fd);
  }

  /** Queues one line (with its "\n"); it is written within FLUSH_MS, sooner in a full batch. */
  write(line: string): void {
    const bytes = Buffer.byteLength(line);
    if (this.#bytes + bytes > this.maxBufferedBytes) {
      this.droppedLines++;
      return;
    }
    this.#lines.push(line);
    this.#bytes += bytes;
    this.#arm();
  }

  /** Schedules the next write: at once for a full batch, else FLUSH_MS after the first line. */
  #arm(): void {
    if (this.#inflight !== null || this.#now) return; // the write in flight re-arms when done
    if (this.#bytes >= this.#batchLimit) {
      this.#now = true;
      setImmediate(pumpOutput, this);
    } else if (this.#timer === null) {
      this.#timer = setTimeout(pumpOutput, FLUSH_MS, this);
      this.#timer.unref(); // lines never keep a process alive; exit writes them (flushSync)
    }
  }

  /** Bytes waiting to be written. */
  get bufferedBytes(): number {
    return this.#bytes;
  }

  get #waiting(): number {
    return this.#lines.length - this.#head;
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

  /** Starts writing the next batch if none is being written. */
  _pump(): void {
    this.#now = false;
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (this.#inflight !== null) return;
    if (this.#waiting === 0) {
      for (const resolve of this.#idle.splice(0)) resolve();
      return;
    }
    this.#send(this.#nextBatch());
  }

  #send(data: Buffer): void {
    this.#inflight = data;
    this.#retry = null;
    write(this.fd, data, 0, data.length, null, (error, written) => {
      if (error !== null) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "EAGAIN" || code === "EWOULDBLOCK") {
          // Unref'd: a full output must not keep the process alive; flushSync writes it on exit.
          this.#retry = setTimeout(() => this.#send(data), RETRY_MS);
          this.#retry.unref();
          return;
        }
        // The output is gone (EPIPE: its reader exited): nothing more can be written.
        this.droppedLines += this.#waiting + 1;
        this.#lines = [];
        this.#head = 0;
        this.#bytes = 0;
      } else if (written < data.length) {
        this.#send(data.subarray(written));
        return;
      }
      this.#inflight = null;
      if (this.#idle.length > 0)
        this._pump(); // someone waits in flush(): no batching delay
      else if (this.#waiting > 0) this.#arm();
    });
  }

  /** Resolves once every line written so far has been handed to the output. */
  flush(): Promise<void> {
    if (this.#inflight === null && this.#waiting === 0) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.#idle.push(resolve));
    if (this.#inflight === null) this._pump();
    return done;
  }

  /**
   * Writes everything still waiting, synchronously: for exit paths, after `flush()` where there
   * is time for it. A batch waiting for a retry is written first. A batch the thread pool is
   * writing at that very moment cannot be waited for here; `flush()` before exiting avoids that.
   */
  flushSync(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#retry !== null && this.#inflight !== null) {
      clearTimeout(this.#retry);
      this.#retry = null;
      const data = this.#inflight;
      this.#inflight = null;
      if (!writeAllSync(this.fd, data)) return;
    }
    while (this.#waiting > 0) {
      if (!writeAllSync(this.fd, this.#nextBatch())) return;
    }
  }
}

/** Writes all of `data`, waiting out a full non-blocking output (up to about a second). */
function writeAllSync(fd: number, data: Buffer): boolean {
  let offset = 0;
  for (let attempts = 0; offset < data.length; attempts++) {
    try {
      offset += writeSync(fd, data, offset, data.length - offset);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== "EAGAIN" && code !== "EWOULDBLOCK") || attempts >= 1000) return false;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
  return true;
}

function pumpOutput(output: LineOutput): void {
  output._pump();
}

/** PIPE_BUF for a pipe or socket (shared with other processes), a larger batch otherwise. */
function atomicLimit(fd: number): number {
  try {
    const s = fstatSync(fd);
    return s.isFIFO() || s.isSocket() ? PIPE_BUF : FILE_BATCH;
  } catch {
    return PIPE_BUF;
  }
}
