/**
 * Reloads of `linkgate serve` against a file that changes while they run: a file that
 * disappears mid-reload does not stop the process, and a change made while a reload runs is
 * applied after it (the policy in force ends up matching the file). With one process and with
 * workers: one reload mechanism serves both.
 */
import assert from "node:assert/strict";
import { unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { encodeProxyHeaderV2 } from "../../src/proxy-protocol/index.js";
import { connectThrough, startOrigin, testCertificate } from "../helpers/gateway.js";
import { delay, tempDir, waitFor } from "../helpers/programs.js";
import {
  fillerTenantsYaml,
  type Serve,
  serveConfigYaml,
  serveStarted,
  spawnServe,
} from "../helpers/serve.js";

const VPCE = "aws:vpce-0123456789abcdef0";
const HOST = "megacorp.api.example.com";
/** Tenants in the large policy: loading it takes about a second on a developer machine. */
const FILLERS = 20_000;

/** megacorp admits VPCE, and the public internet if `publicInternet`; `fillers` more tenants. */
function policy(originPort: number, publicInternet: boolean, fillers = 0): string {
  const rules = `        - { link: "${VPCE}" }\n      publicInternet: ${publicInternet}`;
  return serveConfigYaml(originPort, rules, fillerTenantsYaml(fillers));
}

/** A PROXY v2 header without a Private Link identity: a connection from the public internet. */
const publicHeader = encodeProxyHeaderV2({
  source: { address: "198.51.100.7", port: 1 },
  destination: { address: "10.0.0.1", port: 443 },
});

async function publicClientAdmitted(s: Serve): Promise<boolean> {
  const r = await connectThrough({
    host: "127.0.0.1",
    port: s.port("privatelink"),
    preamble: publicHeader,
    servername: HOST,
  });
  return r.ok;
}

const reloadsOk = (s: Serve) => s.find("reload ok");

for (const workers of [1, 2]) {
  describe(`linkgate serve --workers ${workers}: reloads while the file changes`, () => {
    test("the file disappearing during a reload does not stop the process", {
      timeout: 180_000,
    }, async (t) => {
      const cert = await testCertificate(t);
      if (cert === null) return;
      const origin = await startOrigin(t, cert, { proxyProtocol: true });
      const dir = await tempDir(t);
      const file = join(dir, "linkgate.yaml");
      writeFileSync(file, policy(origin.port, false));
      const s = spawnServe(t, ["-c", file, "--workers", String(workers)]);
      await serveStarted(s);
      assert.equal(await publicClientAdmitted(s), false);

      // A large policy, then SIGHUP: the reload reads it at once and compiles it for a second
      // or more; meanwhile the file goes away (as a deploy tool that removes then writes does).
      writeFileSync(file, policy(origin.port, true, FILLERS));
      s.child.kill("SIGHUP");
      await delay(150);
      unlinkSync(file);
      await waitFor(() => reloadsOk(s).find((l) => l.tenants === FILLERS + 1), {
        timeoutMs: 90_000,
        what: "the reload of the large policy",
      });
      await delay(1000);
      assert.equal(s.child.exitCode, null, `still running (stderr: ${s.stderr()})`);
      assert.equal(await publicClientAdmitted(s), true, "serving, with what was read");

      // The file comes back: the watch reloads it.
      writeFileSync(file, policy(origin.port, false));
      await waitFor(() => reloadsOk(s).find((l) => l.tenants === 1), {
        timeoutMs: 10_000,
        what: "the reload of the file written again",
      });
      assert.equal(await publicClientAdmitted(s), false);
      assert.equal(s.child.exitCode, null);
    });

    test("a change made while a reload runs is applied after it", {
      timeout: 180_000,
    }, async (t) => {
      const cert = await testCertificate(t);
      if (cert === null) return;
      const origin = await startOrigin(t, cert, { proxyProtocol: true });
      const dir = await tempDir(t);
      const file = join(dir, "linkgate.yaml");
      writeFileSync(file, policy(origin.port, false));
      const s = spawnServe(t, ["-c", file, "--workers", String(workers)]);
      await serveStarted(s);

      // A large policy that admits the public internet, reloaded by SIGHUP; while it is being
      // compiled, the file changes again and revokes that.
      writeFileSync(file, policy(origin.port, true, FILLERS));
      s.child.kill("SIGHUP");
      await delay(400);
      writeFileSync(file, policy(origin.port, false));
      const large = await waitFor(() => reloadsOk(s).find((l) => l.tenants === FILLERS + 1), {
        timeoutMs: 90_000,
        what: "the reload of the large policy",
      });
      // The revoking edit must follow, whatever happened meanwhile.
      await waitFor(
        () =>
          s.lines
            .slice(s.lines.indexOf(large))
            .find((l) => l.msg === "reload ok" && l.tenants === 1),
        {
          timeoutMs: 10_000,
          what: "a reload of the revoking edit after the large one",
        },
      );
      assert.equal(reloadsOk(s).at(-1)?.tenants, 1, "the last reload is the file's content");
      assert.equal(await publicClientAdmitted(s), false, "the public internet is revoked");
    });
  });
}
