// The /v1 API (docs/api.md) as the page calls it: the bearer token lives here, in memory, and
// is sent in the Authorization header only; errors become ApiError with the API's code.

/**
 * @typedef {{id: string, link: string | null, cidr: string | null, description: string | null,
 *   expiresAt: string | null, expired: boolean, createdAt: string | null, hits: number,
 *   lastHitAt: string | null}} Rule
 * @typedef {{id: string, hostnames: string[], upstream: string | null,
 *   enforcement: "enforce" | "report-only", allow: {publicInternet: boolean, rules: Rule[]} | null,
 *   managedBy: "api" | "config", createdAt: string | null, updatedAt: string | null,
 *   etag: string}} Tenant
 * @typedef {{identity: string, provider: "aws" | "azure" | "gcp" | "public", listener: string,
 *   lastSource: string | null, firstSeenAt: string, lastSeenAt: string, allowed: number,
 *   denied: number, lastReason: string}} Observed
 * @typedef {{id: number, at: string, actor: string, action: string, before: unknown,
 *   after: unknown, version: number | null}} AuditEntry
 * @typedef {{id: string, tenant: string, label: string | null, createdAt: string,
 *   createdBy: string, lastUsedAt: string | null, revokedAt: string | null}} Token
 */

/**
 * A page of a list: pass nextCursor back as `cursor` for the next one.
 * @template T
 * @typedef {{items: T[], nextCursor: string | null}} Page
 */

export class ApiError extends Error {
  /**
   * @param {number} status the HTTP status; 0 when linkgate did not answer
   * @param {string} code the API's error code, "NETWORK" when linkgate did not answer
   * @param {string} message
   * @param {{path: string, code: string, message: string}[]} details
   * @param {Observed[]} wouldCut what a LOCKOUT_GUARD refusal would have cut
   * @param {number | null} retryAfter seconds, for 429
   */
  constructor(status, code, message, details = [], wouldCut = [], retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.wouldCut = wouldCut;
    this.retryAfter = retryAfter;
  }
}

/**
 * @typedef {object} RequestOptions
 * @property {unknown} [body] sent as JSON
 * @property {string} [ifMatch] the tenant's ETag, so that a change made meanwhile is refused (412)
 * @property {Record<string, string | number | boolean | null | undefined>} [query]
 */

export class Api {
  /** @type {string | null} */
  #token = null;
  /** @type {(error: ApiError) => void} */
  #onUnauthorized;

  /** @param {(error: ApiError) => void} onUnauthorized called on any 401: the token is gone */
  constructor(onUnauthorized) {
    this.#onUnauthorized = onUnauthorized;
  }

  /** @param {string | null} token */
  setToken(token) {
    this.#token = token;
  }

  /**
   * @param {string} method
   * @param {string} path "/v1/…", with its parts already encoded
   * @param {RequestOptions} [options]
   * @returns {Promise<any>} the JSON body (null for 204)
   */
  async request(method, path, options = {}) {
    /** @type {Record<string, string>} */
    const headers = { accept: "application/json" };
    if (this.#token !== null) headers.authorization = `Bearer ${this.#token}`;
    if (options.body !== undefined) headers["content-type"] = "application/json";
    if (options.ifMatch !== undefined) headers["if-match"] = options.ifMatch;
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== null && value !== undefined) query.set(key, String(value));
    }
    const url = query.size > 0 ? `${path}?${query}` : path;
    /** @type {Response} */
    let response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        cache: "no-store",
        credentials: "omit",
      });
    } catch {
      throw new ApiError(0, "NETWORK", "linkgate did not answer: check the connection and retry");
    }
    const text = await response.text();
    let json = null;
    try {
      json = text === "" ? null : JSON.parse(text);
    } catch {
      // Not JSON: a proxy's error page, say; reported by status below.
    }
    if (response.ok) return json;
    const error = json?.error ?? {
      code: `HTTP_${response.status}`,
      message: `linkgate answered ${response.status} ${response.statusText}`,
    };
    const retryAfter = Number(response.headers.get("retry-after"));
    const problem = new ApiError(
      response.status,
      String(error.code),
      String(error.message),
      Array.isArray(error.details) ? error.details : [],
      Array.isArray(error.wouldCut) ? error.wouldCut : [],
      Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null,
    );
    if (response.status === 401) this.#onUnauthorized(problem);
    throw problem;
  }

  /**
   * Every item of a list, page after page (for the short lists of one tenant).
   * @param {string} path
   * @returns {Promise<any[]>}
   */
  async all(path) {
    const items = [];
    /** @type {string | null} */
    let cursor = null;
    do {
      /** @type {Page<unknown>} */
      const page = await this.request("GET", path, { query: { limit: 1000, cursor } });
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor !== null);
    return items;
  }
}

/**
 * "/v1/tenants/{id}/…" with each part URL-encoded (identities carry ":" and "/").
 * @param {string} tenant
 * @param {...string} parts
 */
export function tenantPath(tenant, ...parts) {
  return ["/v1/tenants", tenant, ...parts]
    .map((p, i) => (i === 0 ? p : encodeURIComponent(p)))
    .join("/");
}
