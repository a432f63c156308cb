/**
 * The console on a running linkgate: a connection that really goes through the data plane (PROXY
 * v2 with an Azure identity, then TLS) shows up in the tenant's observed list in the browser,
 * and one click on "Allow" admits the next connection from that endpoint. The other console
 * tests seed the store; this one goes through everything between the socket and the page.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { connectThrough } from "../helpers/gateway.js";
import { env, pp2, start } from "../helpers/runtime.js";
import { launchChromium, openPage, signIn } from "./browser.js";

const VPCE = "aws:vpce-0123456789abcdef0";
const AZURE = "azure:553665985";
const HOST = "megacorp.api.example.com";

test("traffic through linkgate appears in the console; one click admits the endpoint", {
  timeout: 90_000,
}, async (t) => {
  const browser = await launchChromium(t);
  if (browser === null) return;
  t.after(() => browser.close());
  const e = await env(t);
  if (e === null) return;
  const r = await start(t, e);
  await r.api("POST", "/v1/tenants", {
    id: "megacorp",
    allow: { publicInternet: false, rules: [{ link: VPCE, description: "prod VPC" }] },
  });
  const token = (await r.api("POST", "/v1/tenants/megacorp/tokens", { label: "console" })).json
    .token as string;
  const through = (link: string) =>
    connectThrough({ ...r.listener, preamble: pp2(link), servername: HOST });

  const w = await openPage(browser, r.base);
  t.after(() => w.close());
  const { page } = w;
  await signIn(page, r.base, token);
  await page.getByRole("heading", { level: 1, name: "megacorp" }).waitFor();
  await page.locator("#observed-table", { hasText: "Nothing has connected yet" }).waitFor();

  // Cecilia's Azure private endpoint connects: no rule yet, so it is denied...
  assert.equal((await through(AZURE)).ok, false);
  // ...and the console shows it (flushed to the store within a second, read by the page's refresh).
  const row = page.locator("#observed-table tbody tr", { hasText: AZURE });
  await row.waitFor({ timeout: 20_000 });
  assert.match((await row.textContent()) ?? "", /10\.1\.2\.3/, "the source the header carried");

  await page.getByRole("button", { name: `Allow ${AZURE}` }).click();
  await page.locator("#rules-table tbody tr", { hasText: AZURE }).waitFor();
  assert.equal((await through(AZURE)).ok, true, "the next connection from it is admitted");
  w.assertClean();
});
