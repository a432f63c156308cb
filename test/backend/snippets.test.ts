/**
 * The nginx and HAProxy snippets of examples/backends/, run as written (only the addresses,
 * the certificate and the application are replaced) behind the real linkgate data plane, in
 * front of a small application that reports what reached it.
 *
 * The snippets for newer versions (HAProxy >= 2.9 with fc_pp_tlv, nginx >= 1.23.2 with
 * $proxy_protocol_tlv_*) cannot run on Debian 12's HAProxy 2.6 and nginx 1.22. There the test
 * checks that the only thing those versions reject is the TLV fetch, then runs the rest of the
 * logic with the tenant and AUTHORITY values taken from request headers instead of the PROXY
 * header: the maps, patterns and comparisons are exercised for real, the TLV fetch is not.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import http from "node:http";
import type net from "node:net";
import { join } from "node:path";
import { describe, type TestContext, test } from "node:test";
import { encodeProxyHeaderV2 } from "../../src/proxy-protocol/index.js";
import { config, listener, tenant } from "../helpers/config.js";
import { startGateway, testCertificate } from "../helpers/gateway.js";
import {
  type Certificate,
  freePort,
  HAPROXY_TEST_PREAMBLE,
  requireProgram,
  run,
  startHaproxy,
  tempDir,
  waitFor,
  waitForListening,
} from "../helpers/programs.js";
import {
  get,
  h2Get,
  h2Session,
  linkgateHeader,
  statusesOf,
  statusOf,
  tlsExchange,
} from "./helpers.js";

const MEGACORP = "megacorp.api.example.com";
const INITECH = "initech.api.example.com";
const VPCE = "aws:vpce-0123456789abcdef0";
const TIMEOUT = { timeout: 60_000 };

function snippet(path: string): string {
  return readFileSync(new URL(`../../examples/backends/${path}`, import.meta.url), "utf8");
}

const HOSTNAMES_MAP = new URL(
  "../../examples/backends/haproxy/linkgate-hostnames.map",
  import.meta.url,
).pathname;

/** Replaces each `from` (which must occur) with its `to`. */
function fill(text: string, replacements: Record<string, string>): string {
  let out = text;
  for (const [from, to] of Object.entries(replacements)) {
    assert.ok(out.includes(from), `the snippet has ${from}`);
    out = out.replaceAll(from, to);
  }
  return out;
}

/** "2.6.12-1+deb12u3" -> [2, 6, 12]; compares as a version. */
function version(text: string): number[] {
  return (/(\d+)\.(\d+)\.(\d+)/.exec(text) ?? ["", "0", "0", "0"]).slice(1).map(Number);
}

function atLeast(v: number[], min: number[]): boolean {
  for (let i = 0; i < min.length; i++) if (v[i] !== min[i]) return v[i] > min[i];
  return true;
}

interface AppRequest {
  host: string;
  forwardedFor: string | null;
}

