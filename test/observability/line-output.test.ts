/**
 * LineOutput (src/observability/line-output.ts): lines arrive whole and in order, two processes
 * sharing one pipe never interleave a line, a stalled reader costs dropped lines (counted), not a
 * blocked event loop, and what waits at exit is written.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, type TestContext, test } from "node:test";
import { fileURLToPath } from "node:url";
import { LineOutput } from "../../src/observability/line-output.js";

const MODULE = fileURLToPath(new URL("../../src/observability/line-output.ts", import.meta.url));

/**
 * A child that writes `count` lines tagged `tag` through a LineOutput on its stdout, made with
 * `options` (a LineOutputOptions literal). With `report`, it writes its batch size to stderr.
 */
function writerScript(
  tag: string,
  count: number,
  exit: "natural" | "process.exit",
  options = "{}",
  report = false,
): string {
  return `
    import { LineOutput } from ${JSON.stringify(MODULE)};
    const out = new LineOutput(${options});
    if (${report}) process.stderr.write("batchBytes " + out.batchBytes + "\\n");
    process.once("exit", () => {
      out.flushSync();
      if (out.droppedLines > 0) process.stderr.write("dropped " + out.droppedLines + "\\n");
    });
    const pad = "x".repeat(500);
    let i = 0;
    function burst() {
      for (let k = 0; k < 50 && i < ${count}; k++, i++) {
        out.write(JSON.stringify({ tag: ${JSON.stringify(tag)}, i, pad }) + "\\n");
      }
      // 50 lines a millisecond: several times the connection rate of one process.
      if (i < ${count}) setTimeout(burst, 1);
      else if (${JSON.stringify(exit)} === "process.exit") process.exit(0);
    }
    burst();
  `;
}

function checkLines(text: string, expected: Record<string, number>): void {
  const seen: Record<string, number> = {};
  for (const line of text.split("\n").filter((l) => l !== "")) {
    const j = JSON.parse(line) as { tag: string; i: number }; // throws on a torn line
    assert.equal(j.i, seen[j.tag] ?? 0, `line ${j.i} of ${j.tag} out of order`);
    seen[j.tag] = j.i + 1;
  }
  assert.deepEqual(seen, expected);
}

/**
 * A pipe (a FIFO in a temporary directory) that cat(1) reads and discards, open for writing;
 * both go when the test ends.
 */
