/**
 * Prometheus metrics. A `Metrics` owns a private prom-client `Registry` (never the global one),
 * so tests and several instances in one process do not clash.
 *
 * The hot path (`connectionOpened`, `recordConnection`, once per connection each) does not go
 * through prom-client: prom-client hashes and validates the label set on every `inc`/`observe`
 * (about 3.6 us for one record's five updates). Instead the counts live in plain nested Maps
 * keyed by the label values (listener -> tenant -> decision -> reason -> cell).
 *
 * The data-plane families are read straight from those maps when scraped (DataPlaneFamily): no
 * copy into prom-client's labelled metrics, and the work is cut into slices with a turn of the
 * event loop between them, so that a scrape of many tenants never stalls the connections this
 * process relays (100,000 tenants: about 400,000 series; copying them into prom-client took
 * 1.7 s and formatting them 1.5 s more, in one block). `metricsText()` renders them itself, in
 * the same format; the registry (which the cluster primary aggregates as JSON) gets them as
 * metric objects of prom-client's shape. The series are bounded by the configuration:
 * listener names, tenant ids (`retainTenants` drops those of removed tenants; "" for none) and
 * the decisions and codes of the error catalogue. With `perTenantLabels: false` the tenant label
 * is always "" (for fleets with very many tenants).
 */
import { readFileSync } from "node:fs";
import { Counter, collectDefaultMetrics, Gauge, type Histogram, Registry } from "prom-client";
import type { ConnectionRecord, Decision } from "./types.js";

/** What the connection log reports (src/observability/connection-log.ts, line-output.ts). */
export interface LogCounts {
  /** Denied/dropped lines over the budget, by reason, since start. */
  readonly suppressed: ReadonlyMap<string, number>;
}
export interface LogOutputCounts {
  /** Lines dropped because the output did not keep up, since start. */
  readonly droppedLines: number;
}

/** prom-client's per-V8-heap-space families, which linkgate does not serve on Bun. */
const HEAP_SPACE_FAMILIES = [
  "nodejs_heap_space_size_total_bytes",
  "nodejs_heap_space_size_used_bytes",
  "nodejs_heap_space_size_available_bytes",
] as const;

export interface MetricsOptions {
  /** Label series by tenant id. Default true; false: the tenant label is always "". */
  perTenantLabels?: boolean;
  /** Node.js and process metrics under their standard names (process_*, nodejs_*). Default true. */
  defaultMetrics?: boolean;
  /** The build_info version label. Default: the version in linkgate's package.json. */
  version?: string;
  /**
   * Register the policy metrics (linkgate_policy_*). Default true. The workers of
   * `linkgate serve --workers N` pass false: their primary validates and counts the reloads and
   * reports these once, instead of N times in the sum over workers.
   */
  policy?: boolean;
}

/** Upper bounds, in seconds, of the handshake histogram: 0.1 ms to 10 s. */
export const HANDSHAKE_BUCKETS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** The same bounds in milliseconds, compared with `handshakeMs` as it is (no rounding error). */
const HANDSHAKE_BOUNDS_MS: readonly number[] = [
  0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
];

interface Cell {
  n: number;
}

interface HandshakeSeries {
  /** Per bucket, not cumulative; one extra slot for > the last bound. */
  counts: Float64Array;
  sum: number;
  count: number;
}

interface TenantSeries {
  bytesFromClient: number;
  bytesToClient: number;
  /** decision -> reason -> count */
  connections: Map<string, Map<string, Cell>>;
  /** upstream error code -> count */
  upstreamErrors: Map<string, Cell>;
  /** closedBy code -> count */
  closed: Map<string, Cell>;
}

interface ListenerSeries {
  active: number;
  tenants: Map<string, TenantSeries>;
  handshakes: Map<string, HandshakeSeries>;
  proxyErrors: Map<string, Cell>;
  tlsErrors: Map<string, Cell>;
}

function packageVersion(): string {
  try {
    const url = new URL("../../package.json", import.meta.url);
    const version = (JSON.parse(readFileSync(url, "utf8")) as { version?: unknown }).version;
    return typeof version === "string" ? version : "unknown";
  } catch {
    return "unknown";
  }
}

function bump(map: Map<string, Cell>, key: string): void {
  const cell = map.get(key);
  if (cell === undefined) map.set(key, { n: 1 });
  else cell.n++;
}

function isProxyProtocolCode(code: string): boolean {
  return code.startsWith("PP_") || code.startsWith("PP1_") || code.startsWith("PP2_");
}

