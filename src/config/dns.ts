/** DNS names in configuration: tenant host names, host patterns, upstream host names. */

const LABEL_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Why `label` (already lower case) is not an LDH label, or null if it is one. */
export function labelProblem(label: string): string | null {
  if (label.length === 0) return "has an empty label";
  if (label.length > 63) return `has a label of ${label.length} characters (at most 63)`;
  if (LABEL_RE.test(label)) return null;
  if (label.startsWith("-") || label.endsWith("-")) {
    return `has a label that starts or ends with "-" ("${label}")`;
  }
  if (label.includes("*")) return "has a wildcard; use routing.hostPatterns for families of names";
  if (label.includes("_")) return `has "_" ("${label}"), which a host name cannot have`;
  return `has a label with characters other than letters, digits and "-" ("${label}")`;
}

/**
 * Why `name` is not a valid DNS host name, or null if it is. `lowerCaseOnly` rejects upper
 * case (tenant host names are compared byte for byte with the lower-cased SNI).
 */
export function dnsNameProblem(name: string, lowerCaseOnly: boolean): string | null {
  if (name.length === 0) return "is empty";
  if (name.endsWith(".")) return `ends with "."; write "${name.slice(0, -1)}"`;
  if (name.length > 253) return `is ${name.length} characters long (at most 253)`;
  const lower = name.toLowerCase();
  if (lowerCaseOnly && lower !== name) return `must be lower case: "${lower}"`;
  const labels = lower.split(".");
  for (const label of labels) {
    const problem = labelProblem(label);
    if (problem !== null) return problem;
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1])) return "looks like an IP address, not a name";
  return null;
}
