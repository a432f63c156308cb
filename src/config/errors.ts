/** Configuration errors: what `linkgate check` and `linkgate serve` print. */
import type { ErrorCode } from "../errors/index.js";

/** A path into the configuration: keys and array indexes, e.g. ["listeners", 0, "bind"]. */
export type ConfigPath = readonly (string | number)[];

/** One problem found by the schema or the semantic checks, before it is given a position. */
export interface ConfigIssue {
  /** The key the problem is about; printed as "listeners[0].bind". */
  path: ConfigPath;
  code: ErrorCode;
  message: string;
  /** Where to point: the key itself (unknown or duplicate keys) or its value (the default). */
  at?: "key" | "value";
  /** Point at this path instead of `path` (e.g. a missing key: at its parent). */
  locate?: ConfigPath;
  /** An earlier occurrence (duplicates): its key and line are added to the message. */
  first?: ConfigPath;
}

/** One error with its position in the file. */
export interface ConfigError {
  /** The file name as given to the loader. */
  file: string;
  /** 1-based; 0 when the error has no position (an unreadable file). */
  line: number;
  /** 1-based; 0 when the error has no position. */
  column: number;
  /** The offending key, e.g. "listeners[0].bind"; "" for the file as a whole (syntax errors). */
  key: string;
  code: ErrorCode;
  message: string;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** ["listeners", 0, "bind"] -> "listeners[0].bind"; odd keys are quoted: a["b c"]. */
export function formatKey(path: ConfigPath): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else if (IDENTIFIER.test(part)) out += out === "" ? part : `.${part}`;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}

/**
 * One line: "FILE:LINE:COLUMN: KEY: message [CODE]". Without a position: "FILE: KEY: message
 * [CODE]"; without a key (syntax errors): "FILE:LINE:COLUMN: message [CODE]".
 */
export function formatConfigError(error: ConfigError): string {
  const where = error.line > 0 ? `${error.file}:${error.line}:${error.column}` : error.file;
  const key = error.key === "" ? "" : `${error.key}: `;
  return `${where}: ${key}${error.message} [${error.code}]`;
}

/** Every error, one line each, each ending with "\n": what `check` and `serve` print on stderr. */
export function formatConfigErrors(errors: readonly ConfigError[]): string {
  return errors.map((e) => `${formatConfigError(e)}\n`).join("");
}
