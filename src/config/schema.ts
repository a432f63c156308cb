/**
 * The configuration file's schema (TypeBox, i.e. JSON Schema): one source for validation,
 * docs/config.md (scripts/gen-config-docs.ts) and, later, the REST API, which reuses the tenant
 * and rule schemas. It describes the file as written (durations as "5s", addresses as
 * "host:port"); src/config/resolve.ts turns a valid file into the LinkgateConfig of types.ts.
 *
 * Two vendor annotations (OpenAPI allows "x-" keys) are read by this package and ignored by any
 * other JSON Schema tool:
 * - `x-type`: the type shown in the docs ("duration", "host:port", "CIDR", ...);
 * - `x-expected`: what the value must be, used in error messages ("must be <x-expected>").
 *
 * What JSON Schema cannot say (CIDR host bits, identities, duplicates, host pattern shape,
 * duration bounds, ...) is checked by src/config/semantic.ts; the descriptions say so.
 */
import Type from "typebox";
import { DURATION_PATTERN, formatDurationMs } from "./duration.js";

/** Defaults applied when a key is absent: shown in the docs, applied by resolve.ts. */
export const DEFAULTS = {
  listener: {
    mode: "tls-passthrough",
    headerTimeout: "5s",
    idleTimeout: "1h",
    finTimeout: "30s",
    tcpKeepAlive: "60s",
    requireCrc32c: false,
    maxProxyHeaderBytes: 4096,
    maxClientHelloBytes: 16384,
  },
  routing: {
    upstreamProxyProtocol: "v2",
    connectTimeout: "5s",
  },
  tenant: {
    enforcement: "enforce",
  },
  allow: {
    publicInternet: false,
  },
  log: { level: "info", deniedLinesPerSecond: 100 },
  shutdown: { drainTimeout: "30s" },
  limits: { maxRulesPerTenant: 1000, maxApiBodyBytes: 1_048_576 },
  revocation: "close",
  metrics: { perTenantLabels: true },
  postgres: { poolSize: 10, connectTimeout: "5s", checkInterval: "1s" },
} as const;

/** Bounds of each duration, in milliseconds (inclusive). */
export const DURATION_BOUNDS = {
  headerTimeout: { min: 100, max: 300_000 },
  idleTimeout: { min: 1000, max: 7 * 86_400_000 },
  finTimeout: { min: 100, max: 3_600_000 },
  tcpKeepAlive: { min: 0, max: 7_200_000 },
  maxConnectionLifetime: { min: 1000, max: 30 * 86_400_000 },
  connectTimeout: { min: 100, max: 120_000 },
  drainTimeout: { min: 0, max: 3_600_000 },
  checkInterval: { min: 100, max: 60_000 },
} as const;

export type DurationKey = keyof typeof DURATION_BOUNDS;

/** Strict integer bounds (also in the schema). */
export const LIMITS = {
  maxConnections: { min: 1, max: 10_000_000 },
  /** The v2 fixed header is 16 bytes; the largest header is 16 + 65535. */
  maxProxyHeaderBytes: { min: 16, max: 65_551 },
  /** As the ClientHello decoder (src/tls/options.ts). */
  maxClientHelloBytes: { min: 64, max: 262_144 },
  maxRulesPerTenant: { min: 1, max: 1_000_000 },
  /** A rule list at the default cap is about 200 KB of JSON; 64 MiB is a generous ceiling. */
  maxApiBodyBytes: { min: 1024, max: 67_108_864 },
  poolSize: { min: 1, max: 1000 },
} as const;

export const NAME_PATTERN = "^[a-z0-9-]{1,63}$";

const HOST_PORT_EXPECTED =
  'a string "host:port" (IPv6 in brackets and quoted in YAML: "[::1]:8443")';

function Duration(
  key: DurationKey,
  description: string,
  def: string | undefined,
  examples: unknown[],
) {
  const { min, max } = DURATION_BOUNDS[key];
  return Type.Union(
    [
      Type.Integer({ minimum: 0, description: "milliseconds" }),
      Type.String({ pattern: DURATION_PATTERN, description: "a number and a unit: ms, s, m, h" }),
    ],
    {
      description: `${description} From ${formatDurationMs(min)} to ${formatDurationMs(max)}.`,
      ...(def === undefined ? {} : { default: def }),
      examples,
      "x-type": "duration",
      "x-expected":
        'a duration: a whole number with a unit ("250ms", "5s", "1m", "1h") or an integer number of milliseconds',
    },
  );
}

