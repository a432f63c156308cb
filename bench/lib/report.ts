/** Shared helpers for benchmark scripts: machine description, medians, docs/BENCHMARKS.md. */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";

export const BENCHMARKS_MD = fileURLToPath(new URL("../../docs/BENCHMARKS.md", import.meta.url));

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function programVersion(program: string, args: string[]): string | null {
  try {
    return execFileSync(program, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
      .split("\n")[0]
      .trim();
  } catch {
    return null;
  }
}

/** One line describing the machine: CPU model, cores, memory, OS, Node and HAProxy versions. */
export function machineDescription(): string {
  const cpu = os.cpus()[0]?.model.trim() ?? "unknown CPU";
  const cores = os.availableParallelism();
  const mem = `${Math.round(os.totalmem() / 2 ** 30)} GiB`;
  const haproxy =
    programVersion("haproxy", ["-v"])?.replace(/ - https.*$/, "") ?? "HAProxy not installed";
  return `${cpu}, ${cores} cores, ${mem}, ${os.type()} ${os.release()}, Node.js ${process.version}, ${haproxy}`;
}

export function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
}

/**
 * Replaces the section between `<!-- name:start -->` and `<!-- name:end -->` in
 * docs/BENCHMARKS.md (appending it if absent), so each benchmark owns its section.
 */
export function writeSection(name: string, body: string): void {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const doc = existsSync(BENCHMARKS_MD) ? readFileSync(BENCHMARKS_MD, "utf8") : "# Benchmarks\n";
  const block = `${start}\n${body.trim()}\n${end}`;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  const next =
    i >= 0 && j > i
      ? doc.slice(0, i) + block + doc.slice(j + end.length)
      : `${doc.trimEnd()}\n\n${block}\n`;
  writeFileSync(BENCHMARKS_MD, next);
}

/** Formats rows as a Markdown table. */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const line = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/**
 * The first line of a command's output for a report, at most 300 characters, with `file`
 * named by its base name: its directory is the machine's own (a temporary one), which the
 * report must not name.
 */
export function firstOutputLine(output: string, file: string): string {
  return (output.trim().split("\n")[0] ?? "").replaceAll(file, basename(file)).slice(0, 300);
}
