/**
 * Linux's `struct sockaddr_in` and `struct sockaddr_in6` as getpeername(2) fills them, read
 * from bytes: `sa_family` in host order (little-endian on x86-64 and arm64, the only Linux
 * machines Bun runs on), the port and the address in network order.
 *
 *   sockaddr_in:  family u16 | port u16 | address 4 bytes | zero 8 bytes      (16 bytes)
 *   sockaddr_in6: family u16 | port u16 | flow info u32 | address 16 bytes | scope id u32 (28)
 */
import { formatIPv6, ipv4Text } from "./address.js";

/** Room for either: sizeof(struct sockaddr_in6). */
export const SOCKADDR_BYTES = 28;

const AF_INET = 2;
const AF_INET6 = 10;

/** Where a decoded address and port go. */
export interface SocketAddressText {
  address: string;
  port: number;
}

/**
 * Decodes the `length` bytes of a sockaddr from getpeername(2) into `into` (the address as
 * `formatIPv4` / `formatIPv6` write it, RFC 5952 for IPv6 with IPv4-mapped ones in mixed
 * notation). False, `into` untouched, for any other family or a short length.
 */
export function decodeSockaddr(
  bytes: Uint8Array,
  length: number,
  into: SocketAddressText,
): boolean {
  const family = bytes[0] | (bytes[1] << 8);
  if (family === AF_INET && length >= 16) {
    // A listener's peers are a load balancer's few addresses: their texts are remembered.
    into.address = ipv4Text(bytes, 4);
  } else if (family === AF_INET6 && length >= 24) {
    into.address = formatIPv6(bytes, 8);
  } else {
    return false;
  }
  into.port = (bytes[2] << 8) | bytes[3];
  return true;
}