function HostPort(description: string, examples: string[], hostKind: "ip" | "ip-or-dns") {
  return Type.String({
    minLength: 1,
    description,
    examples,
    "x-type": hostKind === "ip" ? "IP:port" : "host:port",
    "x-expected": HOST_PORT_EXPECTED,
  });
}

const CidrString = (description: string, examples: string[]) =>
  Type.String({
    minLength: 1,
    description,
    examples,
    "x-type": "CIDR",
    "x-expected": 'a CIDR such as "10.0.0.0/8" or "2001:db8::/32"',
  });

// ---------------------------------------------------------------------------------------------
// Tenants and their rules (reused by the REST API)

export const RuleSchema = Type.Object(
  {
    link: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'A Private Link identity: "aws:vpce-<id>" (AWS VPC endpoint ID), "azure:<uint32>" (Azure private endpoint LINKID) or "gcp:<uint64>" (GCP PSC connection ID), in lower case and without leading zeros. Admits connections that came through that endpoint.',
        examples: ["aws:vpce-0123456789abcdef0", "azure:553665985", "gcp:18446744072646845442"],
        "x-type": "identity",
        "x-expected": 'an identity "aws:vpce-…", "azure:<uint32>" or "gcp:<uint64>"',
      }),
    ),
    cidr: Type.Optional(
      CidrString(
        "An IPv4 or IPv6 network; host bits must be zero. Alone, it admits public (non-Private Link) connections from that range: a cidr-only rule never admits Private Link traffic, since consumer source addresses overlap across customers. With `link`, it narrows that link to the sources in the range.",
        ["203.0.113.0/24", "10.1.0.0/16", "2001:db8::/32"],
      ),
    ),
    description: Type.Optional(
      Type.String({
        maxLength: 1024,
        description: "Free text for people: which VPC, office or customer system this is.",
        examples: ["prod VPC", "office"],
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      "One allow rule: `link`, `cidr`, or both (then the link is admitted only from that range). A rule with neither is an error.",
    examples: [
      { link: "aws:vpce-0123456789abcdef0", description: "prod VPC" },
      { cidr: "203.0.113.0/24", description: "office" },
      { link: "azure:553665985", cidr: "10.1.0.0/16" },
    ],
  },
);

export const AllowSchema = Type.Object(
  {
    publicInternet: Type.Optional(
      Type.Boolean({
        default: DEFAULTS.allow.publicInternet,
        description:
          "Admit connections without a Private Link identity (the public listener) from any source address.",
        examples: [false],
      }),
    ),
    rules: Type.Optional(
      Type.Array(RuleSchema, {
        default: [],
        description:
          "The allow list. A connection is admitted if one rule admits it. Duplicate rules are an error.",
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      "The tenant's allow list. Absent: no restriction configured (every connection is allowed). Present: only what it admits is allowed; `allow: {}` denies everything.",
  },
);

export const TenantSchema = Type.Object(
  {
    id: Type.String({
      pattern: NAME_PATTERN,
      description:
        "The tenant id: 1 to 63 lower-case letters, digits and hyphens, not starting or ending with a hyphen. It is the `{tenant}` label of the host patterns. Unique.",
      examples: ["megacorp"],
      "x-expected": "a string of 1 to 63 lower-case letters, digits or hyphens ([a-z0-9-]{1,63})",
    }),
    hostnames: Type.Optional(
      Type.Array(
        Type.String({
          minLength: 1,
          "x-type": "DNS name",
          "x-expected": 'a lower-case DNS name such as "api.megacorp.com"',
        }),
        {
          default: [],
          description:
            "Exact host names (SNI) routed to this tenant, in addition to the host patterns. Lower case, no trailing dot, no wildcards; unique across tenants, and not a name that a host pattern maps to another tenant.",
          examples: [["api.megacorp.com"]],
        },
      ),
    ),
    upstream: Type.Optional(
      HostPort(
        "Where this tenant's allowed connections go, overriding `routing.upstream`. The host may be an IP or a DNS name. Required when `routing.upstream` is not set.",
        ["10.0.9.10:443", "megacorp.backend.internal:443"],
        "ip-or-dns",
      ),
    ),
    enforcement: Type.Optional(
      Type.Enum(["enforce", "report-only"], {
        default: DEFAULTS.tenant.enforcement,
        description:
          '`enforce`: denied connections are closed. `report-only`: they are let through, but counted and logged as "would deny" (try a policy before enforcing it).',
        examples: ["report-only"],
      }),
    ),
    allow: Type.Optional(AllowSchema),
  },
  {
    additionalProperties: false,
    description: "A tenant: its host names, its upstream and its allow list.",
  },
);

// ---------------------------------------------------------------------------------------------
// Listeners

export const ListenerSchema = Type.Object(
  {
    name: Type.String({
      pattern: NAME_PATTERN,
      description:
        "The listener's name, used in logs and metric labels: 1 to 63 lower-case letters, digits and hyphens. Unique.",
      examples: ["privatelink", "public"],
      "x-expected": "a string of 1 to 63 lower-case letters, digits or hyphens ([a-z0-9-]{1,63})",
    }),
    bind: HostPort(
      "The address to listen on: an IP address (not a host name) and a port. Port 0 picks a free port (tests). Unique across listeners and `api.bind`.",
      ["0.0.0.0:8443", "[::]:443", "127.0.0.1:8443"],
      "ip",
    ),
    proxyProtocol: Type.Enum(["required", "none"], {
      description:
        '`required`: every connection must start with a PROXY header (v1 or v2), sent by a peer in `trustedProxies` (the Private Link load balancer). `none`: a PROXY header is forbidden (the public listener); a connection that sends one is dropped. There is no "optional": guessing is what the PROXY protocol spec forbids.',
      examples: ["required", "none"],
    }),
    trustedProxies: Type.Optional(
      Type.Array(CidrString("A network allowed to send a PROXY header.", ["10.0.0.0/8"]), {
        description:
          "Peers (CIDRs) allowed to send a PROXY header: the load balancer's subnets. Required and non-empty with `proxyProtocol: required`; absent or empty with `none` (no peer may send the header there).",
        examples: [["10.0.0.0/8"], ["10.0.0.0/16", "fd00::/8"]],
      }),
    ),
    mode: Type.Optional(
      Type.Enum(["tls-passthrough"], {
        default: DEFAULTS.listener.mode,
        description:
          "`tls-passthrough`: read the SNI from the TLS ClientHello and relay the bytes untouched (L4). The L7 mode (`https`, terminating TLS) comes later.",
        examples: ["tls-passthrough"],
        "x-expected": '"tls-passthrough" (the L7 mode "https" is not available yet)',
      }),
    ),
    headerTimeout: Type.Optional(
      Duration(
        "headerTimeout",
        "One deadline covering the PROXY header and the TLS ClientHello, from the accept. A connection that has not sent both in time is dropped.",
        DEFAULTS.listener.headerTimeout,
        ["5s", "2500ms", 5000],
      ),
    ),
    idleTimeout: Type.Optional(
      Duration(
        "idleTimeout",
        "A relayed connection with no byte in either direction for this long is closed (CONN_IDLE_TIMEOUT), like HAProxy's `timeout tunnel`. The load balancer in front has an idle timeout of its own (AWS NLB: 350 s by default; Azure: about 300 s): whichever is shorter ends an idle connection (see docs/clouds/).",
        DEFAULTS.listener.idleTimeout,
        ["1h", "10m"],
      ),
    ),
    finTimeout: Type.Optional(
      Duration(
        "finTimeout",
        "Once one side has closed its half (FIN), the connection is closed (CONN_FIN_TIMEOUT) after this long without a byte, like HAProxy's `timeout client-fin`: peers that vanish after a half-close do not hold sockets.",
        DEFAULTS.listener.finTimeout,
        ["30s"],
      ),
    ),
    tcpKeepAlive: Type.Optional(
      Duration(
        "tcpKeepAlive",
        "TCP keepalive on both sockets of a connection that has been open this long: the kernel then probes an idle peer after this much silence and resets the connection if it has vanished (10 probes, 1 s apart). Set on connections that live this long only, so short connections pay no system call for it. `0s`: off.",
        DEFAULTS.listener.tcpKeepAlive,
        ["60s", "0s"],
      ),
    ),
    maxConnectionLifetime: Type.Optional(
      Duration(
        "maxConnectionLifetime",
        "Close relayed connections this long after they were accepted (CONN_MAX_LIFETIME), however busy: clients then reconnect and meet the current policy, instance and upstream. Absent: no limit.",
        undefined,
        ["24h"],
      ),
    ),
    maxConnections: Type.Optional(
      Type.Integer({
        minimum: LIMITS.maxConnections.min,
        maximum: LIMITS.maxConnections.max,
        description:
          "Concurrent connections on this listener, per process; beyond it, new connections are closed at once. With `serve --workers N` every worker applies it to its own connections: the instance admits up to N times this (docs/multicore.md). Absent: no cap beyond the process's descriptor budget, derived from its open-files limit: past it, every listener closes new connections with CONN_AT_FD_LIMIT (docs/observability.md).",
        examples: [10000],
      }),
    ),
    requireCrc32c: Type.Optional(
      Type.Boolean({
        default: DEFAULTS.listener.requireCrc32c,
        description:
          "Drop PROXY v2 headers that carry no CRC32C TLV. AWS NLB always sends one; Azure and GCP do not.",
        examples: [true],
      }),
    ),
    maxProxyHeaderBytes: Type.Optional(
      Type.Integer({
        minimum: LIMITS.maxProxyHeaderBytes.min,
        maximum: LIMITS.maxProxyHeaderBytes.max,
        default: DEFAULTS.listener.maxProxyHeaderBytes,
        description:
          "Cap on the PROXY v2 header, in bytes (16 to 65551). A larger header is dropped.",
        examples: [4096],
      }),
    ),
    maxClientHelloBytes: Type.Optional(
      Type.Integer({
        minimum: LIMITS.maxClientHelloBytes.min,
        maximum: LIMITS.maxClientHelloBytes.max,
        default: DEFAULTS.listener.maxClientHelloBytes,
        description:
          "Cap on the TLS ClientHello, in bytes (64 to 262144). A larger hello is dropped; a browser's is about 2 KB.",
        examples: [16384],
      }),
    ),
  },
  {
    additionalProperties: false,
    description: "A listening socket and its role.",
  },
);

// ---------------------------------------------------------------------------------------------
// Routing, admin API, logs, shutdown, store

export const RoutingSchema = Type.Object(
  {
    hostPatterns: Type.Optional(
      Type.Array(
        Type.String({
          minLength: 1,
          "x-type": "host pattern",
          "x-expected": 'a host pattern such as "{tenant}.api.example.com"',
        }),
        {
          default: [],
          description:
            "How a host name (SNI) maps to a tenant: a lower-case DNS name in which exactly one whole label is `{tenant}`, e.g. `{tenant}.api.example.com`. The placeholder matches one DNS label, never a dot. Quote patterns in YAML (a bare `{` starts a mapping). Duplicates, and pairs of patterns that give one host name two tenants, are errors.",
          examples: [["{tenant}.api.example.com", "{tenant}.privatelink.example.com"]],
        },
      ),
    ),
    upstream: Type.Optional(
      HostPort(
        "The default upstream (the backend); a tenant may override it. The host may be an IP or a DNS name. Absent: every tenant must set its own.",
        ["10.0.9.9:443", "backend.internal:443"],
        "ip-or-dns",
      ),
    ),
    upstreamProxyProtocol: Type.Optional(
      Type.Enum(["none", "v2"], {
        default: DEFAULTS.routing.upstreamProxyProtocol,
        description:
          "`none`: the upstream receives the client's bytes exactly as sent. `v2`: they are preceded by a fresh PROXY v2 header with the client address, the tenant and the link identity (the backend must expect it).",
        examples: ["v2"],
      }),
    ),
    connectTimeout: Type.Optional(
      Duration(
        "connectTimeout",
        "Deadline for connecting to the upstream.",
        DEFAULTS.routing.connectTimeout,
        ["5s", 3000],
      ),
    ),
    fallbackUpstream: Type.Optional(
      HostPort(
        "Where connections go whose host name matches no tenant, or that carry no SNI. Absent (the default): they are denied. Setting it is an explicit opt-in; no tenant policy applies to these connections.",
        ["10.0.9.99:443"],
        "ip-or-dns",
      ),
    ),
  },
  {
    additionalProperties: false,
    description: "How host names map to tenants, and where allowed connections go.",
  },
);

export const ApiSchema = Type.Object(
  {
    bind: HostPort(
      "The address of the admin HTTP endpoint (the REST API under `/v1` and `/openapi.json`, `/metrics` for Prometheus, `/healthz`, `/readyz`): an IP address and a port. Keep it on a private interface.",
      ["127.0.0.1:9090"],
      "ip",
    ),
  },
  {
    additionalProperties: false,
    description:
      "The admin HTTP endpoint and the control-plane REST API (docs/api.md). Absent: none is started. Admin tokens are not kept in this file: they come from the environment, `LINKGATE_ADMIN_TOKEN` (one token) and `LINKGATE_ADMIN_TOKEN_FILE` (a file with one token per line, for secrets managers and rotation).",
  },
);

export const LogSchema = Type.Object(
  {
    level: Type.Optional(
      Type.Enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"], {
        default: DEFAULTS.log.level,
        description: "The least severe level written (JSON lines on stdout).",
        examples: ["info"],
      }),
    ),
    deniedLinesPerSecond: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 1_000_000,
        default: DEFAULTS.log.deniedLinesPerSecond,
        description:
          "At most this many lines per second (per process) for denied and dropped connections; the others are counted in linkgate_log_lines_suppressed_total and summed up once a second in a warn line. Allowed and report-only connections are always logged. 0: no line for denials.",
        examples: [100],
      }),
    ),
  },
  { additionalProperties: false, description: "Logging." },
);

