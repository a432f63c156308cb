/**
 * Where a policy comes from. A source is read as a whole into a snapshot: the configuration it
 * holds (or why it holds none) and a version that changes whenever that content does. Today the
 * configuration file is the one source; the store's change feed is the next (docs in
 * ARCHITECTURE.md, seam 1), read through the same interface by the same reloader.
 */
import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import type { ConfigError, ConfigResult } from "../config/index.js";
import { MAX_CONFIG_BYTES, parseConfigText } from "../config/index.js";

export interface PolicySnapshot {
  /**
   * Identifies the content that `result` was made from: equal versions, equal content. null
   * when nothing could be read (the result then says why).
   */
  readonly version: string | null;
  readonly result: ConfigResult;
}

/** What `read(known)` answers when the content's version is `known`: nothing was parsed. */
export interface UnchangedSnapshot {
  readonly version: string;
  readonly result: null;
}

export interface PolicySource {
  /** Reads the whole source once. Never throws: a problem is an error in the result. */
  read(): Promise<PolicySnapshot>;
  /**
   * The same, except that content whose version is `known` (the version in force) is not
   * parsed: the file is checked every 2 s, and parsing and validating a large file each time
   * would hold the event loop, and every connection on it, for nothing.
   */
  read(known: string | null): Promise<PolicySnapshot | UnchangedSnapshot>;
}

/**
 * The configuration file. One read per snapshot: the bytes hashed for the version are the
 * bytes parsed, so a change that lands during a read is seen by the next one, never lost
 * between a parse of old bytes and a hash of new ones.
 */
export class ConfigFileSource implements PolicySource {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  read(): Promise<PolicySnapshot>;
  read(known: string | null): Promise<PolicySnapshot | UnchangedSnapshot>;
  async read(known: string | null = null): Promise<PolicySnapshot | UnchangedSnapshot> {
    let bytes: Buffer;
    try {
      // One open: the size checked and the bytes read are those of the same file, even if the
      // path is renamed over meanwhile.
      const handle = await open(this.path, "r");
      try {
        const info = await handle.stat();
        if (info.isDirectory()) return this.#unreadable("is a directory, not a file");
        if (info.size > MAX_CONFIG_BYTES) {
          return this.#unreadable(
            `is ${info.size} bytes long; a configuration has at most ${MAX_CONFIG_BYTES}`,
          );
        }
        bytes = await handle.readFile();
      } finally {
        await handle.close();
      }
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      if (e.code === "ENOENT") return this.#unreadable("no such file");
      if (e.code === "EACCES") return this.#unreadable("permission denied");
      if (e.code === "EISDIR") return this.#unreadable("is a directory, not a file");
      return this.#unreadable(`cannot be read: ${e.message}`);
    }
    const version = createHash("sha256").update(bytes).digest("hex");
    if (version === known) return { version, result: null };
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      return { version, result: this.#failed("is not UTF-8 text") };
    }
    return { version, result: parseConfigText(text, this.path) };
  }

  #unreadable(message: string): PolicySnapshot {
    return { version: null, result: this.#failed(message) };
  }

  #failed(message: string): ConfigResult {
    const error: ConfigError = {
      file: this.path,
      line: 0,
      column: 0,
      key: "",
      code: "CONFIG_UNREADABLE",
      message,
    };
    return { ok: false, errors: [error] };
  }
}
