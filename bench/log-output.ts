/**
 * How many connection-sized lines one process writes through LineOutput (the stdout of
 * `linkgate serve`): to a pipe read by another process, and to a file.
 *
 *   npm run bench:log
 *
 * Each case runs in a child process whose stdout is the pipe or the file; the figure is the time
 * from the first line queued to the last one handed to the output (LineOutput.flush()).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, openSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LineOutput } from "../src/observability/line-output.js";

const LINES = 300_000;

if (process.argv[2] === "--child") {
  const out = new LineOutput({ maxBufferedBytes: 2 ** 31 });
  const line = `${JSON.stringify({ level: "info", msg: "connection", pad: "x".repeat(540) })}\n`;
  const keepAlive = setInterval(() => {}, 1000); // the output's retry timer does not hold the process
  let i = 0;
  const t0 = performance.now();
  const burst = () => {
    for (let k = 0; k < 2000 && i < LINES; k++, i++) out.write(line);
    if (i < LINES) setImmediate(burst);
    else
      void out.flush().then(() => {
        const seconds = (performance.now() - t0) / 1000;
        process.stderr.write(
          `${JSON.stringify({ lines: LINES, bytes: line.length, seconds, dropped: out.droppedLines })}\n`,
        );
        clearInterval(keepAlive);
      });
  };
  burst();
} else {
  const self = fileURLToPath(import.meta.url);
  const run = (stdout: "pipe" | number) =>
    new Promise<{ lines: number; bytes: number; seconds: number; dropped: number }>(
      (resolve, reject) => {
        const child = spawn(process.execPath, ["--import", "tsx", self, "--child"], {
          stdio: ["ignore", stdout, "pipe"],
        });
        child.stdout?.resume(); // the reader of the pipe: reads and discards
        let err = "";
        child.stderr?.on("data", (d: Buffer) => {
          err += d;
        });
        child.on("close", (code) =>
          code === 0 ? resolve(JSON.parse(err)) : reject(new Error(`child exited ${code}: ${err}`)),
        );
      },
    );
  const dir = mkdtempSync(join(os.tmpdir(), "linkgate-bench-log-"));
  try {
    for (const [name, target] of [
      ["pipe", "pipe"],
      ["file", openSync(join(dir, "out.log"), "w")],
    ] as const) {
      const rates: number[] = [];
      for (let round = 0; round < 3; round++) {
        const r = await run(target);
        if (r.dropped !== 0) throw new Error(`${name}: ${r.dropped} lines dropped`);
        rates.push(r.lines / r.seconds);
      }
      rates.sort((a, b) => a - b);
      console.log(
        `${name}: ${Math.round(rates[1]).toLocaleString("en")} lines/s (median of 3; rounds ${rates.map((x) => Math.round(x)).join(", ")}), ${LINES} lines of about 560 bytes`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
