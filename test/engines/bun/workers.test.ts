/**
 * `linkgate serve --workers 2` on Bun: each worker binds the listener's port itself with
 * SO_REUSEPORT (Bun has no node:cluster handle passing for its own listeners), and the kernel
 * spreads connections over both. A fixed port: with port 0 each worker would get its own.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { encodeProxyHeaderV2 } from "../../../src/proxy-protocol/index.js";
import { connectThrough, startOrigin, testCertificate } from "../../helpers/gateway.js";
import { freePort, tempDir, waitFor } from "../../helpers/programs.js";
import { serveConfigYaml, serveStarted, spawnServe } from "../../helpers/serve.js";

const VPCE = "aws:vpce-0123456789abcdef0";

describe("linkgate serve --workers 2 on Bun", () => {
  test("both workers accept on the one port (reusePort)", { timeout: 60_000 }, async (t) => {
    const cert = await testCertificate(t);
    if (cert === null) return;
    const origin = await startOrigin(t, cert, { proxyProtocol: true });
    const port = await freePort("127.0.0.1");
    const dir = await tempDir(t);
    const file = join(dir, "linkgate.yaml");
    writeFileSync(
      file,
      serveConfigYaml(origin.port, `        - { link: "${VPCE}" }`).replace(
        "bind: 127.0.0.1:0\n    proxyProtocol: required",
        `bind: 127.0.0.1:${port}\n    proxyProtocol: required`,
      ),
    );
    const s = spawnServe(t, ["-c", file, "--workers", "2", "--no-watch"]);
    await serveStarted(s);
    assert.equal(s.port("privatelink"), port);
    const preamble = encodeProxyHeaderV2({
      source: { address: "10.1.2.3", port: 1 },
      destination: { address: "10.0.0.1", port: 443 },
      link: VPCE,
      crc32c: true,
    });
    const n = 120;
    const results = [];
    for (let i = 0; i < n; i += 20) {
      results.push(
        ...(await Promise.all(
          Array.from({ length: 20 }, () =>
            connectThrough({
              host: "127.0.0.1",
              port,
              preamble,
              servername: "megacorp.api.example.com",
            }),
          ),
        )),
      );
    }
    assert.equal(results.filter((r) => r.ok).length, n);
    await waitFor(() => s.find("connection").length === n, { what: `${n} connection lines` });
    const perWorker = new Map<unknown, number>();
    for (const line of s.find("connection")) {
      perWorker.set(line.pid, (perWorker.get(line.pid) ?? 0) + 1);
    }
    assert.equal(perWorker.size, 2, `served by ${[...perWorker.values()].join(", ")}`);
    for (const count of perWorker.values())
      assert.ok(count >= n / 10, `per worker: ${[...perWorker.values()]}`);
  });
});
