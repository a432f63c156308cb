/**
 * Checks beyond JSON Schema: addresses, CIDRs, identities, durations within bounds, host
 * patterns, uniqueness, and the rules that tie keys together (trustedProxies and
 * proxyProtocol, a tenant's upstream).
 *
 * They run on the parsed file whether or not it passed the schema, so they look at each value
 * defensively: a value of the wrong type is the schema's to report and is skipped here.
 */
import { ParseError } from "../errors/index.js";
import { parseCidr } from "../ip/cidr.js";
import { parseLinkIdentity } from "../proxy-protocol/identity.js";
import { formatHostPort, parseHostPort } from "./address.js";
import { dnsNameProblem } from "./dns.js";
import { formatDurationMs, parseDuration } from "./duration.js";
import type { ConfigIssue, ConfigPath } from "./errors.js";
import {
  type HostPattern,
  matchHostPattern,
  parseHostPattern,
  patternConflict,
} from "./patterns.js";
import { DURATION_BOUNDS, type DurationKey } from "./schema.js";
import type { HostPort } from "./types.js";

type Obj = Record<string, unknown>;

function asObject(value: unknown): Obj | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Obj)
    : undefined;
}

function asArray(value: unknown): unknown[] | undefined {
  return Array.isArray(value) ? value : undefined;
}