/** The application behind the proxy: records each request, answers 200. */
async function startApp(t: TestContext): Promise<{ port: number; requests: AppRequest[] }> {
  const requests: AppRequest[] = [];
  const server = http.createServer((req, res) => {
    requests.push({
      host: String(req.headers.host),
      forwardedFor: (req.headers["x-forwarded-for"] as string | undefined) ?? null,
    });
    res.end("app\n");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { port: (server.address() as net.AddressInfo).port, requests };
}

/** linkgate on loopback, forwarding to `upstream`; megacorp admits loopback, initech its VPCE. */
async function startLinkgate(t: TestContext, upstream: { host: string; port: number }) {
  const base = config({
    listeners: [
      listener({ name: "privatelink", trustedProxies: ["127.0.0.1/32"] }),
      listener({ name: "public", proxyProtocol: "none", trustedProxies: [] }),
    ],
    tenants: [
      tenant("megacorp", {
        allow: { rules: [{ cidr: "127.0.0.0/8" }, { link: VPCE }] },
      }),
      tenant("initech", { allow: { rules: [{ link: VPCE }] } }),
    ],
  });
  const gw = await startGateway(t, { ...base, routing: { ...base.routing, upstream } });
  return { publicPort: gw.address("public").port, privatePort: gw.address("privatelink").port };
}

/** A request with extra header lines. */
function request(host: string, extra: Record<string, string> = {}): string {
  const lines = Object.entries(extra).map(([k, v]) => `${k}: ${v}\r\n`);
  return `GET / HTTP/1.1\r\nHost: ${host}\r\n${lines.join("")}Connection: close\r\n\r\n`;
}

describe("HAProxy snippets", () => {
  test("2.6: linkgate -> HAProxy -> app; another tenant's host gets 421", TIMEOUT, async (t) => {
    if (!requireProgram(t, "haproxy", "haproxy")) return;
    const cert = await testCertificate(t);
    if (cert === null) return;
    const app = await startApp(t);
    const port = await freePort("127.0.0.81");
    await startHaproxy(
      t,
      HAPROXY_TEST_PREAMBLE +
        fill(snippet("haproxy/linkgate-backend-2.6.cfg"), {
          "0.0.0.0:8443": `127.0.0.81:${port}`,
          "/etc/haproxy/certs/api.example.com.pem": cert.pemPath,
          "10.0.9.0/24": "127.0.0.1/32",
          "127.0.0.1:8080": `127.0.0.1:${app.port}`,
        }),
    );
    const lg = await startLinkgate(t, { host: "127.0.0.81", port });

    // HTTP/1.1 on one connection: the tenant's host, then another tenant's.
    const out = await tlsExchange(lg.publicPort, null, MEGACORP, [
      get(MEGACORP),
      get(INITECH, "/", true),
    ]);
    assert.deepEqual(statusesOf(out), [200, 421], out);
    assert.deepEqual(app.requests, [{ host: MEGACORP, forwardedFor: "127.0.0.1" }]);

    // HTTP/2: a request coalesced onto megacorp's connection.
    const session = await h2Session(t, lg.publicPort, null, MEGACORP);
    assert.equal((await h2Get(session, MEGACORP)).status, 200);
    assert.equal((await h2Get(session, INITECH)).status, 421);
    session.close();

    // Through a Private Link endpoint with a long name: HAProxy reads the long header.
    const lb = encodeProxyHeaderV2({
      source: { address: "172.31.7.113", port: 51442 },
      destination: { address: "172.31.10.31", port: 443 },
      link: VPCE,
      crc32c: true,
    });
    const pl = "initech.privatelink.example.com";
    const viaLink = await tlsExchange(lg.privatePort, lb, pl, [get(pl), get(MEGACORP, "/", true)]);
    assert.deepEqual(statusesOf(viaLink), [200, 421], viaLink);
    assert.equal(app.requests.at(-1)?.forwardedFor, "172.31.7.113");

    // Straight to HAProxy from a trusted address, with a header whose AUTHORITY is not the SNI.
    const served = app.requests.length;
    const crossed = linkgateHeader({ tenant: "initech", authority: INITECH });
    const sni = await tlsExchange(
      port,
      crossed,
      MEGACORP,
      [get(MEGACORP, "/", true)],
      "127.0.0.81",
    );
    assert.equal(statusOf(sni), 421, sni);
    assert.equal(app.requests.length, served, "the application never saw it");
  });

  test("2.9: the tenant TLV bound to the host's tenant", TIMEOUT, async (t) => {
    if (!requireProgram(t, "haproxy", "haproxy")) return;
    const cert = await testCertificate(t);
    if (cert === null) return;
    const app = await startApp(t);
    const port = await freePort("127.0.0.82");
    let config = fill(snippet("haproxy/linkgate-backend-2.9.cfg"), {
      "0.0.0.0:8443": `127.0.0.82:${port}`,
      "/etc/haproxy/certs/api.example.com.pem": cert.pemPath,
      "/etc/haproxy/linkgate-hostnames.map": HOSTNAMES_MAP,
      "10.0.9.0/24": "127.0.0.1/32",
      "127.0.0.1:8080": `127.0.0.1:${app.port}`,
    });
    const haproxy = version((await run("haproxy", ["-v"])).stdout);
    if (!atLeast(haproxy, [2, 9, 0])) {
      // The only thing this HAProxy rejects is fc_pp_tlv; the rest runs with the tenant read
      // from a request header instead.
      const dir = await tempDir(t);
      const file = join(dir, "haproxy.cfg");
      await writeFile(file, HAPROXY_TEST_PREAMBLE + config);
      await assert.rejects(run("haproxy", ["-c", "-f", file]), /unknown fetch method 'fc_pp_tlv'/);
      config = fill(config, { "fc_pp_tlv(0xE4)": "req.hdr(x-test-tenant-tlv)" });
    }
    await startHaproxy(t, HAPROXY_TEST_PREAMBLE + config);
    const ask = async (tenantId: string | null, sni: string, host: string) => {
      const header = linkgateHeader({ tenant: tenantId, authority: sni });
      const extra: Record<string, string> =
        tenantId === null ? {} : { "X-Test-Tenant-Tlv": tenantId };
      return statusOf(await tlsExchange(port, header, sni, [request(host, extra)], "127.0.0.82"));
    };
    assert.equal(await ask("megacorp", MEGACORP, MEGACORP), 200);
    assert.equal(await ask("megacorp", MEGACORP, "MegaCorp.api.example.com:443"), 200);
    assert.equal(await ask("megacorp", MEGACORP, "megacorp.privatelink.example.com"), 200);
    assert.equal(await ask("megacorp", MEGACORP, "api.megacorp.com"), 200, "from the map file");
    assert.equal(await ask("megacorp", MEGACORP, INITECH), 421);
    assert.equal(await ask("megacorp", MEGACORP, "x.megacorp.api.example.com"), 421);
    assert.equal(await ask("initech", INITECH, MEGACORP), 421);
    assert.equal(await ask(null, MEGACORP, MEGACORP), 421, "no tenant: the fallback upstream");
    assert.equal(app.requests.length, 4);
  });
});

// ---------------------------------------------------------------------------------------------
// nginx

/** nginx in the foreground with `httpBlock` inside http { }; stopped when the test ends. */
async function startNginx(
  t: TestContext,
  httpBlock: string,
  listen: { host: string; port: number },
) {
  const dir = await tempDir(t, "linkgate-nginx-");
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
    .map((n) => `  ${n}_temp_path ${join(dir, n)};`)
    .join("\n");
  const file = join(dir, "nginx.conf");
  await writeFile(
    file,
    `daemon off;
master_process off;
pid ${join(dir, "nginx.pid")};
error_log stderr notice;
events { worker_connections 64; }
http {
  access_log off;
${temp}
${httpBlock}
}
`,
  );
  await run("nginx", ["-t", "-p", dir, "-c", file]);
  let output = "";
  const child: ChildProcess = spawn("nginx", ["-p", dir, "-c", file], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stderr?.setEncoding("utf8").on("data", (s: string) => {
    output += s;
  });
  const exited = new Promise<void>((r) => child.once("close", () => r()));
  t.after(async () => {
    child.kill("SIGTERM");
    const killer = setTimeout(() => child.kill("SIGKILL"), 2000);
    await exited;
    clearTimeout(killer);
  });
  // Promise.race observes the exit even after nginx listens: stopping it later is no rejection.
  await Promise.race([
    waitForListening(listen.host, listen.port, { pid: child.pid, timeoutMs: 10_000 }),
    exited.then(() => {
      throw new Error(`nginx exited:\n${output}`);
    }),
  ]);
  return { logs: () => output };
}

/** Whether nginx is installed (.ci/run installs it; in CI a missing nginx fails the test). */
function haveNginx(t: TestContext): boolean {
  return requireProgram(t, "nginx", "nginx-light");
}

function nginxSnippet(name: string, cert: Certificate, listen: string, app: number): string {
  return fill(snippet(`nginx/${name}`), {
    "listen 8443": `listen ${listen}`,
    "/etc/nginx/certs/api.example.com.crt": cert.certPath,
    "/etc/nginx/certs/api.example.com.key": cert.keyPath,
    "allow 10.0.9.0/24": "allow 127.0.0.1",
    "127.0.0.1:8080": `127.0.0.1:${app}`,
  });
}

describe("nginx snippets", () => {
  test("1.22: linkgate -> nginx -> app; another tenant's host gets 421", TIMEOUT, async (t) => {
    if (!haveNginx(t)) return;
    const cert = await testCertificate(t);
    if (cert === null) return;
    const nginx = version((await run("nginx", ["-v"])).stderr);
    const app = await startApp(t);
    const port = await freePort("127.0.0.83");
    const server = await startNginx(
      t,
      nginxSnippet("linkgate-backend-1.22.conf", cert, `127.0.0.83:${port}`, app.port),
      { host: "127.0.0.83", port },
    );
    const lg = await startLinkgate(t, { host: "127.0.0.83", port });

    const out = await tlsExchange(lg.publicPort, null, MEGACORP, [
      get(MEGACORP),
      get(INITECH, "/", true),
    ]);
    assert.deepEqual(statusesOf(out), [200, 421], out);
    assert.deepEqual(app.requests, [{ host: MEGACORP, forwardedFor: "127.0.0.1" }]);

    const session = await h2Session(t, lg.publicPort, null, MEGACORP);
    assert.equal((await h2Get(session, MEGACORP)).status, 200);
    assert.equal((await h2Get(session, INITECH)).status, 421);
    session.close();

    // A Private Link connection from an IPv6 client: linkgate's header (IPv6 addresses, the
    // identity TLV, AUTHORITY, tenant, CRC32C: 131 bytes) is longer than the 107 bytes nginx
    // reads before 1.23.3.
    const lb = encodeProxyHeaderV2({
      source: { address: "2001:db8::7", port: 51442 },
      destination: { address: "2001:db8::1", port: 443 },
      link: VPCE,
      crc32c: true,
    });
    const pl = "megacorp.privatelink.example.com";
    const long = tlsExchange(lg.privatePort, lb, pl, [get(pl, "/", true)]);
    if (atLeast(nginx, [1, 23, 3])) assert.equal(statusOf(await long), 200);
    else {
      await assert.rejects(long, /socket disconnected|ECONNRESET|timed out/);
      await waitFor(() => /header is too large while reading PROXY protocol/.test(server.logs()));
    }
  });

  test(
    "1.23.2: the tenant TLV bound to the host's tenant, the SNI to AUTHORITY",
    TIMEOUT,
    async (t) => {
      if (!haveNginx(t)) return;
      const cert = await testCertificate(t);
      if (cert === null) return;
      const app = await startApp(t);
      const port = await freePort("127.0.0.84");
      let block = nginxSnippet("linkgate-backend.conf", cert, `127.0.0.84:${port}`, app.port);
      const nginx = version((await run("nginx", ["-v"])).stderr);
      if (!atLeast(nginx, [1, 23, 2])) {
        // The only thing this nginx rejects is the TLV variables; the rest runs with the values
        // read from request headers instead.
        await assert.rejects(
          startNginx(t, block, { host: "127.0.0.84", port }),
          /unknown "proxy_protocol_tlv_0xe4" variable/,
        );
        block = block
          .replaceAll("$proxy_protocol_tlv_0xe4", "$http_x_test_tenant_tlv")
          .replaceAll("$proxy_protocol_tlv_authority", "$http_x_test_authority_tlv");
      }
      await startNginx(t, block, { host: "127.0.0.84", port });
      const ask = async (tenantId: string | null, authority: string, sni: string, host: string) => {
        // Short headers (no identity, no AUTHORITY when testing an old nginx): under 107 bytes.
        const header = linkgateHeader({
          tenant: tenantId,
          authority: atLeast(nginx, [1, 23, 2]) ? authority : null,
        });
        const extra: Record<string, string> = { "X-Test-Authority-Tlv": authority };
        if (tenantId !== null) extra["X-Test-Tenant-Tlv"] = tenantId;
        return statusOf(await tlsExchange(port, header, sni, [request(host, extra)], "127.0.0.84"));
      };
      assert.equal(await ask("megacorp", MEGACORP, MEGACORP, MEGACORP), 200);
      assert.equal(await ask("megacorp", MEGACORP, MEGACORP, "MegaCorp.api.example.com:443"), 200);
      assert.equal(
        await ask("megacorp", MEGACORP, MEGACORP, "megacorp.privatelink.example.com"),
        200,
      );
      assert.equal(await ask("megacorp", MEGACORP, MEGACORP, "api.megacorp.com"), 200);
      assert.equal(await ask("megacorp", MEGACORP, MEGACORP, INITECH), 421);
      assert.equal(await ask("megacorp", MEGACORP, MEGACORP, "x.megacorp.api.example.com"), 421);
      assert.equal(await ask("megacorp", MEGACORP, INITECH, MEGACORP), 421, "SNI is not AUTHORITY");
      assert.equal(await ask(null, MEGACORP, MEGACORP, MEGACORP), 421, "no tenant");
      assert.equal(app.requests.length, 4);
    },
  );
});
