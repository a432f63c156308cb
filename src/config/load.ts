/**
 * Loading a configuration file: YAML (JSON is YAML too) -> schema -> semantic checks ->
 * LinkgateConfig, or every error found, each with the line and column of the offending key or
 * value.
 */
import { readFile, stat } from "node:fs/promises";
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  type YAMLError,
} from "yaml";
import { LinkgateError } from "../errors/index.js";
import type { ConfigError, ConfigIssue, ConfigPath } from "./errors.js";
import { formatConfigError, formatKey } from "./errors.js";
import { resolveConfig } from "./resolve.js";
import type { ConfigFile } from "./schema.js";
import { semanticIssues } from "./semantic.js";
import type { LinkgateConfig } from "./types.js";
import { schemaIssues } from "./validate.js";

export type ConfigResult =
  | { ok: true; config: LinkgateConfig }
  | { ok: false; errors: ConfigError[] };

/** Files larger than this are refused: a configuration is kilobytes, not megabytes. */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

/** Aliases expanded when building the value: bounds "billion laughs" documents. */
const MAX_ALIAS_COUNT = 1000;

interface Located {
  /** The deepest node found on the path, and the key node of the last pair crossed. */
  node: Node | null;
  key: Node | null;
  /** Whether the whole path was found. */
  complete: boolean;
}

function follow(node: unknown, doc: Document): unknown {
  return isAlias(node) ? node.resolve(doc) : node;
}

function locateNode(doc: Document, path: ConfigPath): Located {
  let current = follow(doc.contents, doc) as Node | null;
  let key: Node | null = null;
  for (const part of path) {
    if (isMap(current)) {
      const pair = current.items.find(
        (p) => isScalar(p.key) && String(p.key.value) === String(part),
      );
      if (pair === undefined) return { node: current, key, complete: false };
      key = pair.key as Node;
      const value = follow(pair.value, doc) as Node | null;
      if (value === null || value === undefined) return { node: null, key, complete: true };
      current = value;
    } else if (isSeq(current) && typeof part === "number" && part < current.items.length) {
      key = null;
      current = follow(current.items[part], doc) as Node | null;
    } else {
      return { node: current, key, complete: false };
    }
  }
  return { node: current, key, complete: true };
}

function offsetOf(node: Node | null): number | undefined {
  return node?.range?.[0];
}

class Positions {
  private readonly lines = new LineCounter();
  readonly doc: Document;

  constructor(text: string) {
    this.doc = parseDocument(text, {
      lineCounter: this.lines,
      prettyErrors: false,
      uniqueKeys: true,
      keepSourceTokens: false,
      // The yaml library's warnings (a mapping used as a key) would go to stderr through
      // process.emitWarning; what they are about is reported as a configuration error anyway.
      logLevel: "error",
    });
  }

  at(offset: number): { line: number; column: number } {
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }

  of(path: ConfigPath, at: "key" | "value"): { line: number; column: number } {
    const found = locateNode(this.doc, path);
    const offset =
      at === "key" && found.complete
        ? (offsetOf(found.key) ?? offsetOf(found.node))
        : (offsetOf(found.node) ?? offsetOf(found.key));
    return this.at(offset ?? 0);
  }
}

