/**
 * Watching the configuration file, for a reload when it changes: used by LinkgateRuntime (one
 * process) and by the primary of `linkgate serve --workers N` (src/runtime/cluster.ts).
 */
import { createHash } from "node:crypto";
import { type FSWatcher, readFileSync, watch } from "node:fs";
import { basename, dirname } from "node:path";
import type { Logger } from "../observability/index.js";

export interface ConfigWatch {
  close(): void;
}

/** The SHA-256 of a file's bytes, to tell a real change from a touch. */
export function hashFile(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/**
 * Watches the file's directory (editors replace files by renaming, which a watch on the file
 * itself would miss) and calls `onChange` when the content differs from `currentHash()`, after
 * a short debounce. If the directory cannot be watched, says so (reload with SIGHUP).
 */
export function watchConfigFile(
  file: string,
  options: { currentHash: () => string; onChange: () => void; logger: Logger },
): ConfigWatch {
  const name = basename(file);
  let timer: NodeJS.Timeout | null = null;
  let watcher: FSWatcher | null = null;
  try {
    watcher = watch(dirname(file), (_event, changed) => {
      if (changed !== null && changed !== name) return;
      if (timer !== null) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        let hash: string;
        try {
          hash = hashFile(file);
        } catch {
          return; // mid-replace; the next event reloads
        }
        if (hash !== options.currentHash()) options.onChange();
      }, 200);
    });
    watcher.on("error", () => {});
  } catch (error) {
    options.logger.warn({ err: error }, "cannot watch the configuration file; reload with SIGHUP");
  }
  return {
    close() {
      watcher?.close();
      if (timer !== null) clearTimeout(timer);
    },
  };
}
