/**
 * Request input: checked against its schema (the configuration's validator, with its messages
 * and "did you mean"), then what a schema cannot say: identities in their exact form, CIDRs,
 * expiry times, host names, upstreams. Every problem is an ApiError with a precise code; the
 * first one found is the error, and all of them are listed in `details`.
 */
import { formatHostPort, parseHostPort } from "../config/address.js";
import { dnsNameProblem } from "../config/dns.js";
import { type ConfigIssue, type ConfigPath, formatKey } from "../config/errors.js";
import { schemaIssuesFor } from "../config/validate.js";
import { type ErrorCode, ParseError } from "../errors/index.js";
import { parseCidr } from "../ip/cidr.js";
import { parseLinkIdentity } from "../proxy-protocol/identity.js";
import type { RuleInput } from "../store/types.js";
import { ApiError, type ApiErrorCode } from "./errors.js";
import type { RuleBodyValue } from "./schemas.js";

/** The API's code for each kind of problem the configuration's checks report. */
const API_CODE: Partial<Record<ErrorCode, ApiErrorCode>> = {
  CONFIG_UNKNOWN_KEY: "UNKNOWN_FIELD",
  CONFIG_BAD_IDENTITY: "RULE_INVALID_LINK",
  CONFIG_BAD_CIDR: "RULE_INVALID_CIDR",
  CONFIG_BAD_HOSTNAME: "HOSTNAME_INVALID",
  CONFIG_BAD_ADDRESS: "UPSTREAM_INVALID",
  CONFIG_EMPTY_RULE: "RULE_EMPTY",
};

interface Problem {
  path: string;
  code: ApiErrorCode;
  message: string;
}

function problemOf(issue: ConfigIssue, where: string): Problem {
  const key = formatKey(issue.path);
  return {
    path: key,
    code: API_CODE[issue.code] ?? "VALIDATION_FAILED",
    message: `${key === "" ? where : key}: ${issue.message}`,
  };
}

function raise(problems: Problem[]): never {
  const [first] = problems;
  throw new ApiError(first.code, first.message, {
    extra: { details: problems.map((p) => ({ path: p.path, code: p.code, message: p.message })) },
  });
}

/** `value` as `schema` describes it, or a 400 naming every problem. `where`: "body", "query". */
export function checkSchema<T>(schema: object, value: unknown, where: string): T {
  const issues = schemaIssuesFor(schema, value);
  if (issues.length > 0) raise(issues.map((i) => problemOf(i, where)));
  return value as T;
}

/** The exact AWS form the API accepts: "vpce-" and 17 hex digits, or 8 for older endpoints. */
const AWS_VPCE = /^aws:vpce-(?:[0-9a-f]{17}|[0-9a-f]{8})$/;