function pipeToReader(t: TestContext): { dir: string; pipe: number } {
  const dir = mkdtempSync(join(tmpdir(), "linkgate-lines-"));
  const fifo = join(dir, "out.fifo");
  assert.equal(spawnSync("mkfifo", [fifo]).status, 0, "mkfifo");
  const reader = spawn("sh", ["-c", `cat "${fifo}" > /dev/null`], { stdio: "ignore" });
  t.after(() => {
    reader.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, pipe: openSync(fifo, "w") };
}

describe("LineOutput", () => {
  test("two processes writing to one pipe: every line whole, each process in order", async () => {
    const tsx = ["--import", "tsx", "--input-type=module", "-e"];
    const child = spawn(
      "sh",
      ["-c", `"$NODE" ${tsx.join(" ")} "$A" & "$NODE" ${tsx.join(" ")} "$B" & wait`],
      {
        env: {
          ...process.env,
          NODE: process.execPath,
          A: writerScript("a", 20_000, "natural"),
          B: writerScript("b", 20_000, "natural"),
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const chunks: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => chunks.push(d));
    child.stderr.on("data", (d: Buffer) => {
      stderr += d;
    });
    const code = await new Promise((r) => child.on("close", r));
    assert.equal(code, 0, stderr);
    assert.equal(stderr, "", "no line dropped");
    checkLines(Buffer.concat(chunks).toString(), { a: 20_000, b: 20_000 });
  });

  test("one process writing alone to a pipe: 64 KiB batches, every line whole and in order through a reader that stalls", async () => {
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "--input-type=module",
        "-e",
        writerScript("a", 20_000, "natural", "{ otherWriters: false }", true),
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const chunks: Buffer[] = [];
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d;
    });
    // Stall now and then, so that the pipe fills and 64 KiB batches are written in parts.
    let stalls = 0;
    child.stdout.on("data", (d: Buffer) => {
      chunks.push(d);
      if (chunks.length % 20 === 0 && stalls < 10) {
        stalls++;
        child.stdout.pause();
        setTimeout(() => child.stdout.resume(), 30);
      }
    });
    const code = await new Promise((r) => child.on("close", r));
    assert.equal(code, 0, stderr);
    assert.equal(stderr, "batchBytes 65536\n", "64 KiB batches, no line dropped");
    assert.ok(stalls > 0, "the reader stalled");
    checkLines(Buffer.concat(chunks).toString(), { a: 20_000 });
  });

  test("batch size: PIPE_BUF only on a pipe other processes write to", (t) => {
    const { dir, pipe } = pipeToReader(t);
    const file = openSync(join(dir, "out.log"), "w");
    const size = (fd: number, otherWriters?: boolean) =>
      new LineOutput(otherWriters === undefined ? { fd } : { fd, otherWriters }).batchBytes;
    assert.equal(size(pipe), 4096, "a pipe, by default: others may write to it");
    assert.equal(size(pipe, true), 4096);
    assert.equal(size(pipe, false), 65_536, "a pipe this process writes alone");
    assert.equal(size(file), 65_536, "a file");
    assert.equal(size(file, false), 65_536);
  });

  test("process.exit() right after writing: the waiting lines are written first", () => {
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", writerScript("a", 5000, "process.exit")],
      { encoding: "utf8", maxBuffer: 64 << 20 },
    );
    assert.equal(r.status, 0, r.stderr);
    checkLines(r.stdout, { a: 5000 });
  });

  test("to a file: lines in order, batched", async () => {
    const dir = mkdtempSync(join(tmpdir(), "linkgate-lines-"));
    try {
      const fd = openSync(join(dir, "out.log"), "a");
      const out = new LineOutput({ fd });
      for (let i = 0; i < 1000; i++) out.write(`${JSON.stringify({ tag: "f", i })}\n`);
      assert.ok(out.bufferedBytes > 0, "nothing is written synchronously");
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(out.bufferedBytes, 0);
      checkLines(readFileSync(join(dir, "out.log"), "utf8"), { f: 1000 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("lines of every size, UTF-8 and rendered ones, arrive exactly, in order", async () => {
    const dir = mkdtempSync(join(tmpdir(), "linkgate-lines-"));
    try {
      const file = join(dir, "out.log");
      // A file's batches are 64 KiB: lines fill them, cross them and exceed one.
      const sizes = [0, 1, 100, 4000, 4096, 20_000, 65_535, 65_536, 70_000, 3, 2047, 30_000];
      const expected: string[] = [];
      const out = new LineOutput({ fd: openSync(file, "w") });
      for (let round = 0; round < 3; round++) {
        for (const size of sizes) {
          const line = `${"é€x".repeat(Math.ceil(size / 3)).slice(0, size)}\n`;
          expected.push(line);
          if (size % 2 === 0) out.write(line);
          else out.writeRendered(Buffer.byteLength(line), (b, at, v) => at + b.write(v, at), line);
        }
      }
      await out.flush();
      assert.equal(out.bufferedBytes, 0);
      assert.equal(readFileSync(file, "utf8"), expected.join(""));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("deferred lines keep their place: rendered before any other line, each write, the exit", async () => {
    const dir = mkdtempSync(join(tmpdir(), "linkgate-lines-"));
    try {
      const file = join(dir, "out.log");
      const out = new LineOutput({ fd: openSync(file, "w") });
      /** A producer of deferred lines: what it keeps, and how often it was asked. */
      const source = (tag: string) => ({
        kept: [] as number[],
        asked: 0,
        add(i: number) {
          this.kept.push(i);
          out.defer(this);
        },
        renderDeferred() {
          this.asked++;
          for (const i of this.kept) out.write(`${JSON.stringify({ tag, i })}\n`);
          this.kept = [];
        },
      });
      const a = source("a");
      const b = source("b");
      const line = (tag: string, i: number) => `${JSON.stringify({ tag, i })}\n`;

      a.add(0);
      a.add(1);
      assert.equal(out.bufferedBytes, 0, "not rendered yet");
      out.write(line("a", 2)); // a plain line renders the deferred ones first
      assert.equal(a.asked, 1);
      a.add(3);
      out.writeRendered(64, (buf, at, v) => at + buf.write(v, at), line("a", 4));
      assert.equal(a.asked, 2);
      a.add(5);
      b.add(0); // a second producer: the first one's lines come first
      assert.equal(a.asked, 3);
      b.add(1);
      out.renderDeferred();
      assert.equal(b.asked, 1);
      out.renderDeferred(); // nothing deferred: nothing asked
      assert.equal(b.asked, 1);

      // Left alone, deferred lines are rendered and written within FLUSH_MS (25 ms).
      a.add(6);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(a.asked, 4);
      assert.equal(out.bufferedBytes, 0);
      // flushSync (the exit path) renders them too.
      b.add(2);
      out.flushSync();
      assert.equal(b.asked, 2);
      const order: [string, number][] = [..."0123456"].map((i) => ["a", Number(i)]);
      order.splice(6, 0, ["b", 0], ["b", 1]);
      order.push(["b", 2]);
      assert.equal(readFileSync(file, "utf8"), order.map(([tag, i]) => line(tag, i)).join(""));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("to a pipe, a burst of lines reuses the batch buffers the burst before it used", async (t) => {
    const out = new LineOutput({ fd: pipeToReader(t).pipe }); // 4 KiB batches: a pipe
    const allocations = t.mock.method(Buffer, "allocUnsafeSlow");
    const line = `${JSON.stringify({ msg: "connection", pad: "x".repeat(420) })}\n`;
    const perBurst: number[] = [];
    for (let burst = 0; burst < 4; burst++) {
      const before = allocations.mock.callCount();
      // 64 connection lines at once, as connection-log.ts renders its deferred ones: 8 batches.
      for (let i = 0; i < 64; i++) out.write(line);
      await out.flush();
      perBurst.push(allocations.mock.callCount() - before);
    }
    assert.ok(perBurst[0] >= 7, `the first burst allocates its batches: ${perBurst}`);
    assert.deepEqual(perBurst.slice(1), [0, 0, 0], "later bursts allocate none");
  });

  test("a renderer that writes past the room it was given is a defect, not a line", () => {
    const out = new LineOutput({ fd: openSync("/dev/null", "w") });
    assert.throws(() => out.writeRendered(4, (_b, at) => at + 5, null), /wrote 5 bytes, given 4/);
    out.writeRendered(4, (b, at) => at + b.write("ok\n", at), null);
    assert.equal(out.bufferedBytes, 3);
  });

  test("a reader that never reads: lines beyond the bound are dropped and counted, the event loop runs", async () => {
    // A pipe nobody reads: the child keeps its read end open and sleeps.
    const holder = spawn("sleep", ["30"], { stdio: ["pipe", "ignore", "ignore"] });
    try {
      const fd = (holder.stdin as unknown as { _handle: { fd: number } })._handle.fd;
      const out = new LineOutput({ fd, maxBufferedBytes: 256 * 1024 });
      const line = `${"y".repeat(999)}\n`;
      let ticks = 0;
      const timer = setInterval(() => ticks++, 10);
      for (let round = 0; round < 20; round++) {
        for (let i = 0; i < 500; i++) out.write(line);
        await new Promise((r) => setTimeout(r, 20));
      }
      clearInterval(timer);
      // 10 MB written against a pipe of at most 1 MiB and a 256 KiB bound.
      assert.ok(out.droppedLines > 5000, `dropped ${out.droppedLines}`);
      assert.ok(out.bufferedBytes <= 256 * 1024);
      assert.ok(ticks >= 20, `the event loop kept running (${ticks} ticks in 400 ms)`);
    } finally {
      holder.kill("SIGKILL");
    }
  });
});