export const MetricsSchema = Type.Object(
  {
    perTenantLabels: Type.Optional(
      Type.Boolean({
        default: DEFAULTS.metrics.perTenantLabels,
        description:
          "Label the per-connection metrics by tenant id (`tenant` label). Each tenant adds a few series per listener; above a few thousand tenants turn it off (the label is then always empty) and use the per-tenant observed feed and rule hit counts of the control plane instead. Series of removed tenants are dropped at the next policy change.",
        examples: [false],
      }),
    ),
  },
  {
    additionalProperties: false,
    description: "Prometheus metrics (served on api.bind at /metrics).",
  },
);

export const ShutdownSchema = Type.Object(
  {
    drainTimeout: Type.Optional(
      Duration(
        "drainTimeout",
        "After SIGTERM, listeners stop accepting and live connections get this long to finish before they are closed.",
        DEFAULTS.shutdown.drainTimeout,
        ["30s", "2m"],
      ),
    ),
  },
  { additionalProperties: false, description: "Graceful shutdown." },
);

export const SqliteStoreSchema = Type.Object(
  {
    type: Type.Literal("sqlite", { description: "A SQLite file (one instance)." }),
    path: Type.String({
      minLength: 1,
      description:
        "The database file, relative to the working directory. SQLite adds `-wal` and `-shm` files beside it (write-ahead log).",
      examples: ["./linkgate.db"],
    }),
  },
  { additionalProperties: false, description: "A SQLite store." },
);

