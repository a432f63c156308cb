/**
 * Where JSON lines go: standard output, written in batches, never blocking, bounded.
 *
 * - Batched: a write happens when a full batch is waiting, or 25 ms after the first waiting
 *   line, whichever comes first: one write(2) for many lines instead of one per connection.
 * - Atomic per batch where other processes write too: the workers of `serve --workers N` and
 *   their primary share one stdout, and when it is a pipe or a socket each of their batches is
 *   whole lines and at most PIPE_BUF (4096) bytes, the size up to which a pipe write is
 *   atomic: lines of different processes never interleave. A process that writes alone
 *   (`otherWriters: false`) takes batches of up to 64 KiB there too: each write(2) to a pipe
 *   wakes its reader, and one write per hundred connection lines costs much less than one per
 *   six (measured: docs/BENCHMARKS.md, `npm run bench:connection -- --lines pipe`).
 * - Never blocking: a pipe or socket is written in non-blocking mode (the mode Node.js itself
 *   gives a standard output pipe on Linux); when it is full, the batch waits and is retried a
 *   moment later, so a slow reader of the output delays lines, never the data plane. Files and
 *   terminals are written directly.
 * - Bounded: at most `maxBufferedBytes` wait; lines beyond are dropped and counted
 *   (`droppedLines`, the metric linkgate_log_lines_dropped_total), never queued without limit.
 * - Without a string per batch: lines are encoded (or rendered, `writeRendered`) straight into
 *   batch buffers, which take new lines once written.
 * - Rendered late, in a row, when the producer allows it (`defer`, the connection lines): a
 *   producer may keep its lines unrendered until the batch they belong to is due. Under load,
 *   rendering many lines one after the other is cheaper than one at a time among the socket
 *   work, which leaves the caches cold for it. Deferred lines keep their place: they are
 *   rendered before any other line is taken, and before every write.
 * - Exact on exit: every write happens on the calling thread, so `flushSync` (on exit) writes
 *   exactly what is left, in order; a SIGKILL loses at most the last 25 ms of lines.
 */
import { fstatSync, writeSync } from "node:fs";

/** The largest write(2) to a pipe that POSIX guarantees is not interleaved with others. */
const PIPE_BUF = 4096;
/** Batch size when no other process writes to the output, or it is a file or a terminal. */
const LARGE_BATCH = 64 * 1024;
/** How long a line waits at most for its batch to fill. */
const FLUSH_MS = 25;
/** How long to wait before retrying when the output is full. */
const RETRY_MS = 5;

export interface LineOutputOptions {
  /** Descriptor to write to. Default 1 (standard output). */
  fd?: number;
  /** Lines waiting beyond this many bytes are dropped. Default 8 MiB. */
  maxBufferedBytes?: number;
  /**
   * Whether other processes write to the same output (the workers of `serve --workers N` and
   * their primary). If so, and it is a pipe or a socket, each write is at most PIPE_BUF bytes.
   * Default true: only the caller knows it writes alone.
   */
  otherWriters?: boolean;
}

/**
 * Renders one line (with its "\n") into `buffer` from `at`, writing at most the number of bytes
 * it was given room for; returns where the line ends. Called at once, never kept.
 */
export type LineRenderer<T> = (buffer: Buffer, at: number, value: T) => number;

/**
 * A producer that keeps lines unrendered until LineOutput asks for them (`defer`): it keeps
 * what each line needs (the connection log keeps each record, its level and its time).
 */
export interface DeferredLines {
  /** Renders every line it keeps, in order, through `writeRendered`, and keeps none. */
  renderDeferred(): void;
}

/**
 * Batch buffers kept for reuse once written (a batch is written synchronously): at least
 * SPARE_BATCHES, and as many as SPARE_BYTES hold, so that a burst of deferred connection lines
 * (connection-log.ts renders up to 64 at once, about 30 KiB: eight 4 KiB pipe batches) takes
 * its batches from the spares rather than allocating half of them again at each burst.
 */
const SPARE_BATCHES = 4;
const SPARE_BYTES = 64 * 1024;