/** One series of a family: its labels and value (and its own name, for histogram parts). */
interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/** Series per slice of a scrape; a turn of the event loop separates slices. */
const SCRAPE_SLICE = 5000;

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A label value in the text format: backslash, double quote and newline escaped. */
function labelValue(value: string | number): string {
  const text = String(value);
  return /[\\"\n]/.test(text)
    ? text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")
    : text;
}

/** A sample value as Prometheus prints it (prom-client's format: +Inf, -Inf, NaN, numbers). */
function sampleValue(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}

/**
 * A metric family read from the data plane's maps at scrape time. It has the shape prom-client's
 * registry renders and aggregates (name, help, type, aggregator, get(), reset()), and renders
 * itself as text for `metricsText()`; both cut the work into slices (see the module comment).
 */
class DataPlaneFamily {
  readonly aggregator = "sum";

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: "counter" | "gauge" | "histogram",
    readonly labelNames: readonly string[],
    private readonly samples: () => Iterable<Sample>,
    private readonly onReset: () => void = () => {},
  ) {}

  async get() {
    const values: Sample[] = [];
    for (const sample of this.samples()) {
      values.push(sample);
      if (values.length % SCRAPE_SLICE === 0) await nextTurn();
    }
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    };
  }

  /** The family in the text exposition format, appended to `out` slice by slice. */
  async render(out: string[]): Promise<void> {
    out.push(`# HELP ${this.name} ${this.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`);
    out.push(`# TYPE ${this.name} ${this.type}`);
    let n = 0;
    for (const s of this.samples()) {
      let labels = "";
      for (const key in s.labels) {
        labels += `${labels === "" ? "" : ","}${key}="${labelValue(s.labels[key])}"`;
      }
      const name = s.metricName ?? this.name;
      out.push(
        labels === ""
          ? `${name} ${sampleValue(s.value)}`
          : `${name}{${labels}} ${sampleValue(s.value)}`,
      );
      if (++n % SCRAPE_SLICE === 0) await nextTurn();
    }
  }

  /** Registry.resetMetrics(): clears what the family counts. */
  reset(): void {
    this.onReset();
  }
}

/** What the store gauges show (Metrics.observeStore). */
export interface StoreGaugeReading {
  up: boolean;
  version: number;
  fromSnapshot: boolean;
}

export class Metrics {
  /** The private registry: everything /metrics exposes. */
  readonly registry: Registry;
  readonly perTenantLabels: boolean;

  private readonly listeners = new Map<string, ListenerSeries>();
  /** Rendered by metricsText() itself, slice by slice (see DataPlaneFamily). */
  private readonly families: readonly DataPlaneFamily[];
  private log: LogCounts | null = null;
  private logOutput: LogOutputCounts | null = null;
  private readonly reloads: Counter<"result">;
  private readonly policyTenants: Gauge;
  private readonly policyRules: Gauge;
  private readonly lastReload: Gauge;
  private readonly generation: Gauge;
  private readonly workerGeneration: Gauge<"worker">;
  private readonly processErrors: Counter<"kind">;

