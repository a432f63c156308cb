/**
 * Screenshots of the console for docs/console.md and the README, and its measurements: page
 * weight (the bytes of its HTML, CSS and JS, raw and gzipped as the server sends them) and time
 * to first render (Chromium's navigation and paint timing on loopback, the median of 15 cold
 * loads). Runs the API server in-process on a temporary SQLite store with a demo tenant, and
 * Debian's chromium (apt-get install chromium).
 *
 *   npm run docs:screenshots            # writes docs/images/console-*.png, prints the numbers
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { loadConsoleAssets } from "../src/control/console/serve.js";
import { launch } from "../test/console/browser.js";
import { ADMIN_TOKEN, type ConsoleServer, startConsoleServer } from "../test/console/server.js";
import { findProgram } from "../test/helpers/programs.js";

const OUT = join(import.meta.dirname, "../docs/images");
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 375, height: 812 };
const MINUTE = 60_000;

/** A tenant as a customer would have it after a week: rules with hits, traffic seen. */
async function seed(server: ConsoleServer): Promise<string> {
  const token = await server.tenant("megacorp", { hostnames: ["api.megacorp.com"] });
  const rules = [
    { link: "aws:vpce-0123456789abcdef0", description: "prod VPC, eu-west-1" },
    { link: "gcp:18446744072646845442", description: "analytics project" },
    {
      cidr: "203.0.113.0/24",
      description: "office, until the VPN moves",
      expiresAt: new Date(Date.now() + 30 * 24 * 60 * MINUTE).toISOString(),
    },
  ];
  const ids: string[] = [];
  for (const rule of rules) {
    const created = await server.api("POST", "/v1/tenants/megacorp/rules", rule, token);
    ids.push(created.body.id);
  }
  await server.store.recordActivity({
    ruleHits: [
      { tenantId: "megacorp", ruleId: ids[0], hits: 15_320, lastHitAt: Date.now() - 2000 },
      { tenantId: "megacorp", ruleId: ids[1], hits: 842, lastHitAt: Date.now() - 7 * MINUTE },
      { tenantId: "megacorp", ruleId: ids[2], hits: 96, lastHitAt: Date.now() - 50 * MINUTE },
    ],
    observed: [],
  });
  const seen = [
    ["aws:vpce-0123456789abcdef0", 15_320, 0, "POLICY_LINK_ALLOWED", "10.20.1.17", 2000],
    ["azure:553665985", 0, 12, "POLICY_LINK_NOT_ALLOWED", "10.1.2.3", 3 * MINUTE],
    ["gcp:18446744072646845442", 842, 0, "POLICY_LINK_ALLOWED", "10.128.0.9", 7 * MINUTE],
    ["public:203.0.113.0/24", 96, 0, "POLICY_CIDR_ALLOWED", "203.0.113.40", 50 * MINUTE],
    ["public:198.51.100.0/24", 0, 4, "POLICY_PUBLIC_NOT_ALLOWED", "198.51.100.7", 90 * MINUTE],
  ] as const;
  for (const [identity, allowed, denied, lastReason, lastSource, ago] of seen) {
    await server.observe("megacorp", identity, {
      allowed,
      denied,
      lastReason,
      lastSource,
      listener: identity.startsWith("public:") ? "public" : "privatelink",
      at: Date.now() - ago,
    });
  }
  for (const id of ["acme", "globex", "initech"]) await server.tenant(id);
  await server.api("PATCH", "/v1/tenants/globex", { enforcement: "enforce" });
  return token;
}

/** A page signed in with `token`: its tenant's view, or an admin's tenant list. */
async function signedIn(browser: Browser, origin: string, token: string, viewport = DESKTOP) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  const page = await context.newPage();
  await page.goto(`${origin}/console/`);
  await page.getByLabel("Token", { exact: true }).fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { level: 1 }).waitFor();
  await page.locator("#observed-table, #tenants-table").first().waitFor();
  return page;
}

