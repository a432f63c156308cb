/**
 * `linkgate serve --engine bun` from Node.js: the same process (same pid, signals, stdout)
 * becomes Bun and serves with the Bun engine: connections, logs, metrics, drain.
 */
import assert from "node:assert/strict";
import { readlinkSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, test } from "node:test";
import { encodeProxyHeaderV2 } from "../../src/proxy-protocol/index.js";
import { connectThrough, startOrigin, testCertificate } from "../helpers/gateway.js";
import { tempDir, waitFor, withTimeout } from "../helpers/programs.js";
import { serveConfigYaml, serveStarted, spawnServe } from "../helpers/serve.js";

const VPCE = "aws:vpce-0123456789abcdef0";

describe("linkgate serve --engine bun", () => {
  test("re-runs itself under Bun, in the same process, and serves", {
    timeout: 60_000,
  }, async (t) => {
    const cert = await testCertificate(t);
    if (cert === null) return;
    const origin = await startOrigin(t, cert, { proxyProtocol: true });
    const dir = await tempDir(t);
    const file = join(dir, "linkgate.yaml");
    writeFileSync(file, serveConfigYaml(origin.port, `        - { link: "${VPCE}" }`));
    const s = spawnServe(t, ["-c", file, "--engine", "bun"]);
    await serveStarted(s);
    const pid = s.child.pid as number;
    assert.match(basename(readlinkSync(`/proc/${pid}/exe`)), /^bun/, "the process runs Bun");
    const started = s.find("started")[0];
    assert.equal(started.pid, pid, "the same process");
    assert.equal(typeof started.bun, "string", "the started line names Bun's version");
    assert.equal(started.v8Flags, undefined, "no V8 flags on Bun");

    const r = await connectThrough({
      host: "127.0.0.1",
      port: s.port("privatelink"),
      preamble: encodeProxyHeaderV2({
        source: { address: "10.1.2.3", port: 1 },
        destination: { address: "10.0.0.1", port: 443 },
        link: VPCE,
        crc32c: true,
      }),
      servername: "megacorp.api.example.com",
    });
    assert.equal(r.ok, true, r.error ?? "");
    assert.equal(r.reply, "hello megacorp ping");
    await waitFor(() => s.find("connection").length === 1, { what: "the connection line" });
    const line = s.find("connection")[0];
    assert.equal(line.decision, "allow");
    assert.equal(line.link, VPCE);
    const metrics = await (await fetch(`http://127.0.0.1:${s.port("admin")}/metrics`)).text();
    assert.ok(
      /linkgate_connections_total\{[^}]*decision="allow"[^}]*\} 1/.test(metrics),
      "the connection is counted",
    );

    s.child.kill("SIGTERM");
    assert.equal(await withTimeout(s.exited, 10_000, "the drain"), 0);
    assert.equal(s.find("stopped").length, 1);
  });
});
