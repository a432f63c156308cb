/**
 * `linkgate serve` as a real process: starts from a file, logs JSON lines, serves /readyz and
 * /metrics, reloads on file change and SIGHUP (an invalid file keeps the old policy), drains on
 * SIGTERM and exits 0, and refuses to start on an invalid file with file:line:column errors.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { describe, test } from "node:test";
import tls from "node:tls";
import { encodeProxyHeaderV2 } from "../../src/proxy-protocol/index.js";
import { connectThrough, startOrigin, testCertificate } from "../helpers/gateway.js";
import { tempDir, waitFor, withTimeout } from "../helpers/programs.js";
import { serveConfigYaml, serveStarted, spawnServe } from "../helpers/serve.js";

const VPCE = "aws:vpce-0123456789abcdef0";
const OTHER = "aws:vpce-0fedcba9876543210";

const yaml = serveConfigYaml;

const pp2 = (link: string) =>
  encodeProxyHeaderV2({
    source: { address: "10.1.2.3", port: 1 },
    destination: { address: "10.0.0.1", port: 443 },
    link,
    crc32c: true,
  });

describe("linkgate serve", () => {
  test("serves, reports, reloads (file and SIGHUP, valid and invalid), drains on SIGTERM", {
    timeout: 60_000,
  }, async (t) => {
    const cert = await testCertificate(t);
    if (cert === null) return;
    const origin = await startOrigin(t, cert, { proxyProtocol: true });
    const dir = await tempDir(t);
    const file = join(dir, "linkgate.yaml");
    writeFileSync(file, yaml(origin.port, `        - { link: "${VPCE}", description: "prod" }`));
    const s = spawnServe(t, ["-c", file]);
    await serveStarted(s);
    const gw = { host: "127.0.0.1", port: s.port("privatelink") };
    const admin = `http://127.0.0.1:${s.port("admin")}`;
    // The V8 flags a serving process sets for itself (src/runtime/v8-heap.ts) are on record;
    // under `bun test` the process runs on Bun, which has none to set.
    assert.deepEqual(
      s.find("started")[0].v8Flags,
      process.versions.bun === undefined ? ["--no-allocation-site-pretenuring"] : undefined,
    );

    assert.equal((await fetch(`${admin}/readyz`)).status, 200);
    assert.equal(
      (await connectThrough({ ...gw, preamble: pp2(VPCE), servername: "megacorp.api.example.com" }))
        .ok,
      true,
    );
    assert.equal(
      (
        await connectThrough({
          ...gw,
          preamble: pp2(OTHER),
          servername: "megacorp.api.example.com",
        })
      ).ok,
      false,
    );
    await waitFor(() => s.lines.filter((l) => l.msg === "connection").length === 2, {
      what: "two connection lines",
    });
    const conns = s.lines.filter((l) => l.msg === "connection");
    const allowed = conns.find((l) => l.decision === "allow");
    const denied = conns.find((l) => l.decision === "deny");
    assert.equal(allowed?.link, VPCE);
    assert.equal(allowed?.ruleDescription, "prod");
    assert.equal(denied?.reason, "POLICY_LINK_NOT_ALLOWED");
    const metrics = await (await fetch(`${admin}/metrics`)).text();
    assert.match(
      metrics,
      /linkgate_connections_total\{listener="privatelink",tenant="megacorp",decision="deny",reason="POLICY_LINK_NOT_ALLOWED"\} 1/,
    );
    // The runtime's heap on both; V8's heap spaces only on Node.js (on Bun they would cost a
    // walk of the whole heap per scrape, for V8's space names with zeros: metrics.ts).
    assert.match(metrics, /^nodejs_heap_size_used_bytes \d+/m);
    if (process.versions.bun === undefined)
      assert.match(metrics, /^nodejs_heap_space_size_used_bytes\{space="old"\} \d+/m);
    else assert.doesNotMatch(metrics, /nodejs_heap_space/);

    // A valid change of the file is picked up by itself.
    writeFileSync(file, yaml(origin.port, `        - { link: "${OTHER}" }`));
    await waitFor(() => s.lines.some((l) => l.msg === "reload ok" && l.source === "file"), {
      timeoutMs: 5000,
      what: "reload ok",
    });
    assert.equal(
      (
        await connectThrough({
          ...gw,
          preamble: pp2(OTHER),
          servername: "megacorp.api.example.com",
        })
      ).ok,
      true,
    );

    // An invalid file is rejected with its errors; the policy in force stays.
    writeFileSync(file, yaml(origin.port, `        - { link: "aws:not-a-vpce" }`));
    await waitFor(() => s.lines.some((l) => l.msg === "reload failed"), {
      timeoutMs: 5000,
      what: "reload failed",
    });
    const failed = s.lines.find((l) => l.msg === "reload failed") as {
      errors: { code: string; message: string }[];
      kept: string;
    };
    assert.equal(failed.kept, "previous policy");
    assert.equal(failed.errors[0].code, "CONFIG_BAD_IDENTITY");
    assert.match(
      failed.errors[0].message,
      /linkgate\.yaml:\d+:\d+: tenants\[0\]\.allow\.rules\[0\]\.link/,
    );
    assert.equal(
      (
        await connectThrough({
          ...gw,
          preamble: pp2(OTHER),
          servername: "megacorp.api.example.com",
        })
      ).ok,
      true,
    );
    assert.match(
      await (await fetch(`${admin}/metrics`)).text(),
      /linkgate_policy_reloads_total\{result="error"\} 1/,
    );

    // SIGHUP reloads too (here a valid file again).
    writeFileSync(file, yaml(origin.port, `        - { link: "${VPCE}" }`));
    s.child.kill("SIGHUP");
    await waitFor(() => s.lines.filter((l) => l.msg === "reload ok").length >= 2, {
      timeoutMs: 5000,
      what: "second reload ok",
    });

    // SIGTERM with a live session: unready, the session gets the grace period, exit 0.
    const raw = net.connect(gw);
    await new Promise((r) => raw.once("connect", r));
    raw.write(pp2(VPCE));
    const session = tls.connect({
      socket: raw,
      servername: "megacorp.api.example.com",
      rejectUnauthorized: false,
    });
    session.on("error", () => {});
    await new Promise((r) => session.once("secureConnect", r));
    s.child.kill("SIGTERM");
    await waitFor(() => s.lines.some((l) => l.msg === "draining"), { what: "draining" });
    assert.equal(await withTimeout(s.exited, 10_000, "exit after the drain"), 0);
    const stopped = s.lines.find((l) => l.msg === "stopped");
    assert.equal(stopped?.forcedConnections, 1);
    const last = s.lines.filter((l) => l.msg === "connection").at(-1);
    assert.equal(last?.closedBy, "CONN_SHUTDOWN");
  });

  test("refuses to start on an invalid file, with file:line:column errors, exit 1", {
    timeout: 30_000,
  }, async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, "bad.yaml");
    writeFileSync(file, yaml(9, `        - { cidr: 10.0.0.1/8 }`, "bogusKey: 1\n"));
    const s = spawnServe(t, ["-c", file]);
    assert.equal(await withTimeout(s.exited, 20_000, "exit"), 1);
    assert.match(
      s.stderr(),
      /bad\.yaml:\d+:\d+: tenants\[0\]\.allow\.rules\[0\]\.cidr: .*10\.0\.0\.0\/8/,
    );
    assert.match(s.stderr(), /bad\.yaml:\d+:\d+: bogusKey: .*\[CONFIG_UNKNOWN_KEY\]/);
    assert.equal(s.lines.length, 0, "nothing started");
  });

  test("a listener that cannot bind stops the start, exit 1", { timeout: 30_000 }, async (t) => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    t.after(() => new Promise<void>((r) => blocker.close(() => r())));
    const port = (blocker.address() as net.AddressInfo).port;
    const dir = await tempDir(t);
    const file = join(dir, "linkgate.yaml");
    writeFileSync(
      file,
      yaml(9, `        - { link: "${VPCE}" }`).replace(
        "bind: 127.0.0.1:0\n    proxyProtocol",
        `bind: 127.0.0.1:${port}\n    proxyProtocol`,
      ),
    );
    const s = spawnServe(t, ["-c", file]);
    assert.equal(await withTimeout(s.exited, 20_000, "exit"), 1);
    assert.match(s.stderr(), new RegExp(`cannot bind 127\\.0\\.0\\.1:${port}`));
  });
});
