/**
 * `linkgate simulate`: connects the way a cloud load balancer does (a PROXY v2 header with an
 * endpoint identity, then a TLS handshake with an SNI) and reports whether the connection got
 * through to an upstream (the TLS handshake completed) or was closed before.
 */
import net from "node:net";
import { performance } from "node:perf_hooks";
import tls from "node:tls";
import { ParseError } from "../errors/index.js";
import { parseIpPort } from "../ip/address.js";
import { encodeProxyHeaderV2, parseLinkIdentity } from "../proxy-protocol/index.js";
import { CommandFailure, EXIT_INVALID, type Io, printJson, usageError } from "./output.js";

export interface SimulateOptions {
  host: string;
  port: number;
  servername: string;
  /** Bytes sent before the TLS handshake (a PROXY header), or null. */
  preamble: Buffer | null;
  timeoutMs: number;
  /** The local address to connect from (127.0.0.x on loopback: another peer); default any. */
  localAddress?: string;
  /** Once accepted, keep the session open this long (ms), and say whether it was cut. */
  holdMs?: number;
}

export interface SimulateResult {
  result: "accepted" | "dropped";
  detail: string;
  ms: number;
  /** The upstream's certificate subject, when the handshake completed. */
  certificate: string | null;
  alpn: string | null;
  /** With holdMs: "held" (open for all of it), or "cut" (closed after `ms` in all). */
  hold?: "held" | "cut";
}

export function simulateConnection(o: SimulateOptions): Promise<SimulateResult> {
  return new Promise((resolve) => {
    const started = performance.now();
    let done = false;
    const finish = (r: Omit<SimulateResult, "ms">) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      raw.destroy();
      resolve({ ...r, ms: Math.round((performance.now() - started) * 1000) / 1000 });
    };
    const dropped = (detail: string) =>
      finish({ result: "dropped", detail, certificate: null, alpn: null });
    const timer = setTimeout(() => dropped(`no answer within ${o.timeoutMs} ms`), o.timeoutMs);
    const raw = net.connect({ host: o.host, port: o.port, localAddress: o.localAddress });
    raw.on("error", (e) => dropped(`connection failed: ${e.message}`));
    raw.once("connect", () => {
      if (o.preamble !== null) raw.write(o.preamble);
      const secure = tls.connect({
        socket: raw,
        servername: o.servername,
        rejectUnauthorized: false,
        ALPNProtocols: ["h2", "http/1.1"],
      });
      secure.on("secureConnect", () => {
        const cert = secure.getPeerCertificate();
        const accepted = {
          result: "accepted" as const,
          detail: "the TLS handshake completed: linkgate forwarded the connection to an upstream",
          certificate: cert?.subject
            ? Object.entries(cert.subject)
                .map(([k, v]) => `${k}=${v}`)
                .join(", ")
            : null,
          alpn: secure.alpnProtocol || null,
        };
        if (o.holdMs === undefined) return finish(accepted);
        // Held open: a revocation (POLICY_REVOKED) or a timeout of linkgate's closes it.
        clearTimeout(timer);
        secure.resume();
        holding = accepted;
        held = setTimeout(() => finish({ ...accepted, hold: "held" }), o.holdMs);
      });
      let holding: Omit<SimulateResult, "ms"> | null = null;
      let held: NodeJS.Timeout | undefined;
      const cut = () => {
        clearTimeout(held);
        finish({
          ...(holding as Omit<SimulateResult, "ms">),
          hold: "cut",
          detail: "accepted, then closed by linkgate or the upstream while held open",
        });
      };
      secure.on("error", (e) => {
        if (holding !== null) return cut();
        dropped(
          `closed before the TLS handshake completed (${e.message}): dropped or denied by linkgate, or the upstream failed`,
        );
      });
      secure.on("close", () => {
        if (holding !== null) return cut();
        dropped("closed before the TLS handshake completed");
      });
    });
  });
}

export interface SimulateFlags {
  to: string;
  host: string;
  awsVpce?: string;
  azureLink?: string;
  gcpPsc?: string;
  link?: string;
  source: string;
  destination?: string;
  proxy: boolean;
  timeout: number;
  hold?: number;
  compact?: boolean;
}

export async function simulateCommand(f: SimulateFlags, io: Io): Promise<void> {
  const to = parseIpPort(f.to);
  if (to === null) throw usageError(`--to ${JSON.stringify(f.to)} is not IPv4:PORT or [IPv6]:PORT`);
  const host = f.to.startsWith("[")
    ? f.to.slice(1, f.to.indexOf("]"))
    : f.to.slice(0, f.to.lastIndexOf(":"));
  const identities = [
    f.awsVpce === undefined ? null : `aws:${f.awsVpce}`,
    f.azureLink === undefined ? null : `azure:${f.azureLink}`,
    f.gcpPsc === undefined ? null : `gcp:${f.gcpPsc}`,
    f.link ?? null,
  ].filter((x): x is string => x !== null);
  if (identities.length > 1)
    throw usageError("give at most one of --aws-vpce, --azure-link, --gcp-psc and --link");
  let link: string | null = null;
  if (identities.length === 1) {
    const parsed = parseLinkIdentity(identities[0]);
    if (parsed instanceof ParseError) throw usageError(parsed.message);
    link = parsed.id;
  }
  if (!f.proxy && link !== null)
    throw usageError("--no-proxy sends no PROXY header, so it cannot carry an identity");
  const source = parseIpPort(f.source);
  const destination = parseIpPort(f.destination ?? f.to);
  if (source === null || destination === null)
    throw usageError("--source and --destination are IP:PORT");
  if (source.ip.family !== destination.ip.family)
    throw usageError("--source and --destination must be the same IP family");
  const addr = (text: string) =>
    text.startsWith("[") ? text.slice(1, text.indexOf("]")) : text.slice(0, text.lastIndexOf(":"));
  const preamble = f.proxy
    ? encodeProxyHeaderV2({
        source: { address: addr(f.source), port: source.port },
        destination: { address: addr(f.destination ?? f.to), port: destination.port },
        ...(link === null ? {} : { link }),
        crc32c: true,
      })
    : null;
  const r = await simulateConnection({
    host,
    port: to.port,
    servername: f.host,
    preamble,
    timeoutMs: f.timeout,
    holdMs: f.hold,
  });
  printJson(
    io,
    {
      to: f.to,
      host: f.host,
      proxyHeader: f.proxy ? "v2" : "none",
      link,
      source: f.proxy ? f.source : null,
      ...r,
    },
    f.compact ?? false,
  );
  if (r.result !== "accepted") throw new CommandFailure(EXIT_INVALID);
}
