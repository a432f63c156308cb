/**
 * Watching the configuration file for a reload when it changes: used by LinkgateRuntime (one
 * process) and by the primary of `linkgate serve --workers N` (src/runtime/cluster.ts).
 *
 * The file is known by its path, and what the path leads to can change in many ways: written in
 * place, an editor's new file renamed over it, removed then written, a symlink pointed
 * elsewhere, a Kubernetes ConfigMap volume (`linkgate.yaml -> ..data/linkgate.yaml`, with
 * `..data` itself a symlink atomically renamed over to a new timestamped directory), or the
 * whole directory replaced. So:
 *
 * - every directory on the way is watched (the path's own, each symlink's target's, the real
 *   file's), and any event in any of them leads to a check, after a short debounce;
 * - a check resolves the path again, re-arms the watches whose directories changed (a watch on
 *   a directory that was renamed away or removed is dead, and says nothing), and compares the
 *   file's identity and times with the last check's;
 * - every POLL_INTERVAL_MS a check runs anyway: a safety net for a watch that died, failed
 *   (logged, not silent) or could not be set up, and for file systems without events.
 *
 * A check that sees a difference calls `onChange`; whether the content changed is the
 * reloader's business (it hashes what it reads), so a touch costs one read and no reload.
 */
import { type FSWatcher, readlinkSync, realpathSync, statSync, watch } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Logger } from "../observability/index.js";

/** How often the file is checked without any event. */
const POLL_INTERVAL_MS = 2000;
/** Saves come as bursts of events (truncate, write, rename): one check after the last. */
const DEBOUNCE_MS = 200;
/** As the kernel's own limit on symlinks in a path. */
const MAX_SYMLINK_HOPS = 40;

export interface ConfigWatch {
  close(): void;
}

interface WatchedDirectory {
  /** dev:inode of the directory when the watch was set: a different one means it was replaced. */
  readonly id: string;
  readonly watcher: FSWatcher;
}

/** What a check compares: the resolved file's identity and times, or "absent". */
function fileStamp(path: string): string {
  try {
    const s = statSync(path, { bigint: true });
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch {
    return "absent";
  }
}

function directoryId(path: string): string | null {
  try {
    const s = statSync(path);
    return s.isDirectory() ? `${s.dev}:${s.ino}` : null;
  } catch {
    return null;
  }
}

/** The directories whose entries decide what `file` leads to. */
function directoriesOf(file: string): string[] {
  const out = new Set<string>();
  let path = file;
  for (let hop = 0; hop < MAX_SYMLINK_HOPS; hop++) {
    out.add(dirname(path));
    let target: string;
    try {
      target = readlinkSync(path);
    } catch {
      break; // not a symlink (or absent): the end of the chain
    }
    path = resolve(dirname(path), target);
  }
  try {
    out.add(dirname(realpathSync(file)));
  } catch {
    // absent: the directories above are the ones where it will appear
  }
  return [...out];
}

/**
 * Watches `file` (see above) and calls `onChange` once at the start (the file may have changed
 * since it was loaded) and after every change seen.
 */
export function watchConfigFile(
  file: string,
  options: { onChange: () => void; logger: Logger },
): ConfigWatch {
  const { logger } = options;
  const watched = new Map<string, WatchedDirectory>();
  /** Directories whose watch failed, so that a failure repeating at each poll is logged once. */
  const failing = new Set<string>();
  let stamp: string | null = null;
  let debounce: NodeJS.Timeout | null = null;
  let closed = false;

  const schedule = () => {
    if (closed) return;
    if (debounce !== null) clearTimeout(debounce);
    debounce = setTimeout(check, DEBOUNCE_MS);
  };

  const unwatch = (dir: string) => {
    watched.get(dir)?.watcher.close();
    watched.delete(dir);
  };

  const arm = (dirs: string[]) => {
    for (const dir of [...watched.keys()]) if (!dirs.includes(dir)) unwatch(dir);
    for (const dir of dirs) {
      const id = directoryId(dir);
      const current = watched.get(dir);
      if (current !== undefined && current.id === id) continue;
      unwatch(dir);
      if (id === null) continue; // not there (yet): polling finds what appears
      try {
        const watcher = watch(dir, schedule);
        watcher.on("error", (error) => {
          if (watched.get(dir)?.watcher === watcher) unwatch(dir);
          if (!failing.has(dir)) {
            failing.add(dir);
            logger.warn(
              { directory: dir, err: error, pollIntervalMs: POLL_INTERVAL_MS },
              "configuration watch failed; polling the file",
            );
          }
        });
        watched.set(dir, { id, watcher });
        failing.delete(dir);
      } catch (error) {
        if (!failing.has(dir)) {
          failing.add(dir);
          logger.warn(
            { directory: dir, err: error, pollIntervalMs: POLL_INTERVAL_MS },
            "cannot watch the configuration directory; polling the file",
          );
        }
      }
    }
  };

  function check(): void {
    debounce = null;
    if (closed) return;
    arm(directoriesOf(file));
    const now = fileStamp(file);
    if (now === stamp) return;
    stamp = now;
    if (now === "absent") {
      // Mid-replace, usually; the policy in force stays until the file is back.
      logger.warn({ configFile: file }, "configuration file absent; the policy in force stays");
      return;
    }
    options.onChange();
  }

  const poll = setInterval(check, POLL_INTERVAL_MS);
  poll.unref();
  check();
  return {
    close() {
      closed = true;
      clearInterval(poll);
      if (debounce !== null) clearTimeout(debounce);
      for (const dir of [...watched.keys()]) unwatch(dir);
    },
  };
}
