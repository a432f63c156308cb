/**
 * Cloud Private Link identities: the endpoint a connection came through.
 *
 * - AWS PrivateLink: TLV 0xEA, subtype 0x01, then the VPC endpoint ID in ASCII ("vpce-...").
 * - Azure Private Link: TLV 0xEE, subtype 0x01, then the LINKID as a little-endian uint32.
 * - GCP Private Service Connect: TLV 0xE0, the pscConnectionId as a big-endian uint64 (no
 *   subtype). It exceeds 2^53, so it is never a JS number.
 *
 * Identities are written "aws:vpce-0123456789abcdef0", "azure:553665985",
 * "gcp:18446744072646845442": the form used in configuration, logs and metrics.
 *
 * Decoded identities are interned in small direct-mapped caches, so the thousandth connection
 * from one endpoint allocates no string and no object for its identity. The caches have a fixed
 * size: an attacker cycling through IDs only causes misses, never growth.
 */
import { ParseError } from "../errors/index.js";
import { AWS_SUBTYPE_VPCE_ID, AZURE_SUBTYPE_LINKID, TLV } from "./constants.js";

export type Provider = "aws" | "azure" | "gcp";

export interface LinkIdentity {
  readonly provider: Provider;
  /** The normalised identity, provider prefix included: "aws:vpce-...", "azure:N", "gcp:N". */
  readonly id: string;
}

/** Longest accepted VPC endpoint ID: "vpce-" and up to 59 characters. */
export const AWS_VPCE_ID_MAX = 64;

function makeIdentity(provider: Provider, id: string): LinkIdentity {
  return Object.freeze({ provider, id });
}

const CACHE_SIZE = 4096;
const CACHE_MASK = CACHE_SIZE - 1;

const awsKeys: (Uint8Array | undefined)[] = new Array(CACHE_SIZE);
const awsValues: (LinkIdentity | undefined)[] = new Array(CACHE_SIZE);
const azureKeys = new Float64Array(CACHE_SIZE).fill(-1);
const azureValues: (LinkIdentity | undefined)[] = new Array(CACHE_SIZE);
const gcpHi = new Float64Array(CACHE_SIZE).fill(-1);
const gcpLo = new Float64Array(CACHE_SIZE).fill(-1);
const gcpValues: (LinkIdentity | undefined)[] = new Array(CACHE_SIZE);

function isVpceChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a);
}

/**
 * Checks that bytes [start, end) hold "vpce-" followed by 1 to 59 lower-case letters or
 * digits. AWS IDs are "vpce-" and 17 (formerly 8) hex digits; letters beyond f are accepted so
 * that a format change does not lock customers out, while anything else fails closed.
 */
export function isValidVpceId(buf: Uint8Array, start: number, end: number): boolean {
  const n = end - start;
  if (n < 6 || n > AWS_VPCE_ID_MAX) return false;
  if (
    buf[start] !== 0x76 ||
    buf[start + 1] !== 0x70 ||
    buf[start + 2] !== 0x63 ||
    buf[start + 3] !== 0x65 ||
    buf[start + 4] !== 0x2d
  ) {
    return false;
  }
  for (let i = start + 5; i < end; i++) if (!isVpceChar(buf[i])) return false;
  return true;
}

/**
 * The interned identity for the VPC endpoint ID at buf[start, end), or null when it is not a
 * valid ID. A cache hit proves the bytes equal an ID validated before, so only misses validate.
 */
