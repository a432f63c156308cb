import { LinkgateError } from "../errors/index.js";

export interface ClientHelloOptions {
  /**
   * Cap on the ClientHello handshake message, its 4-byte header included; default 16384. A
   * Chromium hello with a post-quantum key share is about 2 KB; the cap bounds the memory a
   * connection can pin before it is routed.
   */
  maxHelloSize?: number;
  /**
   * Cap on the TLS records the hello may be spread over; default 32. Real clients use one (two
   * past 16 KiB); many tiny records only serve to evade inspection or burn CPU.
   */
  maxRecords?: number;
}

/** @internal Options checked once, then read on every parse. */
export interface ResolvedClientHelloOptions {
  readonly maxHelloSize: number;
  readonly maxRecords: number;
}

function checkInt(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new LinkgateError(
      "TLS_BAD_OPTION",
      `ClientHello decoder option ${name} must be an integer from ${min} to ${max}, not ${value}`,
    );
  }
  return value;
}

// Options objects already checked, so a decoder per connection does not check them again.
const resolved = new WeakSet<object>();

/** @internal */
export function isResolved(
  options: ClientHelloOptions | ResolvedClientHelloOptions,
): options is ResolvedClientHelloOptions {
  return resolved.has(options);
}

export function resolveClientHelloOptions(
  options: ClientHelloOptions = {},
): ResolvedClientHelloOptions {
  const result: ResolvedClientHelloOptions = Object.freeze({
    // 64 bytes is below any real hello; 256 KiB is above any hello the format allows in practice.
    maxHelloSize: checkInt("maxHelloSize", options.maxHelloSize ?? 16384, 64, 262144),
    maxRecords: checkInt("maxRecords", options.maxRecords ?? 32, 1, 65535),
  });
  resolved.add(result);
  return result;
}

export const DEFAULT_CLIENT_HELLO_OPTIONS = resolveClientHelloOptions();