/** Why `text` is not an identity the API accepts, or null. */
export function linkProblem(text: string): string | null {
  const parsed = parseLinkIdentity(text);
  if (!(parsed instanceof ParseError)) {
    if (parsed.provider !== "aws" || AWS_VPCE.test(text)) return null;
    return `"${text}" is not an AWS VPC endpoint ID: "aws:vpce-" and 17 (or, for older endpoints, 8) lower-case hex digits`;
  }
  const lower = text.toLowerCase();
  const hint = lower !== text && linkProblem(lower) === null ? `; did you mean "${lower}"?` : "";
  return `${parsed.message}${hint}`;
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

/**
 * An RFC 3339 time in milliseconds, or null. Stricter than Date.parse, which turns
 * "2025-02-30" into March 2nd and accepts "24:00".
 */
export function parseRfc3339(text: string): number | null {
  const m = RFC3339.exec(text);
  if (m === null) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const offsetHours = m[8] === undefined ? 0 : Number(m[9]);
  const offsetMinutes = m[8] === undefined ? 0 : Number(m[10]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return null;
  if (hour > 23 || minute > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59) {
    return null;
  }
  const fraction = m[7] === undefined ? 0 : Math.floor(Number(`0${m[7]}`) * 1000);
  const offset = (m[8] === "-" ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000;
  return Date.UTC(year, month - 1, day, hour, minute, second, fraction) - offset;
}

/** A rule of a request, checked: the store's input, the CIDR in canonical form. */
export function ruleInput(body: RuleBodyValue, path: ConfigPath, now: number): RuleInput {
  const problems: Problem[] = [];
  const at = (key: string) => formatKey([...path, key]);
  const link = body.link ?? null;
  const cidrText = body.cidr ?? null;
  if (link === null && cidrText === null) {
    problems.push({
      path: formatKey(path),
      code: "RULE_EMPTY",
      message: `${formatKey(path) || "rule"}: a rule needs a link, a cidr, or both, as in {"link": "aws:vpce-0123456789abcdef0"} or {"cidr": "203.0.113.0/24"}`,
    });
  }
  if (link !== null) {
    const problem = linkProblem(link);
    if (problem !== null)
      problems.push({
        path: at("link"),
        code: "RULE_INVALID_LINK",
        message: `${at("link")}: ${problem}`,
      });
  }
  let cidr: string | null = null;
  if (cidrText !== null) {
    // Host bits are refused, not masked: "10.0.0.1/8" is more often a typo than a wish for
    // 10.0.0.0/8, and the file refuses it too. Other spellings are stored canonically.
    const parsed = parseCidr(cidrText);
    if (parsed.ok) cidr = parsed.cidr.text;
    else
      problems.push({
        path: at("cidr"),
        code: "RULE_INVALID_CIDR",
        message: `${at("cidr")}: ${parsed.message}`,
      });
  }
  let expiresAt: number | null = null;
  if (body.expiresAt !== undefined && body.expiresAt !== null) {
    const ms = parseRfc3339(body.expiresAt);
    if (ms === null) {
      problems.push({
        path: at("expiresAt"),
        code: "RULE_INVALID_EXPIRY",
        message: `${at("expiresAt")}: "${body.expiresAt}" is not a valid date and time`,
      });
    } else if (ms <= now) {
      problems.push({
        path: at("expiresAt"),
        code: "RULE_INVALID_EXPIRY",
        message: `${at("expiresAt")}: ${body.expiresAt} is not in the future (now is ${new Date(now).toISOString()})`,
      });
    } else {
      expiresAt = ms;
    }
  }
  if (problems.length > 0) raise(problems);
  return { link, cidr, description: body.description ?? null, expiresAt };
}

/** Rules of a request, each checked, duplicates refused (RULE_DUPLICATE). */
export function ruleInputs(
  bodies: readonly RuleBodyValue[],
  path: ConfigPath,
  now: number,
): RuleInput[] {
  const seen = new Map<string, number>();
  return bodies.map((body, i) => {
    const rule = ruleInput(body, [...path, i], now);
    const key = `${rule.link ?? ""} ${rule.cidr ?? ""}`;
    const first = seen.get(key);
    if (first !== undefined) {
      throw new ApiError(
        "RULE_DUPLICATE",
        `${formatKey([...path, i])}: the same rule as ${formatKey([...path, first])}`,
      );
    }
    seen.set(key, i);
    return rule;
  });
}

/** Host names of a request: lower-case DNS names, each once. */
export function hostnamesInput(hostnames: readonly string[]): string[] {
  const seen = new Set<string>();
  hostnames.forEach((name, i) => {
    const path = formatKey(["hostnames", i]);
    const problem = dnsNameProblem(name, true);
    if (problem !== null) throw new ApiError("HOSTNAME_INVALID", `${path}: "${name}" ${problem}`);
    if (seen.has(name)) {
      throw new ApiError("HOSTNAME_INVALID", `${path}: "${name}" is listed twice`);
    }
    seen.add(name);
  });
  return [...hostnames];
}

/** An upstream of a request, "host:port", in canonical form. */
export function upstreamInput(text: string): string {
  const parsed = parseHostPort(text, { ipOnly: false, allowPortZero: false });
  if (!parsed.ok) throw new ApiError("UPSTREAM_INVALID", `upstream: ${parsed.message}`);
  return formatHostPort(parsed.value);
}