export const PostgresStoreSchema = Type.Object(
  {
    type: Type.Literal("postgres", { description: "A PostgreSQL database (a fleet)." }),
    url: Type.String({
      pattern: "^postgres(ql)?://",
      description: "The connection URL.",
      examples: ["postgres://linkgate@db.internal/linkgate"],
      "x-expected": 'a URL starting with "postgres://" or "postgresql://"',
    }),
    snapshotPath: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "A file where the instance keeps the store's tenants it enforces (written atomically, after changes, at most about once a second), relative to the configuration file's directory. When the database cannot be reached at start, the instance starts from this file, says so in its log and /healthz, and catches up once the database answers. Without it (or with no such file), an instance that cannot reach the database does not start.",
        examples: ["/var/lib/linkgate/policy-snapshot.json"],
      }),
    ),
    poolSize: Type.Optional(
      Type.Integer({
        minimum: LIMITS.poolSize.min,
        maximum: LIMITS.poolSize.max,
        default: DEFAULTS.postgres.poolSize,
        description:
          "Connections each instance opens to the database at most, for API requests and counter flushes; following the change feed takes one more.",
        examples: [10],
      }),
    ),
    connectTimeout: Type.Optional(
      Duration(
        "connectTimeout",
        "How long connecting to the database, or a health check, may take before the database is taken as down.",
        DEFAULTS.postgres.connectTimeout,
        ["5s"],
      ),
    ),
    checkInterval: Type.Optional(
      Duration(
        "checkInterval",
        "How often each instance checks that the database answers, and that it has every change: one whose notification was lost is picked up within this time. While the database is down, how often the instance tries to reconnect.",
        DEFAULTS.postgres.checkInterval,
        ["1s"],
      ),
    ),
  },
  { additionalProperties: false, description: "A PostgreSQL store." },
);

