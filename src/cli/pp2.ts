/** `linkgate pp2 decode` and `linkgate pp2 encode`. */
import { LinkgateError, ParseError } from "../errors/index.js";
import { parseIpPort } from "../ip/address.js";
import {
  decodeProxyHeader,
  type EncodeV2Options,
  encodeProxyHeaderV1,
  encodeProxyHeaderV2,
  headerToJSON,
  parseLinkIdentity,
} from "../proxy-protocol/index.js";
import {
  CommandFailure,
  EXIT_INVALID,
  errorDocument,
  type Io,
  printJson,
  usageError,
} from "./output.js";

/** Hex digits with optional "0x" prefix; spaces, newlines and colons between bytes are ignored. */
export function parseHexInput(text: string): Buffer | ParseError {
  const compact = text.replace(/^0x/i, "").replace(/[\s:]/g, "");
  if (!/^[0-9a-fA-F]*$/.test(compact)) {
    const bad = compact.search(/[^0-9a-fA-F]/);
    return new ParseError(
      "CLI_BAD_INPUT",
      `not hexadecimal: ${JSON.stringify(compact[bad])} at character ${bad}`,
      bad,
    );
  }
  if (compact.length % 2 !== 0) {
    return new ParseError("CLI_BAD_INPUT", "odd number of hex digits", compact.length);
  }
  return Buffer.from(compact, "hex");
}

export interface DecodeFlags {
  compact?: boolean;
  maxHeaderSize?: number;
}

export async function decodeCommand(input: string, flags: DecodeFlags, io: Io): Promise<void> {
  const bytes = input === "-" ? await io.readStdin() : parseHexInput(input);
  const result =
    bytes instanceof ParseError
      ? bytes
      : decodeProxyHeader(bytes, { maxHeaderSize: flags.maxHeaderSize ?? 4096 });
  if (result instanceof ParseError) {
    printJson(io, errorDocument(result), flags.compact ?? false);
    throw new CommandFailure(EXIT_INVALID);
  }
  const trailing = (bytes as Buffer).length - result.headerLength;
  printJson(io, { ...headerToJSON(result), trailingBytes: trailing }, flags.compact ?? false);
}

export interface EncodeFlags {
  source?: string;
  destination?: string;
  awsVpce?: string;
  azureLink?: string;
  gcpPsc?: string;
  link?: string;
  authority?: string;
  alpn?: string;
  uniqueId?: string;
  crc32c?: boolean;
  padTo?: number;
  local?: boolean;
  udp?: boolean;
  v1?: boolean;
  raw?: boolean;
}

function address(text: string, flag: string): { address: string; port: number; v6: boolean } {
  const parsed = parseIpPort(text);
  if (parsed === null) {
    throw usageError(`${flag} ${JSON.stringify(text)} is not IPv4:PORT or [IPv6]:PORT`);
  }
  const address = text.startsWith("[")
    ? text.slice(1, text.indexOf("]"))
    : text.slice(0, text.lastIndexOf(":"));
  return { address, port: parsed.port, v6: parsed.ip.family === 6 };
}

function identityFromFlags(f: EncodeFlags): string | undefined {
  const given = [
    f.awsVpce === undefined ? null : `aws:${f.awsVpce}`,
    f.azureLink === undefined ? null : `azure:${f.azureLink}`,
    f.gcpPsc === undefined ? null : `gcp:${f.gcpPsc}`,
    f.link ?? null,
  ].filter((x): x is string => x !== null);
  if (given.length > 1) {
    throw usageError("give at most one of --aws-vpce, --azure-link, --gcp-psc and --link");
  }
  if (given.length === 0) return undefined;
  const parsed = parseLinkIdentity(given[0]);
  if (parsed instanceof ParseError) throw usageError(parsed.message);
  return parsed.id;
}

export function encodeCommand(f: EncodeFlags, io: Io): void {
  const src = f.source === undefined ? undefined : address(f.source, "--source");
  const dst = f.destination === undefined ? undefined : address(f.destination, "--destination");
  if ((src === undefined) !== (dst === undefined)) {
    throw usageError("give both --source and --destination, or neither");
  }
  if (src !== undefined && dst !== undefined && src.v6 !== dst.v6) {
    throw usageError("--source and --destination must both be IPv4 or both IPv6");
  }
  if (src === undefined && !f.local && !f.v1) {
    throw usageError("--source and --destination are required unless --local");
  }
  const link = identityFromFlags(f);
  let out: Buffer;
  try {
    if (f.v1) {
      const tlvFlags = [link, f.authority, f.alpn, f.uniqueId, f.crc32c, f.padTo, f.local, f.udp];
      if (tlvFlags.some((x) => x !== undefined && x !== false)) {
        throw usageError("--v1 carries only addresses: TLV, --local and --udp flags need v2");
      }
      out = encodeProxyHeaderV1(src === undefined ? {} : { source: src, destination: dst });
    } else {
      const v6 = src?.v6 ?? false;
      const o: EncodeV2Options = {
        command: f.local ? "local" : "proxy",
        link,
        authority: f.authority,
        alpn: f.alpn,
        uniqueId: f.uniqueId,
        crc32c: f.crc32c ?? false,
        padTo: f.padTo,
      };
      if (src !== undefined) {
        o.family = f.udp ? (v6 ? "udp6" : "udp4") : v6 ? "tcp6" : "tcp4";
        o.source = src;
        o.destination = dst;
      }
      out = encodeProxyHeaderV2(o);
    }
  } catch (error) {
    if (error instanceof LinkgateError) {
      printJson(io, errorDocument(error), false);
      throw new CommandFailure(EXIT_INVALID);
    }
    throw error;
  }
  if (f.raw) io.stdout(out.toString("latin1"));
  else io.stdout(`${out.toString("hex")}\n`);
}