function asString(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

interface Bind {
  value: HostPort;
  path: ConfigPath;
}

/** Whether two bind addresses would collide (EADDRINUSE). "::" is dual-stack in Node. */
function bindsCollide(a: HostPort, b: HostPort): boolean {
  if (a.port !== b.port || a.port === 0) return false;
  if (a.host === b.host || a.host === "::" || b.host === "::") return true;
  const v4 = (h: string) => !h.includes(":");
  return (a.host === "0.0.0.0" && v4(b.host)) || (b.host === "0.0.0.0" && v4(a.host));
}

class Checker {
  readonly issues: ConfigIssue[] = [];
  private readonly binds: Bind[] = [];

  add(issue: ConfigIssue): void {
    this.issues.push(issue);
  }

  duration(value: unknown, path: ConfigPath, key: DurationKey): void {
    const ms = parseDuration(value);
    // Not a duration at all: the schema reports it. But an integer past 2^53, which the schema
    // takes for an integer, is one far out of range.
    const huge = typeof value === "number" && Number.isInteger(value) && value > 0;
    if (ms === null && !huge) return;
    const { min, max } = DURATION_BOUNDS[key];
    if (ms === null || ms < min || ms > max) {
      this.add({
        path,
        code: "CONFIG_BAD_DURATION",
        message: `must be from ${formatDurationMs(min)} to ${formatDurationMs(max)} (got ${JSON.stringify(value)})`,
      });
    }
  }

  bind(value: unknown, path: ConfigPath): void {
    const text = asString(value);
    if (text === undefined) return;
    const r = parseHostPort(text, { ipOnly: true, allowPortZero: true });
    if (!r.ok) {
      this.add({ path, code: "CONFIG_BAD_ADDRESS", message: r.message });
      return;
    }
    const other = this.binds.find((b) => bindsCollide(b.value, r.value));
    if (other !== undefined) {
      this.add({
        path,
        code: "CONFIG_DUPLICATE",
        message: `"${text}" collides with the bind address "${formatHostPort(other.value)}"`,
        first: other.path,
      });
    }
    this.binds.push({ value: r.value, path });
  }

  upstream(value: unknown, path: ConfigPath): void {
    const text = asString(value);
    if (text === undefined) return;
    const r = parseHostPort(text, { ipOnly: false, allowPortZero: false });
    if (!r.ok) this.add({ path, code: "CONFIG_BAD_ADDRESS", message: r.message });
  }

  cidr(value: unknown, path: ConfigPath): string | undefined {
    const text = asString(value);
    if (text === undefined) return undefined;
    const r = parseCidr(text);
    if (!r.ok) {
      this.add({ path, code: "CONFIG_BAD_CIDR", message: r.message });
      return undefined;
    }
    return r.cidr.text;
  }

  listeners(root: Obj): void {
    const names = new Map<string, ConfigPath>();
    const listeners = asArray(root.listeners) ?? [];
    listeners.forEach((item, i) => {
      const listener = asObject(item);
      if (listener === undefined) return;
      const base = ["listeners", i];
      const name = asString(listener.name);
      if (name !== undefined) {
        const first = names.get(name);
        if (first !== undefined) {
          this.add({
            path: [...base, "name"],
            code: "CONFIG_DUPLICATE",
            message: `the listener name "${name}" is used twice`,
            first,
          });
        } else {
          names.set(name, [...base, "name"]);
        }
      }
      this.bind(listener.bind, [...base, "bind"]);
      this.trustedProxies(listener, base);
      for (const key of [
        "headerTimeout",
        "idleTimeout",
        "finTimeout",
        "tcpKeepAlive",
        "maxConnectionLifetime",
      ] as const) {
        this.duration(listener[key], [...base, key], key);
      }
    });
  }

  trustedProxies(listener: Obj, base: ConfigPath): void {
    const path = [...base, "trustedProxies"];
    const list = asArray(listener.trustedProxies);
    const seen = new Map<string, ConfigPath>();
    list?.forEach((item, j) => {
      const canonical = this.cidr(item, [...path, j]);
      if (canonical === undefined) return;
      const first = seen.get(canonical);
      if (first !== undefined) {
        this.add({
          path: [...path, j],
          code: "CONFIG_DUPLICATE",
          message: `"${canonical}" is listed twice`,
          first,
        });
      } else {
        seen.set(canonical, [...path, j]);
      }
    });
    const mode = listener.proxyProtocol;
    if (mode === "required" && listener.trustedProxies === undefined) {
      this.add({
        path,
        code: "CONFIG_PROXY_TRUST",
        message:
          "is required with proxyProtocol: required: list the load balancer networks allowed to send the PROXY header",
        locate: [...base, "proxyProtocol"],
      });
    } else if (mode === "required" && list !== undefined && list.length === 0) {
      this.add({
        path,
        code: "CONFIG_PROXY_TRUST",
        message:
          "must not be empty with proxyProtocol: required: no peer could send the PROXY header, so every connection would be dropped",
      });
    } else if (mode === "none" && list !== undefined && list.length > 0) {
      this.add({
        path,
        code: "CONFIG_PROXY_TRUST",
        at: "key",
        message:
          "must be absent or empty with proxyProtocol: none: the PROXY header is forbidden on this listener, so no peer may send one (use proxyProtocol: required for a load balancer that sends it)",
      });
    }
  }

  routing(root: Obj): HostPattern[] {
    const routing = asObject(root.routing);
    if (routing === undefined) return [];
    const patterns: { pattern: HostPattern; path: ConfigPath }[] = [];
    const seen = new Map<string, ConfigPath>();
    asArray(routing.hostPatterns)?.forEach((item, i) => {
      const text = asString(item);
      if (text === undefined) return;
      const path = ["routing", "hostPatterns", i];
      const r = parseHostPattern(text);
      if (!r.ok) {
        this.add({ path, code: "CONFIG_BAD_PATTERN", message: `"${text}" ${r.message}` });
        return;
      }
      const first = seen.get(text);
      if (first !== undefined) {
        this.add({
          path,
          code: "CONFIG_DUPLICATE",
          message: `the host pattern "${text}" is listed twice`,
          first,
        });
        return;
      }
      seen.set(text, path);
      for (const other of patterns) {
        const host = patternConflict(other.pattern, r.pattern);
        if (host !== null) {
          this.add({
            path,
            code: "CONFIG_BAD_PATTERN",
            message: `"${text}" and "${other.pattern.text}" both match "${host}", each with a different tenant`,
            first: other.path,
          });
        }
      }
      patterns.push({ pattern: r.pattern, path });
    });
    this.upstream(routing.upstream, ["routing", "upstream"]);
    this.upstream(routing.fallbackUpstream, ["routing", "fallbackUpstream"]);
    this.duration(routing.connectTimeout, ["routing", "connectTimeout"], "connectTimeout");
    return patterns.map((p) => p.pattern);
  }

  tenants(root: Obj, patterns: HostPattern[]): void {
    const tenants = asArray(root.tenants) ?? [];
    const ids = new Map<string, ConfigPath>();
    for (const [i, item] of tenants.entries()) {
      const id = asString(asObject(item)?.id);
      if (id === undefined) continue;
      const path = ["tenants", i, "id"];
      const first = ids.get(id);
      if (first !== undefined) {
        this.add({
          path,
          code: "CONFIG_DUPLICATE",
          message: `the tenant id "${id}" is used twice`,
          first,
        });
      } else {
        ids.set(id, path);
      }
      if (/^[a-z0-9-]{1,63}$/.test(id) && (id.startsWith("-") || id.endsWith("-"))) {
        this.add({
          path,
          code: "CONFIG_BAD_TENANT_ID",
          message: `"${id}" starts or ends with "-": a tenant id is a DNS label in host names`,
        });
      }
    }

    const routing = asObject(root.routing);
    const defaultUpstream = routing?.upstream;
    const hostnames = new Map<string, ConfigPath>();
    tenants.forEach((item, i) => {
      const tenant = asObject(item);
      if (tenant === undefined) return;
      const base = ["tenants", i];
      const id = asString(tenant.id);
      asArray(tenant.hostnames)?.forEach((h, j) => {
        const name = asString(h);
        if (name === undefined) return;
        const path = [...base, "hostnames", j];
        const problem = dnsNameProblem(name, true);
        if (problem !== null) {
          this.add({ path, code: "CONFIG_BAD_HOSTNAME", message: `"${name}" ${problem}` });
          return;
        }
        const first = hostnames.get(name);
        if (first !== undefined) {
          this.add({
            path,
            code: "CONFIG_DUPLICATE",
            message: `the host name "${name}" is listed twice`,
            first,
          });
          return;
        }
        hostnames.set(name, path);
        for (const pattern of patterns) {
          const owner = matchHostPattern(pattern, name);
          if (owner !== null && owner !== id && ids.has(owner)) {
            this.add({
              path,
              code: "CONFIG_DUPLICATE",
              message: `"${name}" already belongs to tenant "${owner}" through the host pattern "${pattern.text}"`,
              first: ids.get(owner),
            });
          }
        }
      });
      if (tenant.upstream !== undefined) {
        this.upstream(tenant.upstream, [...base, "upstream"]);
      } else if (defaultUpstream === undefined) {
        this.add({
          path: [...base, "upstream"],
          code: "CONFIG_NO_UPSTREAM",
          message: `tenant ${id === undefined ? i : `"${id}"`} has no upstream, and routing.upstream is not set: set one of them`,
          locate: base,
        });
      }
      this.rules(asObject(tenant.allow), [...base, "allow"]);
    });
  }

  rules(allow: Obj | undefined, base: ConfigPath): void {
    const seen = new Map<string, ConfigPath>();
    asArray(allow?.rules)?.forEach((item, k) => {
      const rule = asObject(item);
      if (rule === undefined) return;
      const path = [...base, "rules", k];
      if (rule.link === undefined && rule.cidr === undefined) {
        this.add({
          path,
          code: "CONFIG_EMPTY_RULE",
          message:
            'a rule needs a link, a cidr, or both, as in { link: "aws:vpce-0123456789abcdef0" } or { cidr: 203.0.113.0/24 }',
        });
        return;
      }
      let link: string | undefined;
      const linkText = asString(rule.link);
      if (linkText !== undefined) {
        const identity = parseLinkIdentity(linkText);
        if (identity instanceof ParseError) {
          const lower = parseLinkIdentity(linkText.toLowerCase());
          const hint = lower instanceof ParseError ? "" : `; did you mean "${lower.id}"?`;
          this.add({
            path: [...path, "link"],
            code: "CONFIG_BAD_IDENTITY",
            message: `${identity.message}${hint}`,
          });
        } else {
          link = identity.id;
        }
      }
      const cidr = this.cidr(rule.cidr, [...path, "cidr"]);
      const valid =
        (rule.link === undefined || link !== undefined) &&
        (rule.cidr === undefined || cidr !== undefined);
      if (!valid) return;
      const key = `${link ?? ""} ${cidr ?? ""}`;
      const first = seen.get(key);
      if (first !== undefined) {
        this.add({
          path,
          code: "CONFIG_DUPLICATE",
          message: "the same rule is listed twice",
          first,
        });
      } else {
        seen.set(key, path);
      }
    });
  }

  rest(root: Obj): void {
    const api = asObject(root.api);
    if (api !== undefined) this.bind(api.bind, ["api", "bind"]);
    const shutdown = asObject(root.shutdown);
    if (shutdown !== undefined) {
      this.duration(shutdown.drainTimeout, ["shutdown", "drainTimeout"], "drainTimeout");
    }
    const store = asObject(root.store);
    if (store !== undefined) {
      this.duration(store.connectTimeout, ["store", "connectTimeout"], "connectTimeout");
      this.duration(store.checkInterval, ["store", "checkInterval"], "checkInterval");
    }
  }
}

/** The problems the schema cannot see. `root` is the parsed file, valid or not. */
export function semanticIssues(root: unknown): ConfigIssue[] {
  const obj = asObject(root);
  if (obj === undefined) return [];
  const checker = new Checker();
  checker.listeners(obj);
  const patterns = checker.routing(obj);
  checker.tenants(obj, patterns);
  checker.rest(obj);
  return checker.issues;
}
