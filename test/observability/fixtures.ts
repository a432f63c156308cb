/** Shared helpers for the observability tests: connection records and a text-exposition parser. */
import { ConnectionLog, type Logger } from "../../src/observability/index.js";
import type { ConnectionRecord } from "../../src/observability/types.js";

/** One connection line, as the data plane writes it, without a denial budget. */
export function logConnection(logger: Logger, record: ConnectionRecord): void {
  new ConnectionLog(logger, { deniedLinesPerSecond: Number.POSITIVE_INFINITY }).write(record);
}

export function record(overrides: Partial<ConnectionRecord> = {}): ConnectionRecord {
  return {
    listener: "privatelink",
    peer: { address: "10.0.0.5", port: 41234 },
    proxySource: { address: "172.31.7.9", port: 50123 },
    proxyDestination: { address: "10.0.9.1", port: 443 },
    link: "aws:vpce-0123456789abcdef0",
    sni: "megacorp.privatelink.example.com",
    tenant: "megacorp",
    decision: "allow",
    reason: "POLICY_LINK_ALLOWED",
    rule: { index: 0, description: "prod VPC" },
    upstreamError: null,
    closedBy: null,
    errno: null,
    upstream: "10.0.9.9:443",
    bytesFromClient: 1_517,
    bytesToClient: 6_143,
    handshakeMs: 1.234567,
    durationMs: 2_500.0004,
    ...overrides,
  };
}

/** `name{label="value",…}` with the labels sorted by name, so tests can spell series exactly. */
export function seriesKey(name: string, labels: Record<string, string> = {}): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`);
  return parts.length === 0 ? name : `${name}{${parts.join(",")}}`;
}

export interface Exposition {
  /** Sample values by `seriesKey`. */
  samples: Map<string, number>;
  /** `# TYPE` of each metric family. */
  types: Map<string, string>;
  help: Map<string, string>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/gy;

/** Parses the Prometheus text format (0.0.4); throws on a line it does not understand. */
export function parseExposition(text: string): Exposition {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (line.startsWith("# TYPE ")) {
      const [name, type] = line.slice(7).split(" ");
      types.set(name, type);
      continue;
    }
    if (line.startsWith("# HELP ")) {
      const rest = line.slice(7);
      const space = rest.indexOf(" ");
      help.set(rest.slice(0, space), rest.slice(space + 1));
      continue;
    }
    if (line.startsWith("#")) continue;
    const m = SAMPLE.exec(line);
    if (m === null) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[2] !== undefined && m[2] !== "") {
      LABEL.lastIndex = 0;
      let consumed = 0;
      for (let l = LABEL.exec(m[2]); l !== null; l = LABEL.exec(m[2])) {
        labels[l[1]] = l[2].replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
        consumed = LABEL.lastIndex;
      }
      if (consumed !== m[2].length) throw new Error(`unparsable labels: ${line}`);
    }
    const key = seriesKey(m[1], labels);
    if (samples.has(key)) throw new Error(`duplicate series: ${key}`);
    samples.set(key, Number(m[3]));
  }
  return { samples, types, help };
}