export const StoreSchema = Type.Union([SqliteStoreSchema, PostgresStoreSchema], {
  description:
    "Where tenants registered through the REST API are kept, with their rules, tokens, audit log, hit counts and observed identities: `{ type: sqlite, path }` (one instance; the file is created, and its schema migrated, at start). `{ type: postgres, url }` (a fleet): one database for every instance; its schema is migrated at start, once for the whole fleet, and each instance follows the changes the others make. Absent: tenants come from this file only and the REST API is read-only.",
  examples: [
    { type: "sqlite", path: "./linkgate.db" },
    { type: "postgres", url: "postgres://linkgate@db.internal/linkgate" },
  ],
  "x-type": "object (sqlite | postgres)",
});

export const LimitsSchema = Type.Object(
  {
    maxRulesPerTenant: Type.Optional(
      Type.Integer({
        minimum: LIMITS.maxRulesPerTenant.min,
        maximum: LIMITS.maxRulesPerTenant.max,
        default: DEFAULTS.limits.maxRulesPerTenant,
        description:
          "The most rules a tenant may hold through the REST API; beyond it a change is refused (`RULES_LIMIT`). Tenants of this file are not capped.",
        examples: [1000],
      }),
    ),
    maxApiBodyBytes: Type.Optional(
      Type.Integer({
        minimum: LIMITS.maxApiBodyBytes.min,
        maximum: LIMITS.maxApiBodyBytes.max,
        default: DEFAULTS.limits.maxApiBodyBytes,
        description:
          "The largest REST API request body, in bytes; a larger one is refused with 413 (`BODY_TOO_LARGE`) before it is parsed.",
        examples: [1048576],
      }),
    ),
  },
  { additionalProperties: false, description: "Caps on what the REST API accepts." },
);

