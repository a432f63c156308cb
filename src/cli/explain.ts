/** `linkgate explain`: the decision for a connection, as JSON, without touching the network. */
import { formatConfigErrors, loadConfigFile } from "../config/index.js";
import { ERROR_CATALOGUE, ParseError } from "../errors/index.js";
import { parseIp } from "../ip/address.js";
import { CompiledPolicy } from "../policy/index.js";
import { parseLinkIdentity } from "../proxy-protocol/index.js";
import { CommandFailure, EXIT_INVALID, type Io, printJson, usageError } from "./output.js";

export interface ExplainFlags {
  config: string;
  host: string;
  link?: string;
  source?: string;
  listener?: string;
  compact?: boolean;
}

export async function explainCommand(flags: ExplainFlags, io: Io): Promise<void> {
  const host = flags.host.toLowerCase().replace(/\.$/, "");
  let link: string | null = null;
  if (flags.link !== undefined) {
    const parsed = parseLinkIdentity(flags.link);
    if (parsed instanceof ParseError) throw usageError(`--link: ${parsed.message}`);
    link = parsed.id;
  }
  const source = flags.source === undefined ? null : parseIp(flags.source);
  if (flags.source !== undefined && source === null) {
    throw usageError(`--source ${JSON.stringify(flags.source)} is not an IPv4 or IPv6 address`);
  }
  const loaded = await loadConfigFile(flags.config);
  if (!loaded.ok) {
    io.stderr(formatConfigErrors(loaded.errors));
    throw new CommandFailure(EXIT_INVALID);
  }
  const policy = new CompiledPolicy(loaded.config);
  if (flags.listener !== undefined) {
    const l = policy.listeners.get(flags.listener);
    if (l === undefined) {
      throw usageError(
        `--listener ${flags.listener}: no such listener (${[...policy.listeners.keys()].join(", ")})`,
      );
    }
    if (l.config.proxyProtocol === "none" && link !== null) {
      throw usageError(
        `--listener ${flags.listener} forbids the PROXY header, so a connection there has no --link`,
      );
    }
  }
  const bytes = new Uint8Array(16);
  if (source !== null) bytes.set(source.bytes);
  const d = policy.decide({
    sni: host,
    link,
    sourceFamily: source?.family ?? 0,
    sourceBytes: bytes,
  });
  const rule = d.tenant !== null && d.ruleIndex >= 0 ? d.tenant.rules[d.ruleIndex] : null;
  printJson(
    io,
    {
      input: { host, link, source: flags.source ?? null, listener: flags.listener ?? null },
      decision: d.verdict,
      forwarded: d.verdict !== "deny",
      reason: d.reason,
      explanation: ERROR_CATALOGUE[d.reason],
      tenant: d.tenant?.id ?? null,
      enforcement: d.tenant?.enforcement ?? null,
      rule: rule === null ? null : { index: d.ruleIndex, ...rule },
      upstream: d.upstreamText,
      upstreamProxyProtocol:
        d.upstream === null ? null : loaded.config.routing.upstreamProxyProtocol,
    },
    flags.compact ?? false,
  );
}
