/**
 * Pagination: every list answers `{items, nextCursor}`. A cursor is opaque to clients: the list
 * it belongs to and the key to continue after, base64url-encoded JSON. A cursor of another list,
 * or one that was tampered with, is a 400 (CURSOR_INVALID), never a 500.
 */
import { ApiError } from "./errors.js";
import { DEFAULT_PAGE } from "./schemas.js";

export type ListName = "tenants" | "rules" | "observed" | "tokens" | "audit";

export function encodeCursor(list: ListName, key: string): string {
  return Buffer.from(JSON.stringify({ l: list, k: key }), "utf8").toString("base64url");
}

/** The key a cursor of `list` continues after; null without a cursor. */
export function decodeCursor(list: ListName, cursor: string | undefined): string | null {
  if (cursor === undefined) return null;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    value = null;
  }
  const c = value as { l?: unknown; k?: unknown } | null;
  if (typeof c !== "object" || c === null || c.l !== list || typeof c.k !== "string") {
    throw new ApiError("CURSOR_INVALID", `cursor: not a cursor of this ${list} list`);
  }
  return c.k;
}

export interface PageParams {
  limit: number;
  after: string | null;
}

export function pageParams(list: ListName, query: { limit?: number; cursor?: string }): PageParams {
  return { limit: query.limit ?? DEFAULT_PAGE, after: decodeCursor(list, query.cursor) };
}

export function listBody<T>(list: ListName, items: T[], next: string | null) {
  return { items, nextCursor: next === null ? null : encodeCursor(list, next) };
}
