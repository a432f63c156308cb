/** Host patterns: "{tenant}.api.example.com", where {tenant} is exactly one DNS label. */
import { labelProblem } from "./dns.js";

export const TENANT_PLACEHOLDER = "{tenant}";

export interface HostPattern {
  text: string;
  /** The labels, with TENANT_PLACEHOLDER at `tenantIndex`. */
  labels: string[];
  tenantIndex: number;
}

export type HostPatternResult = { ok: true; pattern: HostPattern } | { ok: false; message: string };

/** Parses and checks a pattern: one whole-label {tenant}, the rest a valid lower-case DNS name. */
export function parseHostPattern(text: string): HostPatternResult {
  const fail = (message: string): HostPatternResult => ({ ok: false, message });
  if (text.toLowerCase() !== text) return fail(`must be lower case: "${text.toLowerCase()}"`);
  if (text.endsWith(".")) return fail(`ends with "."; write "${text.slice(0, -1)}"`);
  const labels = text.split(".");
  let tenantIndex = -1;
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (label === TENANT_PLACEHOLDER) {
      if (tenantIndex >= 0) return fail("has {tenant} more than once; it must appear exactly once");
      tenantIndex = i;
      continue;
    }
    if (label.includes("{") || label.includes("}")) {
      if (/^\{[^{}]*\}$/.test(label)) return fail(`has ${label}: the only placeholder is {tenant}`);
      return fail(
        `has "${label}": {tenant} must be a whole label, as in "{tenant}.api.example.com"`,
      );
    }
    const problem = labelProblem(label);
    if (problem !== null) return fail(problem);
  }
  if (tenantIndex < 0) {
    return fail('has no {tenant} placeholder, as in "{tenant}.api.example.com"');
  }
  if (labels.length < 2) {
    return fail('needs at least one label beside {tenant}, as in "{tenant}.api.example.com"');
  }
  // The shortest host name it matches has a one-character tenant label.
  if (text.length - TENANT_PLACEHOLDER.length + 1 > 253) {
    return fail("is too long: host names have at most 253 characters");
  }
  const last = labels[labels.length - 1];
  if (/^[0-9]+$/.test(last))
    return fail("ends in a number: host names cannot look like IP addresses");
  return { ok: true, pattern: { text, labels, tenantIndex } };
}

/** The tenant label that `host` (lower case) gives under `pattern`, or null if it does not match. */
export function matchHostPattern(pattern: HostPattern, host: string): string | null {
  const labels = host.split(".");
  if (labels.length !== pattern.labels.length) return null;
  for (let i = 0; i < labels.length; i++) {
    if (i === pattern.tenantIndex) {
      if (labels[i] === "") return null;
    } else if (labels[i] !== pattern.labels[i]) {
      return null;
    }
  }
  return labels[pattern.tenantIndex];
}

/**
 * A host name that two patterns both match with different tenants, or null when they cannot
 * conflict. ("{tenant}.example.com" and "api.{tenant}.com" both match "api.example.com".)
 */
export function patternConflict(a: HostPattern, b: HostPattern): string | null {
  if (a.labels.length !== b.labels.length || a.tenantIndex === b.tenantIndex) return null;
  const host: string[] = [];
  for (let i = 0; i < a.labels.length; i++) {
    if (i === a.tenantIndex) host.push(b.labels[i]);
    else if (i === b.tenantIndex) host.push(a.labels[i]);
    else if (a.labels[i] === b.labels[i]) host.push(a.labels[i]);
    else return null;
  }
  return host.join(".");
}