async function shoot(page: Page, name: string, fullPage = false): Promise<void> {
  // The focus ring of the heading the view focuses is for keyboard users, not for pictures.
  await page.evaluate("document.activeElement && document.activeElement.blur()");
  await page.screenshot({ path: join(OUT, name), fullPage });
  console.log(`wrote docs/images/${name}`);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const chromiumPath = findProgram("chromium");
if (chromiumPath === null) {
  console.error("chromium is missing: apt-get install chromium");
  process.exit(1);
}
mkdirSync(OUT, { recursive: true });
const server = await startConsoleServer();
const browser = await launch(chromiumPath);
try {
  const token = await seed(server);
  const { origin } = server;

  const signIn = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  await signIn.goto(`${origin}/console/`);
  await signIn.getByRole("heading", { name: "Sign in" }).waitFor();
  await shoot(signIn, "console-sign-in.png");

  const tenant = await signedIn(browser, origin, token);
  await shoot(tenant, "console-tenant.png", true);
  await tenant.getByLabel("VPC endpoint ID").fill("vpce-0123456789ABCDEF0");
  await tenant.locator("#rule-endpoint-problem").waitFor();
  await tenant.locator("#add-rule-title").scrollIntoViewIfNeeded();
  await shoot(tenant, "console-add-rule.png");

  // Enforcing with a policy that refuses all of today's traffic: the lockout guard.
  const guardPage = await signedIn(browser, origin, await guardDemo(server));
  await guardPage.getByRole("switch", { name: "Enforce" }).click();
  await guardPage.locator("#confirm-ok").click();
  await guardPage.locator("#guard").waitFor();
  await guardPage.locator("#guard-confirm").check();
  await shoot(guardPage, "console-lockout-guard.png");

  const phone = await signedIn(browser, origin, token, PHONE);
  await shoot(phone, "console-tenant-phone.png");
  await phone.locator("#observed-title").scrollIntoViewIfNeeded();
  await shoot(phone, "console-observed-phone.png");

  const admin = await signedIn(browser, origin, ADMIN_TOKEN);
  await shoot(admin, "console-admin.png");

  // Page weight: what a first visit downloads.
  const assets = await loadConsoleAssets();
  let raw = 0;
  let gzip = 0;
  for (const [name, asset] of assets) {
    raw += asset.body.length;
    gzip += (asset.gzip ?? asset.body).length;
    console.log(`${name}\t${asset.body.length} B\t${(asset.gzip ?? asset.body).length} B gzip`);
  }
  console.log(`page weight: ${raw} B (${assets.size} files), ${gzip} B gzipped`);

  // Time to first render: cold loads of the sign-in page, each in a new context (empty cache).
  // The form is drawn by app.js: its paint is the largest contentful paint.
  type Timing = { fcp: number; lcp: number; dcl: number; bytes: number };
  const timings: Timing[] = [];
  for (let i = 0; i < 15; i++) {
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    await page.goto(`${origin}/console/`, { waitUntil: "load" });
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    timings.push(
      await page.evaluate<Timing>(`(async () => {
        const lcp = await new Promise((resolve) =>
          new PerformanceObserver((list) => resolve(list.getEntries().at(-1).startTime))
            .observe({ type: "largest-contentful-paint", buffered: true }));
        const nav = performance.getEntriesByType("navigation")[0];
        const fcp = performance.getEntriesByName("first-contentful-paint")[0].startTime;
        const bytes = performance.getEntriesByType("resource")
          .reduce((sum, r) => sum + r.transferSize, nav.transferSize);
        return { fcp, lcp, dcl: nav.domContentLoadedEventEnd, bytes };
      })()`),
    );
    await context.close();
  }
  const ms = (key: keyof Timing) => `${median(timings.map((t) => t[key])).toFixed(0)} ms`;
  console.log(
    `first contentful paint ${ms("fcp")}, sign-in form painted (LCP) ${ms("lcp")}, ` +
      `DOMContentLoaded ${ms("dcl")} (median of ${timings.length} cold loads; ` +
      `${median(timings.map((t) => t.bytes))} B transferred)`,
  );

  // Signed in to a rendered tenant view: the page plus five API reads.
  const views: number[] = [];
  for (let i = 0; i < 15; i++) {
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    await page.goto(`${origin}/console/`);
    await page.getByLabel("Token", { exact: true }).fill(token);
    const start = Date.now();
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator("#observed-table tbody tr").first().waitFor();
    views.push(Date.now() - start);
    await context.close();
  }
  console.log(`sign-in to the rendered tenant view: ${median(views)} ms (median of 15)`);
} finally {
  await browser.close();
  await server.close();
}

/**
 * A second tenant whose only traffic its rules refuse: enforcing it meets the guard. Returns
 * its token.
 */
async function guardDemo(s: ConsoleServer): Promise<string> {
  const guardToken = await s.tenant("megacorp-staging", {
    allow: { rules: [{ link: "aws:vpce-0123456789abcdef0", description: "prod VPC" }] },
  });
  await s.observe("megacorp-staging", "azure:553665985", {
    denied: 27,
    lastSource: "10.1.2.3",
    at: Date.now() - 4 * MINUTE,
  });
  await s.observe("megacorp-staging", "public:198.51.100.0/24", {
    denied: 3,
    lastReason: "POLICY_PUBLIC_NOT_ALLOWED",
    lastSource: "198.51.100.7",
    listener: "public",
    at: Date.now() - 20 * MINUTE,
  });
  return guardToken;
}