export const RevocationSchema = Type.Enum(["close", "keep"], {
  default: DEFAULTS.revocation,
  description:
    "What happens to live connections that a policy change (a reload or a REST API change) no longer admits. `close`: they are closed at once, logged with `POLICY_REVOKED`. `keep`: they run until they end; only new connections get the new policy.",
  examples: ["close"],
});

// ---------------------------------------------------------------------------------------------
// The file

export const ConfigFileSchema = Type.Object(
  {
    listeners: Type.Array(ListenerSchema, {
      minItems: 1,
      description: "The listening sockets: at least one. Names and bind addresses are unique.",
    }),
    routing: RoutingSchema,
    tenants: Type.Optional(
      Type.Array(TenantSchema, {
        default: [],
        description: "The tenants. Ids and host names are unique.",
      }),
    ),
    api: Type.Optional(ApiSchema),
    log: Type.Optional(LogSchema),
    shutdown: Type.Optional(ShutdownSchema),
    metrics: Type.Optional(MetricsSchema),
    store: Type.Optional(StoreSchema),
    limits: Type.Optional(LimitsSchema),
    revocation: Type.Optional(RevocationSchema),
  },
  {
    additionalProperties: false,
    description: "A linkgate configuration file (YAML; JSON is YAML too).",
  },
);

export type RuleFile = Type.Static<typeof RuleSchema>;
export type AllowFile = Type.Static<typeof AllowSchema>;
export type TenantFile = Type.Static<typeof TenantSchema>;
export type ListenerFile = Type.Static<typeof ListenerSchema>;
export type RoutingFile = Type.Static<typeof RoutingSchema>;
export type ApiFile = Type.Static<typeof ApiSchema>;
export type LogFile = Type.Static<typeof LogSchema>;
export type ShutdownFile = Type.Static<typeof ShutdownSchema>;
export type StoreFile = Type.Static<typeof StoreSchema>;
export type LimitsFile = Type.Static<typeof LimitsSchema>;
/** The file as written, once it has passed the schema. */
export type ConfigFile = Type.Static<typeof ConfigFileSchema>;