  constructor(options: MetricsOptions = {}) {
    this.perTenantLabels = options.perTenantLabels ?? true;
    const registry = new Registry();
    this.registry = registry;
    const listeners = this.listeners;
    const registers = [registry];

    const self = this;
    const families = [
      new DataPlaneFamily(
        "linkgate_connections_total",
        "Connections ended, by listener, tenant, decision and reason code",
        "counter",
        ["listener", "tenant", "decision", "reason"],
        function* (): Generator<Sample> {
          for (const [listener, l] of listeners)
            for (const [tenant, t] of l.tenants)
              for (const [decision, reasons] of t.connections)
                for (const [reason, cell] of reasons)
                  yield { labels: { listener, tenant, decision, reason }, value: cell.n };
        },
        () => {
          for (const l of listeners.values()) l.tenants.clear();
        },
      ),
      new DataPlaneFamily(
        "linkgate_active_connections",
        "Connections accepted and not yet ended, by listener",
        "gauge",
        ["listener"],
        function* (): Generator<Sample> {
          for (const [listener, l] of listeners) yield { labels: { listener }, value: l.active };
        },
      ),
      new DataPlaneFamily(
        "linkgate_handshake_duration_seconds",
        "Accept to decision (PROXY header and ClientHello read, policy decided), in seconds",
        "histogram",
        ["listener", "decision"],
        function* (): Generator<Sample> {
          const bucket = "linkgate_handshake_duration_seconds_bucket";
          for (const [listener, l] of listeners) {
            for (const [decision, h] of l.handshakes) {
              let acc = 0;
              for (let i = 0; i < HANDSHAKE_BUCKETS.length; i++) {
                acc += h.counts[i];
                yield {
                  labels: { listener, decision, le: HANDSHAKE_BUCKETS[i] },
                  value: acc,
                  metricName: bucket,
                };
              }
              yield {
                labels: { listener, decision, le: "+Inf" },
                value: h.count,
                metricName: bucket,
              };
              yield {
                labels: { listener, decision },
                value: h.sum,
                metricName: "linkgate_handshake_duration_seconds_sum",
              };
              yield {
                labels: { listener, decision },
                value: h.count,
                metricName: "linkgate_handshake_duration_seconds_count",
              };
            }
          }
        },
        () => {
          for (const l of listeners.values()) l.handshakes.clear();
        },
      ),
      new DataPlaneFamily(
        "linkgate_bytes_total",
        "Bytes relayed, by listener, tenant and direction (from_client includes the PROXY header)",
        "counter",
        ["listener", "tenant", "direction"],
        function* (): Generator<Sample> {
          for (const [listener, l] of listeners)
            for (const [tenant, t] of l.tenants) {
              yield {
                labels: { listener, tenant, direction: "from_client" },
                value: t.bytesFromClient,
              };
              yield {
                labels: { listener, tenant, direction: "to_client" },
                value: t.bytesToClient,
              };
            }
        },
      ),
      new DataPlaneFamily(
        "linkgate_proxy_protocol_errors_total",
        "Connections refused for a PROXY protocol error, by listener and code",
        "counter",
        ["listener", "code"],
        function* (): Generator<Sample> {
          for (const [listener, l] of listeners)
            for (const [code, cell] of l.proxyErrors)
              yield { labels: { listener, code }, value: cell.n };
        },
        () => {
          for (const l of listeners.values()) l.proxyErrors.clear();
        },
      ),
      new DataPlaneFamily(
        "linkgate_tls_errors_total",
        "Connections refused for a ClientHello error (TLS_NO_SNI included), by listener and code",
        "counter",
        ["listener", "code"],
        function* (): Generator<Sample> {
          for (const [listener, l] of listeners)
            for (const [code, cell] of l.tlsErrors)
              yield { labels: { listener, code }, value: cell.n };
        },
        () => {
          for (const l of listeners.values()) l.tlsErrors.clear();
        },
      ),
      new DataPlaneFamily(
        "linkgate_upstream_errors_total",
        "Allowed connections that failed upstream, by listener, tenant and code",
        "counter",
        ["listener", "tenant", "code"],
        function* (): Generator<Sample> {
          for (const [listener, l] of listeners)
            for (const [tenant, t] of l.tenants)
              for (const [code, cell] of t.upstreamErrors)
                yield { labels: { listener, tenant, code }, value: cell.n };
        },
      ),
      new DataPlaneFamily(
        "linkgate_closed_connections_total",
        "Admitted connections cut by linkgate or by a client error, by listener, tenant and code (POLICY_REVOKED, CONN_SHUTDOWN, CONN_CLIENT_ERROR, CONN_IDLE_TIMEOUT, ...)",
        "counter",
        ["listener", "tenant", "code"],
        function* (): Generator<Sample> {
          for (const [listener, l] of listeners)
            for (const [tenant, t] of l.tenants)
              for (const [code, cell] of t.closed)
                yield { labels: { listener, tenant, code }, value: cell.n };
        },
      ),
      new DataPlaneFamily(
        "linkgate_log_lines_suppressed_total",
        "Connection lines not written because denials were over log.deniedLinesPerSecond, by reason code (every connection is still counted in linkgate_connections_total)",
        "counter",
        ["reason"],
        function* (): Generator<Sample> {
          for (const [reason, n] of self.log?.suppressed ?? [])
            yield { labels: { reason }, value: n };
        },
      ),
      new DataPlaneFamily(
        "linkgate_log_lines_dropped_total",
        "Log lines dropped because standard output did not keep up (its reader is stalled or gone)",
        "counter",
        [],
        function* (): Generator<Sample> {
          yield { labels: {}, value: self.logOutput?.droppedLines ?? 0 };
        },
      ),
    ];
    for (const f of families) registry.registerMetric(f as unknown as Histogram);
    this.families = families;

    // Without them (a cluster worker), policyReloaded() updates metrics that no registry shows.
    const policyRegisters = (options.policy ?? true) ? registers : [];
    this.reloads = new Counter({
      name: "linkgate_policy_reloads_total",
      help: "Policy reloads, by result (error: the previous policy stays in force)",
      labelNames: ["result"],
      registers: policyRegisters,
    });
    this.reloads.inc({ result: "ok" }, 0);
    this.reloads.inc({ result: "error" }, 0);

    this.policyTenants = new Gauge({
      name: "linkgate_policy_tenants",
      help: "Tenants in the policy in force",
      registers: policyRegisters,
    });
    this.policyRules = new Gauge({
      name: "linkgate_policy_rules",
      help: "Allow rules, over all tenants, in the policy in force",
      registers: policyRegisters,
    });
    this.lastReload = new Gauge({
      name: "linkgate_policy_last_reload_success_timestamp_seconds",
      help: "Unix time of the last successful policy load (0: none yet)",
      registers: policyRegisters,
    });

    this.generation = new Gauge({
      name: "linkgate_policy_generation",
      help: "Generation of the policy in force: 1 at start, one more for each policy validated since",
      registers: policyRegisters,
    });
    this.workerGeneration = new Gauge({
      name: "linkgate_worker_policy_generation",
      help: "With serve --workers N: the policy generation each worker runs (0: no worker running)",
      labelNames: ["worker"],
      registers: policyRegisters,
    });
    this.processErrors = new Counter({
      name: "linkgate_process_errors_total",
      help: "Exceptions and promise rejections no code handled, by kind",
      labelNames: ["kind"],
      registers,
    });
    this.processErrors.inc({ kind: "uncaught_exception" }, 0);
    this.processErrors.inc({ kind: "unhandled_rejection" }, 0);

    new Gauge({
      name: "linkgate_build_info",
      help: "Always 1; the labels say which linkgate and Node.js are running",
      labelNames: ["version", "node"],
      registers,
      // Summed over the processes of a cluster it would not be 1 (see AggregatorRegistry).
      aggregator: "first",
    }).set({ version: options.version ?? packageVersion(), node: process.version }, 1);

    if (options.defaultMetrics ?? true) {
      collectDefaultMetrics({ register: registry });
      // On Bun, node:v8's heap space statistics walk the whole JavaScriptCore heap to fill V8's
      // space names, all zero but old_space (the whole heap, which nodejs_heap_size_* report):
      // 10 ms and more of the event loop per scrape under load, for no information.
      if (process.versions.bun !== undefined)
        for (const name of HEAP_SPACE_FAMILIES) registry.removeSingleMetric(name);
    }
  }

