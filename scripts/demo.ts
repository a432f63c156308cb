/**
 * `npm start`: linkgate's first ten minutes, on one machine.
 *
 * Starts linkgate on its embedded SQLite store (.demo/) with the REST API and the tenant console,
 * the demo upstream (the seed's email-sending API, behind linkgate/backend), and traffic the way
 * the three clouds' load balancers would send it: AWS, Azure and GCP endpoint identities, public
 * clients, an endpoint nobody allowed yet, and an attacker forging a PROXY header from a peer
 * that is not the load balancer. It prints the console's address and tokens, then one short
 * line per connection. Ctrl-C stops everything.
 *
 *   npm start                  everything
 *   npm start -- --no-traffic  no simulated traffic (send your own: README, "Try it")
 *
 * Ports: 8443 (Private Link listener), 8444 (public listener), 9090 (API, console, /metrics),
 * 9443 (the demo upstream), all on 127.0.0.1.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import tls from "node:tls";
import { fileURLToPath } from "node:url";
import { encodeProxyHeaderV2 } from "../src/proxy-protocol/index.js";
import { LinkgateRuntime } from "../src/runtime/linkgate.js";
import { startDemoOrigin } from "./demo-origin.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** Where the store, the configuration and the admin token live (tests use their own). */
const DIR = process.env.LINKGATE_DEMO_DIR ?? join(ROOT, ".demo");
const PATTERNS = ["{tenant}.api.example.com", "{tenant}.privatelink.example.com"];
const API = "http://127.0.0.1:9090";
const traffic = !process.argv.includes("--no-traffic");

const CONFIG = `# Written by npm start (scripts/demo.ts). Every key is described in docs/config.md.
listeners:
  # Behind the Private Link load balancer: a PROXY header is required, from it only.
  - { name: privatelink, bind: 127.0.0.1:8443, proxyProtocol: required, trustedProxies: [127.0.0.1/32] }
  # The public listener: a PROXY header is forbidden here.
  - { name: public, bind: 127.0.0.1:8444, proxyProtocol: none }
routing:
  hostPatterns: ${JSON.stringify(PATTERNS)}
  upstream: 127.0.0.1:9443
  upstreamProxyProtocol: v2
store: { type: sqlite, path: ./linkgate.db }
api: { bind: 127.0.0.1:9090 }
log: { level: info }
tenants:
  # A tenant of the configuration file: read-only over the API. No allow list yet: open.
  - id: globex
`;

// --------------------------------------------------------------------------------------------
// linkgate

mkdirSync(DIR, { recursive: true });
const configFile = join(DIR, "linkgate.yaml");
writeFileSync(configFile, CONFIG);
const tokenFile = join(DIR, "admin-token");
if (!existsSync(tokenFile))
  writeFileSync(tokenFile, `${randomBytes(32).toString("base64url")}\n`, { mode: 0o600 });
const adminToken = readFileSync(tokenFile, "utf8").trim();
process.env.LINKGATE_ADMIN_TOKEN = adminToken;

const clock = () => new Date().toISOString().slice(11, 19);
const say = (line: string) => process.stdout.write(`${line}\n`);

/** One short line per connection instead of the JSON (which docs/observability.md describes). */
function showLogLine(text: string): void {
  let l: Record<string, unknown>;
  try {
    l = JSON.parse(text);
  } catch {
    return;
  }
  if (l.msg === "connection") {
    // A drop happens before the header is read: the TCP peer is all there is to show.
    const who =
      (l.link as string | null) ??
      (l.decision === "drop"
        ? `peer ${l.peerAddress}`
        : `public ${l.proxySrcAddress ?? l.peerAddress}`);
    const rule =
      l.ruleDescription === null || l.ruleDescription === undefined
        ? ""
        : ` (${l.ruleDescription})`;
    const cut = l.closedBy === null ? "" : `, then ${l.closedBy}`;
    say(
      `  ${clock()}  ${String(l.decision).padEnd(12)} ${String(l.tenant ?? "-").padEnd(9)} ${who.padEnd(28)} ${l.reason}${rule}${cut}`,
    );
  } else if (l.level === "warn" || l.level === "error" || l.level === "fatal") {
    say(
      `  ${clock()}  ${l.level}: ${l.msg}${l.err ? ` (${(l.err as { message?: string }).message})` : ""}`,
    );
  }
}

let runtime: LinkgateRuntime;
try {
  runtime = await LinkgateRuntime.start({
    configFile,
    version: "demo",
    watchFile: false,
    logDestination: { write: showLogLine } as never,
  });
} catch (error) {
  const e = error as NodeJS.ErrnoException;
  process.stderr.write(
    `npm start: linkgate could not start: ${e.message}\n(another demo still running? ports 8443, 8444, 9090 and 9443 must be free)\n`,
  );
  process.exit(1);
}
const origin = await startDemoOrigin({
  host: "127.0.0.1",
  port: 9443,
  linkgate: ["127.0.0.1/32"],
  hostPatterns: PATTERNS,
  log: () => {}, // the linkgate lines say it all; `npm run demo:origin` alone shows these
});