export function awsIdentity(buf: Uint8Array, start: number, end: number): LinkIdentity | null {
  const n = end - start;
  if (n < 6 || n > AWS_VPCE_ID_MAX) return null;
  // The distinguishing part of an ID is its tail: hash the length and the last (up to) 8 bytes.
  let h = Math.imul(n, 0x9e3779b1);
  for (let i = end - Math.min(n, 8); i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
  const slot = (h ^ (h >>> 15)) & CACHE_MASK;
  const key = awsKeys[slot];
  if (key !== undefined && key.length === n) {
    let i = 0;
    while (i < n && key[i] === buf[start + i]) i++;
    if (i === n) return awsValues[slot] as LinkIdentity;
  }
  if (!isValidVpceId(buf, start, end)) return null;
  const copy = new Uint8Array(n);
  for (let k = 0; k < n; k++) copy[k] = buf[start + k];
  let text = "aws:";
  for (let k = 0; k < n; k++) text += String.fromCharCode(copy[k]);
  const identity = makeIdentity("aws", text);
  awsKeys[slot] = copy;
  awsValues[slot] = identity;
  return identity;
}

/** The interned identity for an Azure LINKID. */
export function azureIdentity(linkId: number): LinkIdentity {
  const slot = (Math.imul(linkId, 0x9e3779b1) >>> 20) & CACHE_MASK;
  if (azureKeys[slot] === linkId) return azureValues[slot] as LinkIdentity;
  const identity = makeIdentity("azure", `azure:${linkId}`);
  azureKeys[slot] = linkId;
  azureValues[slot] = identity;
  return identity;
}

/** The interned identity for a GCP pscConnectionId given as two unsigned 32-bit halves. */
export function gcpIdentity(hi: number, lo: number): LinkIdentity {
  const slot = (Math.imul(hi ^ Math.imul(lo, 0x9e3779b1), 0x85ebca6b) >>> 20) & CACHE_MASK;
  if (gcpHi[slot] === hi && gcpLo[slot] === lo) return gcpValues[slot] as LinkIdentity;
  const value = (BigInt(hi) << 32n) | BigInt(lo);
  const identity = makeIdentity("gcp", `gcp:${value}`);
  gcpHi[slot] = hi;
  gcpLo[slot] = lo;
  gcpValues[slot] = identity;
  return identity;
}

const UINT32_MAX = 0xffffffff;
const UINT64_MAX = (1n << 64n) - 1n;

/** Decimal without sign or leading zeros. */
function isCanonicalDecimal(text: string): boolean {
  return /^(0|[1-9][0-9]*)$/.test(text);
}

/**
 * Parses an identity as written in configuration: "aws:vpce-...", "azure:<uint32>" or
 * "gcp:<uint64>", in canonical form (lower case, decimal without leading zeros).
 */
export function parseLinkIdentity(text: string): LinkIdentity | ParseError {
  const colon = text.indexOf(":");
  const provider = colon < 0 ? "" : text.slice(0, colon);
  const value = colon < 0 ? "" : text.slice(colon + 1);
  const bad = (why: string) =>
    new ParseError("LINK_BAD_IDENTITY", `invalid identity ${JSON.stringify(text)}: ${why}`, 0);
  switch (provider) {
    case "aws": {
      const bytes = Buffer.from(value, "latin1");
      const identity = /^[\x20-\x7e]*$/.test(value) ? awsIdentity(bytes, 0, bytes.length) : null;
      if (identity === null) {
        return bad('an AWS identity is "aws:vpce-" followed by lower-case letters or digits');
      }
      return identity;
    }
    case "azure": {
      if (!isCanonicalDecimal(value) || value.length > 10 || Number(value) > UINT32_MAX) {
        return bad("an Azure LINKID is a decimal uint32 (0 to 4294967295)");
      }
      return azureIdentity(Number(value));
    }
    case "gcp": {
      if (!isCanonicalDecimal(value) || value.length > 20 || BigInt(value) > UINT64_MAX) {
        return bad("a GCP pscConnectionId is a decimal uint64 (0 to 18446744073709551615)");
      }
      const n = BigInt(value);
      return gcpIdentity(Number(n >> 32n), Number(n & 0xffffffffn));
    }
    default:
      return bad('the provider must be "aws", "azure" or "gcp"');
  }
}

/** The TLV (type and value) that carries `identity` in its cloud's own format. */
export function identityTlv(identity: LinkIdentity): { type: number; value: Buffer } {
  const value = identity.id.slice(identity.provider.length + 1);
  switch (identity.provider) {
    case "aws": {
      const out = Buffer.allocUnsafe(1 + value.length);
      out[0] = AWS_SUBTYPE_VPCE_ID;
      out.write(value, 1, "latin1");
      return { type: TLV.AWS, value: out };
    }
    case "azure": {
      const out = Buffer.allocUnsafe(5);
      out[0] = AZURE_SUBTYPE_LINKID;
      out.writeUInt32LE(Number(value), 1);
      return { type: TLV.AZURE, value: out };
    }
    case "gcp": {
      const out = Buffer.allocUnsafe(8);
      out.writeBigUInt64BE(BigInt(value), 0);
      return { type: TLV.GCP, value: out };
    }
  }
}
