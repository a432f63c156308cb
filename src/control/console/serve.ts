/**
 * The tenant console: a static page (one HTML file, one CSS file, ES modules, no framework and
 * no build step) that the admin server serves at /console/, beside the /v1 API it calls.
 *
 * The files stay where they are written, in `src/control/console/assets/`, and are found there
 * from the TypeScript sources and from the compiled `dist/` alike: both put this module three
 * directories below the package root (package.json lists the directory in `files`). They are
 * read once when the server starts, with a gzip copy and a digest for the ETag.
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

export const CONSOLE_ASSETS_DIR = fileURLToPath(
  new URL("../../../src/control/console/assets/", import.meta.url),
);

/** Scripts, styles and requests only from the page's own origin; nothing inline. */
export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
};

export interface ConsoleAsset {
  contentType: string;
  body: Buffer;
  /** The gzip encoding, or null when it would not be smaller. */
  gzip: Buffer | null;
  /** A digest of `body` (strong ETag, quoted). */
  etag: string;
}

/** The page's files by name ("index.html", "app.js", …): the ones with a known content type. */
export async function loadConsoleAssets(
  dir: string = CONSOLE_ASSETS_DIR,
): Promise<Map<string, ConsoleAsset>> {
  const assets = new Map<string, ConsoleAsset>();
  for (const name of (await readdir(dir)).sort()) {
    const contentType = CONTENT_TYPES[extname(name)];
    if (contentType === undefined) continue;
    const body = await readFile(join(dir, name));
    const gzip = gzipSync(body, { level: 9 });
    const digest = createHash("sha256").update(body).digest("base64url").slice(0, 22);
    assets.set(name, {
      contentType,
      body,
      gzip: gzip.length < body.length ? gzip : null,
      etag: `"${digest}"`,
    });
  }
  if (!assets.has("index.html")) throw new Error(`the console's index.html is missing in ${dir}`);
  return assets;
}

function acceptsGzip(request: FastifyRequest): boolean {
  const accept = request.headers["accept-encoding"];
  if (typeof accept !== "string") return false;
  for (const part of accept.split(",")) {
    const [coding, ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    if (coding !== "gzip" && coding !== "*") continue;
    const q = params.find((p) => p.startsWith("q="));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}

function gzipEtag(etag: string): string {
  return `${etag.slice(0, -1)}-gzip"`;
}

/**
 * Whether If-None-Match names the asset in either encoding (weak comparison, as RFC 9110 asks
 * for GET): the content is the same.
 */
function notModified(request: FastifyRequest, asset: ConsoleAsset): boolean {
  const header = request.headers["if-none-match"];
  if (typeof header !== "string") return false;
  if (header.trim() === "*") return true;
  const tags = header.split(",").map((t) => t.trim().replace(/^W\//, ""));
  return tags.some((t) => t === asset.etag || t === gzipEtag(asset.etag));
}

function securityHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header("content-security-policy", CONSOLE_CSP)
    .header("x-content-type-options", "nosniff")
    .header("referrer-policy", "no-referrer");
}

function send(request: FastifyRequest, reply: FastifyReply, asset: ConsoleAsset): FastifyReply {
  const gzip = asset.gzip !== null && acceptsGzip(request);
  // Each encoding has its own ETag, so that a cache never mixes them up.
  const etag = gzip ? gzipEtag(asset.etag) : asset.etag;
  securityHeaders(reply)
    .header("etag", etag)
    .header("vary", "accept-encoding")
    // Revalidated on every load (a 304 when unchanged): the file names carry no version, and a
    // console that mixed the modules of two linkgate versions would break in odd ways.
    .header("cache-control", "no-cache");
  if (notModified(request, asset)) return reply.code(304).send();
  reply.type(asset.contentType);
  if (gzip) return reply.header("content-encoding", "gzip").send(asset.gzip);
  return reply.send(asset.body);
}

/**
 * Serves the console at /console/ (and its files at /console/<name>) on `app`; /console
 * redirects there. Call before the app listens.
 */
export function registerConsole(app: FastifyInstance, dir: string = CONSOLE_ASSETS_DIR): void {
  app.register(async (scope) => {
    const assets = await loadConsoleAssets(dir);
    const index = assets.get("index.html") as ConsoleAsset;
    scope.get("/console", async (_request, reply) =>
      securityHeaders(reply).redirect("/console/", 301),
    );
    scope.get("/console/", async (request, reply) => send(request, reply, index));
    scope.get<{ Params: { file: string } }>("/console/:file", async (request, reply) => {
      const asset = assets.get(request.params.file);
      if (asset === undefined) {
        return reply.code(404).send({
          error: { code: "NOT_FOUND", message: `the console has no file "${request.params.file}"` },
        });
      }
      return send(request, reply, asset);
    });
  });
}
