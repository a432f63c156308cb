/**
 * The checks every reload makes, whether one process applies it or the primary of
 * `serve --workers N` validates it for its workers: the file loads and validates, the policy
 * compiles, and no listener socket changes (those need a restart).
 */
import { formatConfigError, loadConfigFile } from "../config/index.js";
import type { LinkgateConfig } from "../config/types.js";
import { listenerDifferences } from "../dataplane/gateway.js";
import type { ReloadProblem } from "../observability/logger.js";
import { CompiledPolicy } from "../policy/index.js";

export type PreparedReload =
  | { ok: true; config: LinkgateConfig; policy: CompiledPolicy }
  | { ok: false; errors: ReloadProblem[] };

/** Compiles `config` and checks that it keeps the listeners of `current`. */
export function prepareConfig(config: LinkgateConfig, current: LinkgateConfig): PreparedReload {
  let policy: CompiledPolicy;
  try {
    policy = new CompiledPolicy(config);
  } catch (error) {
    return { ok: false, errors: [{ message: (error as Error).message }] };
  }
  const needsRestart = listenerDifferences(current, config);
  if (needsRestart.length > 0) {
    return {
      ok: false,
      errors: needsRestart.map((m) => ({
        code: "CONFIG_NEEDS_RESTART",
        message: `${m}: listener sockets change only on restart`,
      })),
    };
  }
  return { ok: true, config, policy };
}

/** Loads `file` and prepares it against the configuration in force. */
export async function prepareReload(
  file: string,
  current: LinkgateConfig,
): Promise<PreparedReload> {
  const loaded = await loadConfigFile(file);
  if (!loaded.ok) {
    return {
      ok: false,
      errors: loaded.errors.map((e) => ({ ...e, message: formatConfigError(e) })),
    };
  }
  return prepareConfig(loaded.config, current);
}