/** Where a quoted scalar that never ends began: YAML reports the end of the input instead. */
function openingQuote(text: string, end: number, quote: string): number {
  for (let i = text.lastIndexOf(quote, end - 1); i >= 0; i = text.lastIndexOf(quote, i - 1)) {
    if (i === 0 || /[\s:[{,]/.test(text.charAt(i - 1))) return i;
  }
  return end;
}

/** A syntax error's position and message, with hints for the usual YAML traps. */
function syntaxError(error: YAMLError, text: string): { offset: number; message: string } {
  const [start, end] = error.pos;
  let message = error.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
  if (error.code === "DUPLICATE_KEY") {
    const rest = text.slice(
      start,
      text.indexOf("\n", start) < 0 ? undefined : text.indexOf("\n", start),
    );
    const m = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^:]*?)\s*:/.exec(rest);
    const key = m === null ? text.slice(start, end) : m[1].replace(/^["']|["']$/g, "");
    return {
      offset: start,
      message: `the key ${JSON.stringify(key)} appears twice in one mapping`,
    };
  }
  if (error.code === "MULTIPLE_DOCS") {
    return {
      offset: start,
      message: "the file holds more than one YAML document (a second ---); linkgate reads one",
    };
  }
  if (error.code === "MISSING_CHAR" && /quote$/.test(message)) {
    const quote = message.includes("'") ? "'" : '"';
    return {
      offset: openingQuote(text, start, quote),
      message: `this quoted string has no closing ${quote}`,
    };
  }
  const lineStart = text.lastIndexOf("\n", start - 1) + 1;
  const lineEnd = text.indexOf("\n", start);
  const line = text.slice(lineStart, lineEnd < 0 ? text.length : lineEnd);
  if (/:\s*\{tenant\}|^\s*-\s*\{tenant\}/.test(line)) {
    message += '; quote host patterns: "{tenant}.api.example.com" (a bare { starts a YAML mapping)';
  } else if (/:\s*\[[0-9a-fA-F:.]*\]:\d/.test(line)) {
    message += '; quote IPv6 addresses: "[::1]:8443" (a bare [ starts a YAML list)';
  }
  return { offset: start, message };
}

function located(positions: Positions, issue: ConfigIssue, file: string): ConfigError {
  const { line, column } = positions.of(issue.locate ?? issue.path, issue.at ?? "value");
  let message = issue.message;
  if (issue.first !== undefined) {
    const first = positions.of(issue.first, "value");
    message += ` (first at ${formatKey(issue.first)}, line ${first.line})`;
  }
  return { file, line, column, key: formatKey(issue.path), code: issue.code, message };
}

function byPosition(a: ConfigError, b: ConfigError): number {
  return a.line - b.line || a.column - b.column || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/** Validates an already-parsed value (no positions) and resolves it. */
function check(value: unknown): { issues: ConfigIssue[]; config?: LinkgateConfig } {
  const issues = [...schemaIssues(value), ...semanticIssues(value)];
  if (issues.length > 0) return { issues };
  return { issues, config: resolveConfig(value as ConfigFile) };
}

/**
 * Parses and validates configuration text (YAML or JSON). `fileName` is only used in the
 * errors. Never throws for bad input: every problem is in `errors`, sorted by position.
 */
export function parseConfigText(text: string, fileName: string): ConfigResult {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const positions = new Positions(source);
  const doc = positions.doc;
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors
        .map((e): ConfigError => {
          const { offset, message } = syntaxError(e, source);
          const { line, column } = positions.at(offset);
          return {
            file: fileName,
            line,
            column,
            key: "",
            code: e.code === "DUPLICATE_KEY" ? "CONFIG_DUPLICATE" : "CONFIG_SYNTAX",
            message,
          };
        })
        .sort(byPosition),
    };
  }
  if (doc.contents === null) {
    return {
      ok: false,
      errors: [
        {
          file: fileName,
          line: 1,
          column: 1,
          key: "",
          code: "CONFIG_SCHEMA",
          message: "the file is empty: it needs at least listeners and routing",
        },
      ],
    };
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    return {
      ok: false,
      errors: [
        {
          file: fileName,
          line: 1,
          column: 1,
          key: "",
          code: "CONFIG_SYNTAX",
          message: (error as Error).message,
        },
      ],
    };
  }
  const { issues, config } = check(value);
  if (config !== undefined) return { ok: true, config };
  return {
    ok: false,
    errors: issues.map((i) => located(positions, i, fileName)).sort(byPosition),
  };
}

/** Reads `path` and parses it; an unreadable file is one CONFIG_UNREADABLE error (line 0). */
export async function loadConfigFile(path: string): Promise<ConfigResult> {
  const unreadable = (message: string): ConfigResult => ({
    ok: false,
    errors: [{ file: path, line: 0, column: 0, key: "", code: "CONFIG_UNREADABLE", message }],
  });
  let text: string;
  try {
    const info = await stat(path);
    if (info.isDirectory()) return unreadable("is a directory, not a file");
    if (info.size > MAX_CONFIG_BYTES) {
      return unreadable(
        `is ${info.size} bytes long; a configuration has at most ${MAX_CONFIG_BYTES}`,
      );
    }
    const bytes = await readFile(path);
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === "ENOENT") return unreadable("no such file");
    if (e.code === "EACCES") return unreadable("permission denied");
    if (error instanceof TypeError) return unreadable("is not UTF-8 text");
    return unreadable(`cannot be read: ${e.message}`);
  }
  return parseConfigText(text, path);
}

/**
 * Validates a configuration given as a value (a parsed file, or an object built in code, as
 * tests do) and resolves it. Errors have no position (line and column 0).
 */
export function validateConfigValue(value: unknown, fileName = "<config>"): ConfigResult {
  const { issues, config } = check(value);
  if (config !== undefined) return { ok: true, config };
  return {
    ok: false,
    errors: issues.map((i) => ({
      file: fileName,
      line: 0,
      column: 0,
      key: formatKey(i.path),
      code: i.code,
      message: i.message,
    })),
  };
}

/**
 * The LinkgateConfig for a value, or a LinkgateError whose code is the first error's and whose
 * message lists them all: for code and tests that build configurations in memory.
 */
export function configFromValue(value: unknown): LinkgateConfig {
  const result = validateConfigValue(value);
  if (result.ok) return result.config;
  const lines = result.errors.map((e) => formatConfigError(e)).join("; ");
  throw new LinkgateError(result.errors[0].code, `invalid configuration: ${lines}`);
}
