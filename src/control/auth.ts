/**
 * Who is calling: bearer tokens, admin or tenant, and a brake on guessing them.
 *
 * - Admin tokens come from the environment (never from the configuration file):
 *   `LINKGATE_ADMIN_TOKEN` holds one; `LINKGATE_ADMIN_TOKEN_FILE` names a file with one per
 *   line (secrets managers, and rotation: list the old and the new token, then drop the old).
 *   They are compared in constant time: SHA-256 digests of equal length through
 *   crypto.timingSafeEqual, against every admin token without stopping at a match.
 * - Tenant tokens ("lgt_…") are minted by an admin for one tenant; the store keeps only their
 *   SHA-256 and finds them by it (src/store/ids.ts says why a fast hash is enough).
 * - Failed attempts are counted per client address in a fixed window; past the limit the
 *   address is refused with 429 and Retry-After until the window ends, whatever it sends.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import { LinkgateError } from "../errors/index.js";
import { TOKEN_SECRET_PREFIX, tokenHash } from "../store/ids.js";
import type { Store } from "../store/types.js";

export type Principal =
  | { readonly kind: "admin"; readonly actor: string }
  | {
      readonly kind: "tenant";
      readonly tenantId: string;
      readonly tokenId: string;
      readonly actor: string;
    };

/** Admin tokens shorter than this are refused: `openssl rand -hex 32` gives 64 characters. */
export const MIN_ADMIN_TOKEN_LENGTH = 32;

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

export class AdminTokens {
  readonly #digests: readonly Buffer[];

  constructor(tokens: readonly string[]) {
    this.#digests = tokens.map(sha256);
  }

  get size(): number {
    return this.#digests.length;
  }

  /**
   * The actor of the admin token `candidate` ("admin:" and 8 hex digits of its SHA-256,
   * which tells tokens apart in the audit log and reveals nothing usable), or null.
   */
  match(candidate: string): string | null {
    const digest = sha256(candidate);
    let found: Buffer | null = null;
    for (const d of this.#digests) {
      // Every token is compared: the time taken does not say which one matched, or where.
      if (timingSafeEqual(d, digest)) found = d;
    }
    return found === null ? null : `admin:${found.subarray(0, 4).toString("hex")}`;
  }
}

/**
 * The admin tokens of the environment: LINKGATE_ADMIN_TOKEN, and the lines of the file named by
 * LINKGATE_ADMIN_TOKEN_FILE (blank lines and lines starting with "#" skipped). Throws
 * CONFIG_ADMIN_TOKEN for an unreadable file or a token shorter than MIN_ADMIN_TOKEN_LENGTH.
 * None at all is allowed: then only tenant tokens work.
 */
export async function adminTokensFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const found: { token: string; from: string }[] = [];
  const single = env.LINKGATE_ADMIN_TOKEN?.trim();
  if (single) found.push({ token: single, from: "LINKGATE_ADMIN_TOKEN" });
  const file = env.LINKGATE_ADMIN_TOKEN_FILE?.trim();
  if (file) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      throw new LinkgateError(
        "CONFIG_ADMIN_TOKEN",
        `LINKGATE_ADMIN_TOKEN_FILE ${file} cannot be read: ${(error as Error).message}`,
      );
    }
    text.split(/\r?\n/).forEach((line, i) => {
      const token = line.trim();
      if (token !== "" && !token.startsWith("#")) {
        found.push({ token, from: `LINKGATE_ADMIN_TOKEN_FILE ${file}, line ${i + 1}` });
      }
    });
  }
  for (const { token, from } of found) {
    if (token.length < MIN_ADMIN_TOKEN_LENGTH) {
      throw new LinkgateError(
        "CONFIG_ADMIN_TOKEN",
        `the admin token of ${from} has ${token.length} characters; at least ${MIN_ADMIN_TOKEN_LENGTH} are needed (openssl rand -hex 32)`,
      );
    }
  }
  return found.map((f) => f.token);
}

export interface AuthFailureLimits {
  /** Failures allowed per address within a window; the next request is refused. */
  maxFailures: number;
  windowMs: number;
  /** Addresses tracked at once; the oldest entry goes when a new one comes. */
  maxAddresses: number;
}

export const DEFAULT_AUTH_FAILURE_LIMITS: AuthFailureLimits = {
  maxFailures: 10,
  windowMs: 60_000,
  maxAddresses: 10_000,
};

/** Failed authentications by client address, in fixed windows, in bounded memory. */
export class AuthFailures {
  readonly #limits: AuthFailureLimits;
  readonly #byAddress = new Map<string, { count: number; resetAt: number }>();

  constructor(limits: AuthFailureLimits = DEFAULT_AUTH_FAILURE_LIMITS) {
    this.#limits = limits;
  }

  /** How long `address` is still refused, in ms; 0 when it is not. */
  blockedFor(address: string, now: number): number {
    const entry = this.#byAddress.get(address);
    if (entry === undefined) return 0;
    if (now >= entry.resetAt) {
      this.#byAddress.delete(address);
      return 0;
    }
    return entry.count >= this.#limits.maxFailures ? entry.resetAt - now : 0;
  }

  failed(address: string, now: number): void {
    const entry = this.#byAddress.get(address);
    if (entry !== undefined && now < entry.resetAt) {
      entry.count++;
      return;
    }
    this.#byAddress.delete(address);
    if (this.#byAddress.size >= this.#limits.maxAddresses) {
      // Maps iterate in insertion order: the first key is the oldest window.
      const oldest = this.#byAddress.keys().next().value;
      if (oldest !== undefined) this.#byAddress.delete(oldest);
    }
    this.#byAddress.set(address, { count: 1, resetAt: now + this.#limits.windowMs });
  }

  succeeded(address: string): void {
    this.#byAddress.delete(address);
  }

  /** Addresses tracked (tests and metrics). */
  get size(): number {
    return this.#byAddress.size;
  }
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string | undefined): string | null {
  if (header === undefined) return null;
  const match = /^Bearer +(\S+) *$/i.exec(header);
  return match === null ? null : match[1];
}

/**
 * The principal of a bearer token, or null. Tenant tokens are looked up by hash, revoked ones
 * refused; `store` is null when no store is configured (then only admin tokens exist).
 */
export async function principalOf(
  token: string,
  admins: AdminTokens,
  store: Pick<Store, "tokenByHash"> | null,
): Promise<Principal | null> {
  const admin = admins.match(token);
  if (admin !== null) return { kind: "admin", actor: admin };
  if (store === null || !token.startsWith(TOKEN_SECRET_PREFIX)) return null;
  const found = await store.tokenByHash(tokenHash(token));
  if (found === null || found.revokedAt !== null) return null;
  return {
    kind: "tenant",
    tenantId: found.tenantId,
    tokenId: found.id,
    actor: `token:${found.id}`,
  };
}
