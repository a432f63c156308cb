/**
 * How the admin server serves the console: content types, the security headers, revalidation
 * and gzip; that the page holds nothing a strict CSP would block; and that the npm package
 * carries the files where the compiled server looks for them.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { gunzipSync } from "node:zlib";
import {
  CONSOLE_ASSETS_DIR,
  CONSOLE_CSP,
  type ConsoleAsset,
} from "../../src/control/console/serve.js";
import { startApi } from "../control/harness.js";

const ROOT = join(import.meta.dirname, "../..");

test("the page, its stylesheet and modules, with their types and the security headers", async (t) => {
  const { app } = await startApi(t);
  const files = readdirSync(CONSOLE_ASSETS_DIR).filter((f) => /\.(html|css|js)$/.test(f));
  assert.ok(
    files.includes("index.html") && files.includes("console.css") && files.includes("app.js"),
  );
  for (const file of files) {
    const url = file === "index.html" ? "/console/" : `/console/${file}`;
    const r = await app.inject({ method: "GET", url });
    assert.equal(r.statusCode, 200, url);
    const type = { html: "text/html", css: "text/css", js: "text/javascript" }[
      file.split(".").pop() as string
    ];
    assert.equal(r.headers["content-type"], `${type}; charset=utf-8`, url);
    assert.equal(r.headers["content-security-policy"], CONSOLE_CSP);
    assert.equal(r.headers["x-content-type-options"], "nosniff");
    assert.equal(r.headers["referrer-policy"], "no-referrer");
    assert.equal(r.headers["cache-control"], "no-cache");
    assert.match(String(r.headers.etag), /^"[A-Za-z0-9_-]{22}"$/);
    assert.equal(r.body, readFileSync(join(CONSOLE_ASSETS_DIR, file), "utf8"), url);
  }
  assert.match(
    CONSOLE_CSP,
    /^default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'$/,
  );
});

test("revalidation answers 304 for the same ETag; gzip when asked, with its own ETag", async (t) => {
  const { app } = await startApi(t);
  const first = await app.inject({ method: "GET", url: "/console/app.js" });
  const etag = String(first.headers.etag);
  const again = await app.inject({
    method: "GET",
    url: "/console/app.js",
    headers: { "if-none-match": etag },
  });
  assert.equal(again.statusCode, 304);
  assert.equal(again.body, "");
  assert.equal(again.headers["content-security-policy"], CONSOLE_CSP);
  const other = await app.inject({
    method: "GET",
    url: "/console/app.js",
    headers: { "if-none-match": '"something-else"' },
  });
  assert.equal(other.statusCode, 200);

  const gzipped = await app.inject({
    method: "GET",
    url: "/console/app.js",
    headers: { "accept-encoding": "br, gzip;q=0.8" },
  });
  assert.equal(gzipped.headers["content-encoding"], "gzip");
  assert.equal(gzipped.headers.vary, "accept-encoding");
  assert.notEqual(gzipped.headers.etag, etag);
  assert.equal(gunzipSync(gzipped.rawPayload).toString(), first.body);
  const revalidated = await app.inject({
    method: "GET",
    url: "/console/app.js",
    headers: { "accept-encoding": "gzip", "if-none-match": String(gzipped.headers.etag) },
  });
  assert.equal(revalidated.statusCode, 304);
  const refused = await app.inject({
    method: "GET",
    url: "/console/app.js",
    headers: { "accept-encoding": "gzip;q=0, identity" },
  });
  assert.equal(refused.headers["content-encoding"], undefined);
  assert.equal(refused.body, first.body);
});

test("/console redirects to /console/; other paths are 404s in the API's error format", async (t) => {
  const { app } = await startApi(t);
  const redirect = await app.inject({ method: "GET", url: "/console" });
  assert.equal(redirect.statusCode, 301);
  assert.equal(redirect.headers.location, "/console/");
  for (const url of ["/console/nope.js", "/console/tsconfig.json", "/console/../package.json"]) {
    const r = await app.inject({ method: "GET", url });
    assert.equal(r.statusCode, 404, url);
    assert.equal(r.json().error.code, "NOT_FOUND", url);
  }
  const head = await app.inject({ method: "HEAD", url: "/console/" });
  assert.equal(head.statusCode, 200);
});

test("the page has nothing a strict CSP blocks, and keeps no token where it could leak", () => {
  const html = readFileSync(join(CONSOLE_ASSETS_DIR, "index.html"), "utf8");
  // Every script is an external module; no inline script, style or event handler.
  for (const script of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
    assert.match(script[1], /\bsrc="[a-z-]+\.js"/);
    assert.equal(script[2].trim(), "");
  }
  assert.doesNotMatch(html, /<style\b|\sstyle=|\son[a-z]+=|javascript:/i);
  assert.doesNotMatch(html, /https?:\/\//, "nothing from another origin");
  const scripts = readdirSync(CONSOLE_ASSETS_DIR).filter((f) => f.endsWith(".js"));
  for (const file of scripts) {
    const js = readFileSync(join(CONSOLE_ASSETS_DIR, file), "utf8");
    // Markup only through h(): nothing from the API is parsed as HTML.
    const forbidden = [
      /innerHTML|outerHTML|insertAdjacentHTML|document\.write/,
      /\beval\(|new Function\(|setAttribute\("style"|\.style\./,
      /localStorage/,
      /https?:\/\//,
    ];
    for (const pattern of forbidden) assert.ok(!pattern.test(js), `${file} has ${pattern}`);
  }
});

test("the page asks for every module at once: each is preloaded, none found late", () => {
  const html = readFileSync(join(CONSOLE_ASSETS_DIR, "index.html"), "utf8");
  const preloaded = [...html.matchAll(/<link rel="modulepreload" href="([a-z-]+\.js)">/g)].map(
    (m) => m[1],
  );
  const modules = readdirSync(CONSOLE_ASSETS_DIR).filter((f) => f.endsWith(".js"));
  assert.deepEqual(
    [...preloaded, "app.js"].sort(),
    modules.sort(),
    "index.html preloads every module but the entry point",
  );
});

test("the npm package carries the console where the compiled server finds it", (t) => {
  const built = existsSync(join(ROOT, "dist/control/console/serve.js"));
  if (!built) {
    if (process.env.LINKGATE_REQUIRE_ALL === "1")
      assert.fail("dist/ is missing: run npm run build");
    t.skip("dist/ is missing: run `npm run build` (npm test does)");
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "linkgate-pack-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // dist/ is built already (npm test builds first): pack it as is, without the prepare script.
  const packed = JSON.parse(
    execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], {
      cwd: ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }),
  ) as { filename: string; files: { path: string }[] }[];
  const paths = packed[0].files.map((f) => f.path);
  for (const file of readdirSync(CONSOLE_ASSETS_DIR).filter((f) => /\.(html|css|js)$/.test(f))) {
    assert.ok(paths.includes(`src/control/console/assets/${file}`), `${file} is in the package`);
  }
  execFileSync("tar", ["-xzf", join(dir, packed[0].filename), "-C", dir]);
  // The compiled module, run from the unpacked package, reads the unpacked files.
  const modulePath = join(dir, "package/dist/control/console/serve.js");
  return import(pathToFileURL(modulePath).href).then(
    async (served: { loadConsoleAssets(): Promise<Map<string, ConsoleAsset>> }) => {
      const assets = await served.loadConsoleAssets();
      const index = assets.get("index.html");
      assert.ok(index !== undefined);
      assert.equal(
        index.body.toString(),
        readFileSync(join(CONSOLE_ASSETS_DIR, "index.html"), "utf8"),
      );
      assert.ok(assets.has("app.js") && assets.has("console.css"));
    },
  );
});