async function api(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: { token?: string } | null }> {
  const res = await fetch(`${API}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${adminToken}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return {
    status: res.status,
    json: (await res.json().catch(() => null)) as { token?: string } | null,
  };
}

// Two API tenants (editable in the console), created on the first run.
if ((await api("GET", "/v1/tenants/megacorp")).status === 404) {
  await api("POST", "/v1/tenants", {
    id: "megacorp",
    enforcement: "enforce",
    allow: {
      publicInternet: false,
      rules: [
        { link: "aws:vpce-0123456789abcdef0", description: "prod VPC" },
        { link: "gcp:18446744072646845442", description: "analytics project" },
        { link: "azure:553665985", cidr: "10.1.0.0/16", description: "Azure VNet, app subnet" },
      ],
    },
  });
  await api("POST", "/v1/tenants", {
    id: "initech",
    enforcement: "report-only",
    allow: {
      publicInternet: false,
      rules: [{ link: "aws:vpce-0fedcba9876543210", description: "staging VPC" }],
    },
  });
}
const megacorpToken = (await api("POST", "/v1/tenants/megacorp/tokens", { label: "npm start" }))
  .json?.token;

say(`
linkgate demo (Ctrl-C stops it)

  Console:          ${API}/console/
  Tenant megacorp:  ${megacorpToken}
  Admin token:      ${adminToken}   (also in .demo/admin-token)

  Listeners: privatelink 127.0.0.1:8443 (PROXY v2 from 127.0.0.1 only), public 127.0.0.1:8444
  Upstream:  the demo email API on 127.0.0.1:9443, behind linkgate/backend
  Metrics:   ${API}/metrics     API: ${API}/openapi.json     Store: .demo/linkgate.db
${traffic ? "\n  Simulated traffic, one line per connection: time, decision, tenant, identity, reason\n" : ""}`);

// --------------------------------------------------------------------------------------------
// Traffic, as the clouds' load balancers would send it

interface Scenario {
  listener: 8443 | 8444;
  host: string;
  link?: string;
  source?: string;
  /** Connect from this address: 127.0.0.1 is the "load balancer", anything else is not. */
  from?: string;
}

const SCENARIOS: Scenario[] = [
  { listener: 8443, host: "megacorp.privatelink.example.com", link: "aws:vpce-0123456789abcdef0" },
  { listener: 8443, host: "megacorp.privatelink.example.com", link: "gcp:18446744072646845442" },
  {
    listener: 8443,
    host: "megacorp.privatelink.example.com",
    link: "azure:553665985",
    source: "10.1.2.3",
  },
  // An endpoint megacorp has not allowed: denied, and in its observed feed ("allow this endpoint").
  { listener: 8443, host: "megacorp.privatelink.example.com", link: "aws:vpce-0aa11bb22cc33dd44" },
  { listener: 8443, host: "initech.privatelink.example.com", link: "aws:vpce-0fedcba9876543210" },
  // initech rehearses in report-only mode: what it would deny goes through, marked would-deny.
  { listener: 8443, host: "initech.privatelink.example.com", link: "azure:1234567" },
  { listener: 8444, host: "globex.api.example.com" },
  { listener: 8444, host: "megacorp.api.example.com" },
  // A forged PROXY header from a peer that is not the load balancer: dropped before anything.
  {
    listener: 8443,
    host: "megacorp.privatelink.example.com",
    link: "aws:vpce-0123456789abcdef0",
    from: "127.0.0.66",
  },
];

/** One connection: PROXY v2 (on 8443), TLS with the SNI, one API request, then close. */
function send(s: Scenario): Promise<void> {
  return new Promise((resolve) => {
    const raw = net.connect({ host: "127.0.0.1", port: s.listener, localAddress: s.from });
    const done = () => {
      clearTimeout(timer);
      raw.destroy();
      resolve();
    };
    const timer = setTimeout(done, 5000);
    raw.on("error", done);
    raw.once("connect", () => {
      if (s.listener === 8443) {
        raw.write(
          encodeProxyHeaderV2({
            source: {
              address: s.source ?? "198.51.100.10",
              port: 40000 + Math.floor(Math.random() * 20000),
            },
            destination: { address: "10.0.0.10", port: 443 },
            ...(s.link === undefined ? {} : { link: s.link }),
            crc32c: true,
          }),
        );
      }
      const secure = tls.connect({ socket: raw, servername: s.host, rejectUnauthorized: false });
      secure.on("error", done);
      secure.on("close", done);
      secure.once("secureConnect", () => {
        const body = JSON.stringify({ to: "cecilia@example.com", subject: "foo", body: "bar" });
        secure.end(
          `POST /v1/send HTTP/1.1\r\nhost: ${s.host}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
        );
        secure.resume();
      });
    });
  });
}

let next = 0;
const trafficTimer = traffic
  ? setInterval(() => void send(SCENARIOS[next++ % SCENARIOS.length]), 1500)
  : null;

// --------------------------------------------------------------------------------------------

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) process.exit(1);
  stopping = true;
  if (trafficTimer !== null) clearInterval(trafficTimer);
  say("\n  stopping (the store keeps the tenants and rules for the next npm start)");
  await runtime.stop("SIGINT");
  await origin.close();
  process.exit(0);
}
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
