/**
 * How many connections a process can hold before accept() would fail with EMFILE.
 *
 * Why: when accept() fails for want of a descriptor, libuv (under Node.js) accepts and closes
 * the pending connections with a descriptor it keeps in reserve, and tells nobody: the clients
 * see a connection accepted then closed, and linkgate has no line, no metric. Bun's answer is
 * as blind. So the gateway stops admitting before that point: past the budget, a new connection
 * is closed at once with CONN_AT_FD_LIMIT, logged and counted like every other drop. Each
 * admitted connection holds two descriptors (client and upstream); a reserve stays for the
 * accept itself, log files, the store and the admin API.
 *
 * Linux only (read from /proc); elsewhere, or if /proc cannot be read, there is no budget.
 */
import { readdirSync, readFileSync } from "node:fs";

/** Descriptors held per admitted connection: the client's and the upstream's. */
const PER_CONNECTION = 2;

/**
 * The budget for a soft descriptor limit `limit` with `inUse` already open: what is left after
 * the reserve (1/16 of the limit, at least 16 and at most 64), halved. Null: unlimited.
 * The reserve only has to cover what is not a connection: an accept over the budget (closed at
 * once), admin API clients, log files, the store's files or database connections.
 */
export function budgetFor(limit: number | null, inUse: number): number | null {
  if (limit === null || !Number.isFinite(limit)) return null;
  const reserve = Math.min(64, Math.max(16, Math.floor(limit / 16)));
  return Math.max(1, Math.floor((limit - inUse - reserve) / PER_CONNECTION));
}

/** The soft "Max open files" of /proc/self/limits; null if unlimited or unknown. */
export function parseOpenFilesLimit(limits: string): number | null {
  const m = /^Max open files\s+(\S+)/m.exec(limits);
  if (m === null || m[1] === "unlimited") return null;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

/** This process's budget, from /proc; null where /proc says nothing (not Linux). */
export function processDescriptorBudget(): number | null {
  try {
    const limit = parseOpenFilesLimit(readFileSync("/proc/self/limits", "latin1"));
    return budgetFor(limit, readdirSync("/proc/self/fd").length);
  } catch {
    return null;
  }
}