export class LineOutput {
  readonly fd: number;
  readonly maxBufferedBytes: number;
  /** Lines dropped because too much was waiting (a stalled reader of the output). */
  droppedLines = 0;
  /** The most bytes one write(2) takes: PIPE_BUF where it must be atomic, else 64 KiB. */
  readonly batchBytes: number;
  readonly #spareLimit: number;
  /**
   * What waits, as bytes: full batches (whole lines, at most the batch limit each, unless a
   * single line is longer) in #batches[#head...], then the batch being filled, #current.
   * Lines are rendered or encoded straight into #current: no string per batch, no copy.
   */
  #batches: Buffer[] = [];
  #head = 0;
  #current: Buffer | null = null;
  #currentLength = 0;
  #bytes = 0;
  #spare: Buffer[] = [];
  /** The rest of a batch the output did not take yet; written before any other batch. */
  #partial: Buffer | null = null;
  /** The next write is due: on a timer (FLUSH_MS, or RETRY_MS when full) or at once. */
  #timer: NodeJS.Timeout | null = null;
  #immediate = false;
  #idle: (() => void)[] = [];
  /** The producer whose lines wait unrendered (defer), or null. */
  #deferred: DeferredLines | null = null;

  constructor(options: LineOutputOptions = {}) {
    this.fd = options.fd ?? 1;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 8 * 1024 * 1024;
    const pipeOrSocket = isPipeOrSocket(this.fd);
    // Standard output: Node.js puts a pipe or socket in non-blocking mode once process.stdout
    // exists (on Linux), which is what a write here must never wait on.
    if (pipeOrSocket && this.fd === 1) void process.stdout;
    const atomic = pipeOrSocket && options.otherWriters !== false;
    this.batchBytes = atomic ? PIPE_BUF : LARGE_BATCH;
    this.#spareLimit = Math.max(SPARE_BATCHES, Math.floor(SPARE_BYTES / this.batchBytes));
  }

