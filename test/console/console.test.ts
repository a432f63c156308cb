/**
 * The console in a real browser (Debian's chromium through playwright-core) against the real
 * API server on loopback, with a SQLite store. Observed identities are written the way the data
 * plane's activity flush writes them (store.recordActivity).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { VPCE } from "../store/helpers.js";
import { launchChromium, openPage, signIn, type WatchedPage } from "./browser.js";
import { ADMIN_TOKEN, type ConsoleServer, startConsoleServer } from "./server.js";

const AZURE = "azure:553665985";
// Code run in the page is written as strings: this project's TypeScript has no DOM types.
const FOCUSED_ID = "document.activeElement?.id ?? ''";

/** The tenant as the API has it now. */
async function tenantNow(server: ConsoleServer, id: string) {
  const { status, body } = await server.api("GET", `/v1/tenants/${id}`);
  assert.equal(status, 200);
  return body;
}

async function tenantView(page: Page, id: string): Promise<void> {
  await page.getByRole("heading", { level: 1, name: id }).waitFor();
}

function rulesRow(page: Page, text: string) {
  return page.locator("#rules-table tbody tr", { hasText: text });
}

test("the console in chromium", { timeout: 240_000 }, async (t) => {
  const browser: Browser | null = await launchChromium(t);
  if (browser === null) return;
  t.after(() => browser.close());
  const server = await startConsoleServer("127.0.0.1");
  t.after(() => server.close());
  const { origin } = server;

  /** A page that is closed, and checked for problems, when the subtest ends. */
  const watched = async (
    s: { after(fn: () => Promise<void>): void },
    viewport?: { width: number; height: number },
  ): Promise<WatchedPage> => {
    const w = await openPage(browser, origin, viewport);
    s.after(() => w.close());
    return w;
  };

  await t.test("the page comes with the CSP, and a violation would be caught", async (s) => {
    const w = await watched(s);
    const response = await w.page.goto(`${origin}/console/`);
    assert.match(response?.headers()["content-security-policy"] ?? "", /script-src 'self'/);
    await w.page.getByRole("heading", { name: "Sign in" }).waitFor();
    w.assertClean();
    // The same listener that finds nothing above does see an inline script being refused.
    await w.page.evaluate(`(() => {
      const script = document.createElement("script");
      script.textContent = "document.title = 'inline ran'";
      document.body.append(script);
    })()`);
    await w.page.waitForTimeout(200);
    assert.ok(
      w.problems.some((p) => /Content Security Policy/.test(p)),
      w.problems.join("\n"),
    );
    assert.notEqual(await w.page.title(), "inline ran");
  });

  await t.test("a tenant signs in and adds a rule; typos and refusals are explained", async (s) => {
    const token = await server.tenant("acme", { hostnames: ["api.acme.example"] });
    const w = await watched(s);
    const { page } = w;
    const posts: string[] = [];
    page.on("request", (r) => {
      if (r.method() === "POST") posts.push(r.url());
    });
    await signIn(page, origin, token);
    await tenantView(page, "acme");
    assert.doesNotMatch(page.url(), /lgt_/, "the token is not in the address");

    // Checked as typed, with the fix named; nothing is sent while it is wrong.
    const id = page.getByLabel("VPC endpoint ID");
    await id.fill("vpce-0123456789ABCDEF0");
    await page
      .locator("#rule-endpoint-problem", { hasText: 'use lower case: "vpce-0123456789abcdef0"' })
      .waitFor();
    assert.equal(await id.getAttribute("aria-invalid"), "true");
    await page.getByRole("button", { name: "Add rule" }).click();
    assert.deepEqual(posts, []);
    assert.equal(await page.evaluate(FOCUSED_ID), "rule-endpoint");

    await id.fill("aws:vpce-0123456789abcdef0");
    assert.equal(await id.getAttribute("aria-invalid"), null);
    await page.getByLabel(/^Only from these source addresses/).fill("10.0.0.1/8");
    await page.locator("#rule-cidr-problem", { hasText: 'did you mean "10.0.0.0/8"' }).waitFor();
    await page.getByLabel(/^Only from these source addresses/).fill("");
    await page.getByLabel(/^Description/).fill("prod VPC");
    await page.getByRole("button", { name: "Add rule" }).click();
    await rulesRow(page, VPCE).filter({ hasText: "prod VPC" }).waitFor();
    const rules = (await tenantNow(server, "acme")).allow.rules;
    assert.deepEqual(
      rules.map((r: { link: string; description: string }) => [r.link, r.description]),
      [[VPCE, "prod VPC"]],
    );
    await page.locator("#audit-table", { hasText: `Added rule ${VPCE} (prod VPC)` }).waitFor();

    // A rule the page cannot judge (a duplicate): the API's own message is shown.
    const refusal = await server.api("POST", "/v1/tenants/acme/rules", { link: VPCE }, token);
    assert.equal(refusal.body.error.code, "RULE_DUPLICATE");
    await id.fill(VPCE.slice("aws:".length));
    await page.getByRole("button", { name: "Add rule" }).click();
    await page.locator("#rule-error", { hasText: refusal.body.error.message }).waitFor();
    assert.equal(await page.locator("#rule-error").getAttribute("role"), "alert");
    w.assertClean([409]);
  });

  await t.test("an identity that connects shows up; one click allows it", async (s) => {
    const token = await server.tenant("bravo", { allow: { rules: [{ link: VPCE }] } });
    const w = await watched(s);
    const { page } = w;
    await signIn(page, origin, token);
    await tenantView(page, "bravo");
    await page.locator("#observed-table", { hasText: "Nothing has connected yet" }).waitFor();

    // Traffic arrives after the page was loaded: the page reads the feed again by itself.
    await server.observe("bravo", AZURE, { denied: 12, lastSource: "10.1.2.3" });
    const row = page.locator("#observed-table tbody tr", { hasText: AZURE });
    await row.waitFor({ timeout: 12_000 });
    assert.match((await row.textContent()) ?? "", /10\.1\.2\.3/);
    assert.match((await row.textContent()) ?? "", /no rule for this endpoint/);

    await page.getByRole("button", { name: `Allow ${AZURE}` }).click();
    await rulesRow(page, AZURE).waitFor();
    await row.filter({ hasText: "has a rule" }).waitFor();
    const links = (await tenantNow(server, "bravo")).allow.rules.map(
      (r: { link: string }) => r.link,
    );
    assert.deepEqual(links, [VPCE, AZURE]);
    await page.locator("#audit-table", { hasText: `Added rule ${AZURE}` }).waitFor();
    w.assertClean();
  });

  await t.test("enforcing meets the lockout guard: cancel, allow instead, or force", async (s) => {
    const token = await server.tenant("charlie", { allow: { rules: [{ link: VPCE }] } });
    await server.observe("charlie", AZURE, { denied: 40 });
    const w = await watched(s);
    const { page } = w;
    await signIn(page, origin, token);
    await tenantView(page, "charlie");
    const enforce = page.getByRole("switch", { name: "Enforce" });
    assert.equal(await enforce.getAttribute("aria-checked"), "false");
    const guard = page.locator("#guard");

    const meetGuard = async () => {
      await enforce.click();
      // First what report-only saw being refused, then the API's guard with what it would cut.
      await page.locator("#confirm", { hasText: AZURE }).waitFor();
      await page.locator("#confirm-ok").click();
      await guard.waitFor();
      assert.match((await guard.textContent()) ?? "", /azure:553665985/);
      assert.ok(await page.locator("#guard-force").isDisabled(), "force needs the confirmation");
    };

    await meetGuard();
    await page.locator("#guard-cancel").click();
    await page.locator("#notice", { hasText: "Nothing was changed." }).waitFor();
    assert.equal((await tenantNow(server, "charlie")).enforcement, "report-only");
    assert.equal(await enforce.getAttribute("aria-checked"), "false");

    await meetGuard();
    await page.locator("#guard-confirm").check();
    assert.ok(await page.locator("#guard-force").isEnabled());
    await page.locator("#guard-force").click();
    await page.locator('#enforce-switch[aria-checked="true"]').waitFor();
    assert.equal((await tenantNow(server, "charlie")).enforcement, "enforce");
    await page.locator("#audit-table", { hasText: "report-only → enforce" }).waitFor();

    // The guard's other way out: allow the endpoint it names, and enforce after that.
    const other = await server.tenant("delta", { allow: { rules: [{ link: VPCE }] } });
    await server.observe("delta", AZURE, { denied: 5 });
    await signOutAndIn(page, other, "delta");
    await page.getByRole("switch", { name: "Enforce" }).click();
    await page.locator("#confirm-ok").click();
    await guard.getByRole("button", { name: "Allow this endpoint" }).click();
    await rulesRow(page, AZURE).waitFor();
    assert.equal((await tenantNow(server, "delta")).enforcement, "report-only");
    await page.getByRole("switch", { name: "Enforce" }).click();
    await page.locator("#confirm-ok").click();
    await page.locator('#enforce-switch[aria-checked="true"]').waitFor();
    assert.equal((await tenantNow(server, "delta")).enforcement, "enforce");
    w.assertClean([409]);

    async function signOutAndIn(p: Page, tokenOf: string, id: string) {
      await p.getByRole("button", { name: "Sign out" }).click();
      await signIn(p, origin, tokenOf);
      await tenantView(p, id);
    }
  });

  await t.test(
    "deleting a rule; a change made meanwhile is refused, not overwritten",
    async (s) => {
      const token = await server.tenant("echo", {
        allow: {
          rules: [
            { link: VPCE, description: "prod" },
            { cidr: "203.0.113.0/24", description: "office" },
          ],
        },
      });
      const w = await watched(s);
      const { page } = w;
      await signIn(page, origin, token);
      await tenantView(page, "echo");
      await page.getByRole("button", { name: "Delete rule 203.0.113.0/24" }).click();
      await page.locator("#confirm", { hasText: "office" }).waitFor();
      await page.locator("#confirm-ok").click();
      await rulesRow(page, "203.0.113.0/24").waitFor({ state: "detached" });
      assert.deepEqual(
        (await tenantNow(server, "echo")).allow.rules.map((r: { link: string }) => r.link),
        [VPCE],
      );
      await page.locator("#audit-table", { hasText: "Deleted rule 203.0.113.0/24" }).waitFor();

      // Someone else turns the public internet on while the confirmation is open.
      await page.getByRole("button", { name: `Delete rule ${VPCE}` }).click();
      await page.locator("#confirm").waitFor();
      const patched = await server.api("PATCH", "/v1/tenants/echo", {
        allow: { publicInternet: true },
      });
      assert.equal(patched.status, 200);
      await page.locator("#confirm-ok").click();
      await page.locator("#rule-error", { hasText: "changed since this page loaded it" }).waitFor();
      await page.locator('#public-switch[aria-checked="true"]').waitFor();
      await rulesRow(page, VPCE).waitFor();
      assert.equal((await tenantNow(server, "echo")).allow.rules.length, 1);
      w.assertClean([412]);
    },
  );

  await t.test("a tenant's token sees its tenant only: another is not found", async (s) => {
    const tokenA = await server.tenant("foxtrot");
    await server.tenant("golf", { allow: { rules: [{ link: VPCE, description: "golf's VPC" }] } });
    const w = await watched(s);
    const { page } = w;
    await signIn(page, origin, tokenA);
    await tenantView(page, "foxtrot");
    await page.evaluate(`location.hash = "#/tenants/golf"`);
    await page.getByRole("heading", { name: "Tenant not found" }).waitFor();
    assert.doesNotMatch((await page.locator("main").textContent()) ?? "", /golf's VPC|aws:vpce/);
    w.assertClean([404]);
  });

  await t.test("signing out forgets the token; a revoked token signs out", async (s) => {
    const token = await server.tenant("hotel");
    const w = await watched(s);
    const { page } = w;
    // Kept in memory only unless asked: nothing in either storage, nothing in the address.
    await signIn(page, origin, token);
    await tenantView(page, "hotel");
    const stored = () =>
      page.evaluate(
        () => JSON.stringify({ ...sessionStorage }) + JSON.stringify({ ...localStorage }),
      );
    assert.equal(await stored(), "{}{}");
    await page.reload();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();

    // Asked to stay signed in: session storage, kept across a reload, cleared by signing out.
    await page.getByLabel("Token", { exact: true }).fill(token);
    await page.getByLabel("Stay signed in while this tab is open").check();
    await page.getByRole("button", { name: "Sign in" }).click();
    await tenantView(page, "hotel");
    assert.match(await stored(), new RegExp(token));
    await page.reload();
    await tenantView(page, "hotel");
    const apiCalls: string[] = [];
    page.on("request", (r) => {
      if (new URL(r.url()).pathname.startsWith("/v1/")) apiCalls.push(r.url());
    });
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    assert.equal(await stored(), "{}{}");
    // The tenant view's refresh (every 5 s) stopped with it.
    await page.waitForTimeout(5500);
    assert.deepEqual(apiCalls, []);
    assert.equal(await page.getByLabel("Token", { exact: true }).inputValue(), "");
    await page.reload();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();

    // Revoked while signed in: the next answer is 401 and the page signs out.
    await signIn(page, origin, token);
    await tenantView(page, "hotel");
    const tokens = await server.api("GET", "/v1/tenants/hotel/tokens");
    const revoked = await server.api(
      "DELETE",
      `/v1/tenants/hotel/tokens/${tokens.body.items[0].id}`,
    );
    assert.equal(revoked.status, 204);
    await page.getByRole("button", { name: "Refresh" }).click();
    await page.locator("#notice", { hasText: "The token was refused" }).waitFor();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    w.assertClean([401]);
  });

  await t.test("an admin lists and creates tenants and mints a token shown once", async (s) => {
    const w = await watched(s);
    const { page } = w;
    await signIn(page, origin, ADMIN_TOKEN);
    await page.getByRole("heading", { level: 1, name: "Tenants" }).waitFor();
    const list = page.locator("#tenants-table");
    await list.locator("tr", { hasText: "filecorp" }).filter({ hasText: "config file" }).waitFor();
    await list.locator("tr", { hasText: "acme" }).waitFor();

    // The API's refusal for an id that is taken.
    await page.getByLabel("Tenant id").fill("filecorp");
    await page.getByRole("button", { name: "Create tenant" }).click();
    await page.locator("#create-error", { hasText: "filecorp" }).waitFor();

    await page.getByLabel("Tenant id").fill("india");
    await page.getByLabel(/^Host names/).fill("api.india.example, eu.india.example");
    await page.getByRole("button", { name: "Create tenant" }).click();
    await tenantView(page, "india");
    assert.deepEqual((await tenantNow(server, "india")).hostnames, [
      "api.india.example",
      "eu.india.example",
    ]);

    await page.getByLabel(/^Label/).fill("terraform");
    await page.getByRole("button", { name: "Mint token" }).click();
    const secret = await page.locator("#token-secret").inputValue();
    assert.match(secret, /^lgt_[A-Za-z0-9_-]{43}$/);
    await page.getByRole("button", { name: "Copy" }).click();
    await page.locator(".secret [role=status]", { hasText: /Copied|Ctrl\+C/ }).waitFor();
    await page.locator("#tokens-table", { hasText: "terraform" }).waitFor();
    assert.equal((await server.api("GET", "/v1/tenants/india", undefined, secret)).status, 200);
    w.assertClean([409]);
  });

  await t.test("everything by keyboard, with a visible focus", async (s) => {
    const token = await server.tenant("juliett");
    const w = await watched(s);
    const { page } = w;
    await page.goto(`${origin}/console/`);
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    // The token field has the focus: type, Tab to the tenant, Enter submits.
    await page.keyboard.type(token);
    await page.keyboard.press("Tab");
    await page.keyboard.type("juliett");
    await page.keyboard.press("Enter");
    await tenantView(page, "juliett");

    const focused = () => page.evaluate(FOCUSED_ID);
    for (let i = 0; i < 10 && (await focused()) !== "enforce-switch"; i++) {
      await page.keyboard.press("Tab");
    }
    assert.equal(await focused(), "enforce-switch");
    assert.equal(
      await page.evaluate("getComputedStyle(document.activeElement).outlineStyle"),
      "solid",
    );
    await page.keyboard.press("Space");
    await page.locator('#enforce-switch[aria-checked="true"]').waitFor();
    assert.equal(await focused(), "enforce-switch", "the focus stays on the switch");
    assert.equal((await tenantNow(server, "juliett")).enforcement, "enforce");
    w.assertClean();
  });

  await t.test("too many failed sign-ins: the page says when to try again", async (s) => {
    // Its own server on another loopback address: the limit is per client address.
    const limited = await startConsoleServer("127.0.0.2");
    s.after(() => limited.close());
    const w = await openPage(browser, limited.origin);
    s.after(() => w.close());
    const { page } = w;
    await page.goto(`${limited.origin}/console/`);
    for (let i = 0; i < 11; i++) {
      await page.getByLabel("Token", { exact: true }).fill(`wrong-token-${i}-0123456789abcdef0123`);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.locator("#sign-in-error p").waitFor();
    }
    await page
      .locator("#sign-in-error", {
        hasText: /Too many failed sign-ins .* try again in \d+ seconds/,
      })
      .waitFor();
    w.assertClean([401, 429]);
  });

  await t.test("readable at phone width: nothing wider than the screen", async (s) => {
    const token = await server.tenant("kilo", {
      allow: { rules: [{ link: VPCE, description: "a rather long description of a VPC" }] },
    });
    await server.observe("kilo", "gcp:18446744072646845442", { denied: 2 });
    const w = await watched(s, { width: 375, height: 800 });
    const { page } = w;
    await signIn(page, origin, token);
    await tenantView(page, "kilo");
    await page.locator("#observed-table tbody tr").first().waitFor();
    const widths = await page.evaluate<[number, number]>(
      "[document.documentElement.scrollWidth, document.documentElement.clientWidth]",
    );
    assert.ok(widths[0] <= widths[1], `page ${widths[0]} px wide in a ${widths[1]} px screen`);
    w.assertClean();
  });
});
