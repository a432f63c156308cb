/**
 * Configuration: the file format (schema), its validation, and the resolved LinkgateConfig.
 *
 *   const result = await loadConfigFile("linkgate.yaml");
 *   if (!result.ok) { process.stderr.write(formatConfigErrors(result.errors)); exit(1); }
 *   use(result.config);
 */

export type { Cidr, CidrResult } from "../ip/cidr.js";
export { parseCidr } from "../ip/cidr.js";
export type { HostPortResult, HostPortRules } from "./address.js";
export { formatHostPort, parseHostPort } from "./address.js";
export { formatDurationMs, parseDuration } from "./duration.js";
export type { ConfigError, ConfigIssue, ConfigPath } from "./errors.js";
export { formatConfigError, formatConfigErrors, formatKey } from "./errors.js";
export type { ConfigResult } from "./load.js";
export {
  configFromValue,
  loadConfigFile,
  MAX_CONFIG_BYTES,
  parseConfigText,
  validateConfigValue,
} from "./load.js";
export type { HostPattern, HostPatternResult } from "./patterns.js";
export { matchHostPattern, parseHostPattern, TENANT_PLACEHOLDER } from "./patterns.js";
export { resolveConfig } from "./resolve.js";
export * from "./schema.js";
export type * from "./types.js";
export { createAjv, schemaIssuesFor } from "./validate.js";
export { type ConfigWarning, configWarnings } from "./warnings.js";

import type { LinkgateConfig } from "./types.js";

/** Counts for a one-line summary: "2 listeners, 3 tenants, 5 rules". */
export function summarizeConfig(config: LinkgateConfig): {
  listeners: number;
  tenants: number;
  rules: number;
} {
  return {
    listeners: config.listeners.length,
    tenants: config.tenants.length,
    rules: config.tenants.reduce((n, t) => n + (t.allow?.rules.length ?? 0), 0),
  };
}