  /** Queues one line (with its "\n"); it is written within FLUSH_MS, sooner in a full batch. */
  write(line: string): void {
    if (this.#deferred !== null) this.renderDeferred(); // lines keep their order
    // At most 3 bytes of UTF-8 per UTF-16 code unit; the exact count only when that bound
    // would not fit the batch being filled.
    let bytes = line.length * 3;
    if (bytes > this.batchBytes - this.#currentLength) bytes = Buffer.byteLength(line);
    this.writeRendered(bytes, writeString, line);
  }

  /**
   * Queues the line `render` writes, given room for `maxBytes`: the way to write a line
   * without making a string of it first (the connection line, logger.ts).
   */
  writeRendered<T>(maxBytes: number, render: LineRenderer<T>, value: T): void {
    if (this.#deferred !== null) this.renderDeferred();
    if (this.bufferedBytes >= this.maxBufferedBytes) {
      this.droppedLines++;
      return;
    }
    const buffer = this.#room(maxBytes);
    const at = this.#currentLength;
    const end = render(buffer, at, value);
    if (!(end >= at && end <= at + maxBytes && end <= buffer.length)) {
      throw new Error(`internal: a line renderer wrote ${end - at} bytes, given ${maxBytes}`);
    }
    const bytes = end - at;
    if (this.bufferedBytes + bytes > this.maxBufferedBytes) {
      this.droppedLines++; // not committed: the bytes from #currentLength on are free again
      return;
    }
    this.#currentLength = end;
    this.#bytes += bytes;
    // A line longer than a batch has a buffer of its own, which takes no other line.
    if (buffer.length > this.batchBytes) this.#seal();
    if (this.#immediate) return;
    if (this.#bytes >= this.batchBytes && this.#partial === null) {
      this.#immediate = true;
      if (this.#timer !== null) clearTimeout(this.#timer);
      this.#timer = null;
      setImmediate(pumpOutput, this);
    } else if (this.#timer === null) {
      this.#arm(FLUSH_MS);
    }
  }

  /**
   * `source` keeps lines unrendered: it renders them (through writeRendered) when asked, which
   * is before any other line is taken, before the next write (FLUSH_MS from now at the
   * latest), or when the producer calls `renderDeferred` itself. One producer at a time: a
   * second one's lines come after the first one's, rendered at once.
   */
  defer(source: DeferredLines): void {
    if (this.#deferred === source) return;
    if (this.#deferred !== null) this.renderDeferred();
    this.#deferred = source;
    if (this.#timer === null && !this.#immediate) this.#arm(FLUSH_MS);
  }

  /** Has the deferred lines rendered now (they are then written as any other line). */
  renderDeferred(): void {
    const source = this.#deferred;
    if (source === null) return;
    this.#deferred = null; // first: the source renders through writeRendered
    source.renderDeferred();
  }

  /** Bytes waiting to be written (rendered; deferred lines are not counted until then). */
  get bufferedBytes(): number {
    return this.#bytes + (this.#partial?.length ?? 0);
  }

  /** The batch buffer with `bytes` free after #currentLength: the current one, or a new one. */
  #room(bytes: number): Buffer {
    const current = this.#current;
    if (current !== null && this.#currentLength + bytes <= this.batchBytes) return current;
    this.#seal();
    // Buffers of their own (allocUnsafeSlow): a pipe's 4 KiB batch would otherwise be a slice
    // of Buffer's 64 KiB pool, which #recycle cannot take back.
    let next: Buffer;
    if (bytes > this.batchBytes)
      next = Buffer.allocUnsafeSlow(bytes); // a line of its own
    else next = this.#spare.pop() ?? Buffer.allocUnsafeSlow(this.batchBytes);
    this.#current = next;
    this.#currentLength = 0;
    return next;
  }

  /** Ends the batch being filled: it waits whole, behind the others. */
  #seal(): void {
    if (this.#current !== null && this.#currentLength > 0) {
      this.#batches.push(this.#current.subarray(0, this.#currentLength));
    } else if (this.#current !== null && this.#current.length === this.batchBytes) {
      this.#spare.push(this.#current); // unused: taken again by the next line
    }
    this.#current = null;
    this.#currentLength = 0;
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(pumpOutput, ms, this);
    this.#timer.unref(); // lines never keep a process alive; exit writes them (flushSync)
  }

  /** Takes the next batch, or null when nothing waits. */
  #nextBatch(): Buffer | null {
    if (this.#head === this.#batches.length) {
      if (this.#currentLength === 0) return null;
      this.#seal();
    }
    const batch = this.#batches[this.#head++];
    if (this.#head === this.#batches.length) {
      this.#batches = [];
      this.#head = 0;
    }
    this.#bytes -= batch.length;
    return batch;
  }

  /** A batch is written: its buffer takes the next lines. */
  #recycle(batch: Buffer): void {
    const limit = this.batchBytes;
    if (this.#spare.length >= this.#spareLimit) return;
    // A whole batch buffer (#room's), not the rest of a partial write or a line of its own.
    if (batch.byteOffset !== 0 || batch.buffer.byteLength !== limit) return;
    this.#spare.push(Buffer.from(batch.buffer, 0, limit));
  }

  /**
   * Writes batches until nothing waits or the output is full. Returns "full" (retry later),
   * "done", or "gone" (the output is closed: what waits is dropped).
   */
  #writeAll(): "done" | "full" | "gone" {
    for (;;) {
      const data = this.#partial ?? this.#nextBatch();
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
        this.droppedLines += this.#countLines() + countNewlines(data);
        this.#batches = [];
        this.#head = 0;
        this.#current = null;
        this.#currentLength = 0;
        this.#bytes = 0;
        return "gone";
      }
      if (written < data.length) this.#partial = data.subarray(written);
      else this.#recycle(data);
    }
  }

  /** Lines waiting (counted only when they are lost). */
  #countLines(): number {
    let n = 0;
    for (let i = this.#head; i < this.#batches.length; i++) n += countNewlines(this.#batches[i]);
    if (this.#current !== null) n += countNewlines(this.#current.subarray(0, this.#currentLength));
    return n;
  }

  /** Writes what waits; on a full output, tries again RETRY_MS later. */
  _pump(): void {
    this.renderDeferred();
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
    this.renderDeferred();
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
    this.renderDeferred();
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    for (let attempts = 0; attempts < 1000; attempts++) {
      if (this.#writeAll() !== "full") return;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

function writeString(buffer: Buffer, at: number, line: string): number {
  return at + buffer.write(line, at);
}

function countNewlines(bytes: Buffer): number {
  let n = 0;
  for (let i = bytes.indexOf(10); i >= 0; i = bytes.indexOf(10, i + 1)) n++;
  return n;
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