  /**
   * Exposes the store's state, read at each scrape: linkgate_store_up (1 up, 0 down: the API
   * refuses writes, the policy in force stays), linkgate_store_policy_version and
   * linkgate_store_policy_from_snapshot. Called once, by the process that owns the store.
   */
  observeStore(read: () => StoreGaugeReading | null): void {
    const registers = [this.registry];
    const gauge = (name: string, help: string, value: (r: StoreGaugeReading) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const r = read();
          if (r === null) this.reset();
          else this.set(value(r));
        },
      });
    gauge(
      "linkgate_store_up",
      "1 while the store (SQLite or PostgreSQL) answers; 0 while it does not: API writes answer 503 and the last policy stays in force",
      (r) => (r.up ? 1 : 0),
    );
    gauge(
      "linkgate_store_policy_version",
      "Change-feed version of the store's tenants in force (compare across a fleet: equal when every instance has every change)",
      (r) => r.version,
    );
    gauge(
      "linkgate_store_policy_from_snapshot",
      "1 while the store's tenants in force come from store.snapshotPath (the database not reached since start), else 0",
      (r) => (r.fromSnapshot ? 1 : 0),
    );
  }

  /** Where the log counts come from (connectionObserver sets them). */
  observeLog(log: LogCounts, output: LogOutputCounts | null): void {
    this.log = log;
    this.logOutput = output;
  }

  /** The Content-Type of `metricsText()` (Prometheus text format 0.0.4). */
  get contentType(): string {
    return this.registry.contentType;
  }

  private listener(name: string): ListenerSeries {
    let l = this.listeners.get(name);
    if (l === undefined) {
      l = {
        active: 0,
        tenants: new Map(),
        handshakes: new Map(),
        proxyErrors: new Map(),
        tlsErrors: new Map(),
      };
      this.listeners.set(name, l);
    }
    return l;
  }

  /** A connection was accepted: active_connections{listener} + 1. */
  connectionOpened(listener: string): void {
    this.listener(listener).active++;
  }

  /**
   * A connection ended (exactly once per connection that `connectionOpened` counted): counts it
   * by decision and reason, its bytes, its handshake time, its PROXY/TLS/upstream error, why
   * linkgate closed it, and takes it off active_connections.
   */
  recordConnection(record: ConnectionRecord): void {
    const l = this.listener(record.listener);
    l.active--;

    const tenantId = this.perTenantLabels ? (record.tenant ?? "") : "";
    let t = l.tenants.get(tenantId);
    if (t === undefined) {
      t = {
        bytesFromClient: 0,
        bytesToClient: 0,
        connections: new Map(),
        upstreamErrors: new Map(),
        closed: new Map(),
      };
      l.tenants.set(tenantId, t);
    }
    const decision: Decision = record.decision;
    let reasons = t.connections.get(decision);
    if (reasons === undefined) {
      reasons = new Map();
      t.connections.set(decision, reasons);
    }
    const reason = record.reason;
    bump(reasons, reason);
    t.bytesFromClient += record.bytesFromClient;
    t.bytesToClient += record.bytesToClient;
    if (record.upstreamError !== null) bump(t.upstreamErrors, record.upstreamError);
    if (record.closedBy !== null) bump(t.closed, record.closedBy);

    if (isProxyProtocolCode(reason)) bump(l.proxyErrors, reason);
    else if (reason.startsWith("TLS_")) bump(l.tlsErrors, reason);

    const ms = record.handshakeMs;
    if (ms !== null) {
      let h = l.handshakes.get(decision);
      if (h === undefined) {
        h = { counts: new Float64Array(HANDSHAKE_BUCKETS.length + 1), sum: 0, count: 0 };
        l.handshakes.set(decision, h);
      }
      let i = 0;
      while (i < HANDSHAKE_BOUNDS_MS.length && ms > HANDSHAKE_BOUNDS_MS[i]) i++;
      h.counts[i]++;
      h.sum += ms / 1000;
      h.count++;
    }
  }

  /**
   * A policy (re)load finished. ok: reloads_total{result="ok"}, and the tenants/rules gauges
   * take the new policy's size. Not ok: reloads_total{result="error"}; the gauges keep
   * describing the policy still in force.
   */
  policyReloaded(ok: boolean, tenants?: number, rules?: number): void {
    this.reloads.inc({ result: ok ? "ok" : "error" });
    if (!ok) return;
    if (tenants !== undefined) this.policyTenants.set(tenants);
    if (rules !== undefined) this.policyRules.set(rules);
    this.lastReload.set(Date.now() / 1000);
  }

  /**
   * The Prometheus text exposition of every metric of this instance. The data-plane families
   * are rendered slice by slice with a turn of the event loop between slices; the others (a few
   * dozen series) by the registry.
   */
  async metricsText(): Promise<string> {
    const out: string[] = [];
    const own = new Set<string>();
    for (const f of this.families) {
      own.add(f.name);
      await f.render(out);
    }
    const rest = await Promise.all(
      this.registry
        .getMetricsAsArray()
        .filter((m) => !own.has(m.name))
        .map((m) => this.registry.getSingleMetricAsString(m.name)),
    );
    return `${[...out, ...rest].join("\n")}\n`;
  }

  /**
   * Drops the series of tenants for which `keep` is false (removed from the policy), so that a
   * deleted tenant's series do not stay in every scrape. The series without tenant ("") stay.
   */
  retainTenants(keep: (tenantId: string) => boolean): void {
    for (const l of this.listeners.values()) {
      for (const tenant of [...l.tenants.keys()]) {
        if (tenant !== "" && !keep(tenant)) l.tenants.delete(tenant);
      }
    }
  }

  /** The generation of the policy in force (see linkgate_policy_generation). */
  policyGeneration(generation: number): void {
    this.generation.set(generation);
  }

  /** The policy generation worker `worker` runs; 0 while no process runs in its slot. */
  workerPolicyGeneration(worker: number, generation: number): void {
    this.workerGeneration.set({ worker: String(worker) }, generation);
  }

  /** An exception or rejection no code handled. */
  processError(kind: "uncaught_exception" | "unhandled_rejection"): void {
    this.processErrors.inc({ kind });
  }
}
