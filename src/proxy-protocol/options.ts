import { LinkgateError } from "../errors/index.js";
import { V2_FIXED_LENGTH, V2_MAX_LENGTH } from "./constants.js";

export interface DecoderOptions {
  /** PROXY protocol versions accepted; default both. */
  versions?: readonly (1 | 2)[];
  /** Cap on the whole v2 header (16 + len), in bytes; default 4096, at most 65551. */
  maxHeaderSize?: number;
  /** Cap on the AUTHORITY value; default 255 (a DNS name). */
  maxAuthorityLength?: number;
  /** Cap on the UNIQUE_ID value; default 128 (the spec's limit). */
  maxUniqueIdLength?: number;
  /** Cap on any other TLV value, NOOP padding included; default 1024 (as HAProxy). */
  maxTlvValueLength?: number;
  /**
   * Reject PROXY headers without a CRC32C TLV; default false. AWS NLB always sends one; with
   * this set, a corrupted CRC TLV type byte (which makes the TLV unknown) cannot pass.
   */
  requireCrc32c?: boolean;
}

/** @internal Options checked once, then read on every parse. */
export interface ResolvedOptions {
  readonly allowV1: boolean;
  readonly allowV2: boolean;
  readonly maxHeaderSize: number;
  readonly maxAuthorityLength: number;
  readonly maxUniqueIdLength: number;
  readonly maxTlvValueLength: number;
  readonly requireCrc32c: boolean;
}

function checkInt(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new LinkgateError(
      "PP_BAD_OPTION",
      `PROXY decoder option ${name} must be an integer from ${min} to ${max}, not ${value}`,
    );
  }
  return value;
}

export function resolveOptions(options: DecoderOptions = {}): ResolvedOptions {
  const versions = options.versions ?? [1, 2];
  if (versions.length === 0 || versions.some((v) => v !== 1 && v !== 2)) {
    throw new LinkgateError("PP_BAD_OPTION", "PROXY decoder option versions must list 1 and/or 2");
  }
  return Object.freeze({
    allowV1: versions.includes(1),
    allowV2: versions.includes(2),
    maxHeaderSize: checkInt(
      "maxHeaderSize",
      options.maxHeaderSize ?? 4096,
      V2_FIXED_LENGTH,
      V2_MAX_LENGTH,
    ),
    maxAuthorityLength: checkInt("maxAuthorityLength", options.maxAuthorityLength ?? 255, 1, 65535),
    maxUniqueIdLength: checkInt("maxUniqueIdLength", options.maxUniqueIdLength ?? 128, 0, 65535),
    maxTlvValueLength: checkInt("maxTlvValueLength", options.maxTlvValueLength ?? 1024, 0, 65535),
    requireCrc32c: options.requireCrc32c ?? false,
  });
}

export const DEFAULT_OPTIONS = resolveOptions();
