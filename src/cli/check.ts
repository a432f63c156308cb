/** `linkgate check --config F`: validate a configuration file without starting anything. */
import {
  configWarnings,
  formatConfigErrors,
  loadConfigFile,
  summarizeConfig,
} from "../config/index.js";
import { CommandFailure, EXIT_INVALID, type Io, printJson } from "./output.js";

export interface CheckFlags {
  config: string;
  json?: boolean;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/**
 * Valid: a one-line summary on stdout ("F: ok — 2 listeners, 3 tenants, 5 rules"), exit 0;
 * warnings (configWarnings: valid, but probably not as meant) on stderr, still exit 0.
 * Invalid or unreadable: every error on stderr, one per line
 * ("F:LINE:COLUMN: KEY: message [CODE]"), exit 1. With --json: {ok, file, errors[], summary?}
 * on stdout instead, same exit codes.
 */
export async function checkCommand(flags: CheckFlags, io: Io): Promise<void> {
  const file = flags.config;
  const result = await loadConfigFile(file);
  if (flags.json) {
    if (result.ok) {
      const summary = summarizeConfig(result.config);
      const warnings = configWarnings(result.config);
      printJson(io, { ok: true, file, errors: [], warnings, summary }, false);
      return;
    }
    printJson(io, { ok: false, file, errors: result.errors }, false);
    throw new CommandFailure(EXIT_INVALID);
  }
  if (!result.ok) {
    io.stderr(formatConfigErrors(result.errors));
    throw new CommandFailure(EXIT_INVALID);
  }
  for (const w of configWarnings(result.config)) {
    io.stderr(`${file}: warning: ${w.key}: ${w.message} [${w.code}]\n`);
  }
  const s = summarizeConfig(result.config);
  io.stdout(
    `${file}: ok — ${plural(s.listeners, "listener")}, ${plural(s.tenants, "tenant")}, ${plural(s.rules, "rule")}\n`,
  );
}
