import { ParseError } from "../errors/index.js";
import type { ClientHello } from "./client-hello.js";
import { RECORD_HEADER_LENGTH } from "./constants.js";

/**
 * The hello's SNI, or TLS_NO_SNI when it has none. The decoder reports a missing SNI as null
 * rather than an error, since a listener with a default upstream may accept it; a listener that
 * routes by SNI only calls this to get the coded reason for the drop. The offset is where the
 * hello's records end, the point at which the absence is known.
 */
export function requireSni(hello: ClientHello): string | ParseError {
  if (hello.sni !== null) return hello.sni;
  return new ParseError(
    "TLS_NO_SNI",
    "the ClientHello has no server_name extension",
    hello.helloLength + RECORD_HEADER_LENGTH * hello.recordCount,
  );
}
