// The API's checks of a rule's link and cidr (src/control/input.ts, src/ip/cidr.ts), run in the
// page as the customer types. The API stays the judge: a test checks that both agree.

const AWS_VPCE = /^vpce-(?:[0-9a-f]{17}|[0-9a-f]{8})$/;
const DECIMAL = /^(?:0|[1-9][0-9]*)$/;
const UINT32_MAX = 4294967295n;
const UINT64_MAX = 18446744073709551615n;

/** @typedef {"aws" | "azure" | "gcp"} Provider */

/**
 * Why `id` (without its "aws:"/"azure:"/"gcp:" prefix) is not an endpoint ID of `provider`, or
 * null when it is one.
 * @param {Provider} provider
 * @param {string} id
 * @returns {string | null}
 */
export function endpointProblem(provider, id) {
  switch (provider) {
    case "aws":
      if (AWS_VPCE.test(id)) return null;
      if (AWS_VPCE.test(id.toLowerCase())) return `use lower case: "${id.toLowerCase()}"`;
      return 'an AWS VPC endpoint ID is "vpce-" and 17 hex digits (8 for older endpoints)';
    case "azure":
      if (DECIMAL.test(id) && id.length <= 10 && BigInt(id) <= UINT32_MAX) return null;
      return "an Azure LinkID is a number from 0 to 4294967295, without leading zeros";
    case "gcp":
      if (DECIMAL.test(id) && id.length <= 20 && BigInt(id) <= UINT64_MAX) return null;
      return "a GCP PSC connection ID is a number from 0 to 18446744073709551615, without leading zeros";
  }
}

/**
 * Why `link` ("aws:vpce-…", "azure:<LinkID>", "gcp:<PSC connection ID>") is not an identity
 * the API accepts, or null.
 * @param {string} link
 * @returns {string | null}
 */
export function linkProblem(link) {
  const colon = link.indexOf(":");
  const provider = colon < 0 ? "" : link.slice(0, colon);
  if (provider !== "aws" && provider !== "azure" && provider !== "gcp") {
    const lower = link.toLowerCase();
    if (lower !== link && linkProblem(lower) === null) return `use lower case: "${lower}"`;
    return 'a link is "aws:vpce-…", "azure:<LinkID>" or "gcp:<PSC connection ID>"';
  }
  return endpointProblem(provider, link.slice(colon + 1));
}

/**
 * Strict dotted-quad IPv4: four decimal octets, no leading zeros.
 * @param {string} text
 * @returns {number[] | null}
 */
function parseIPv4(text) {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const bytes = [];
  for (const part of parts) {
    if (!/^(?:0|[1-9][0-9]{0,2})$/.test(part) || Number(part) > 255) return null;
    bytes.push(Number(part));
  }
  return bytes;
}

/**
 * IPv6 as RFC 4291 writes it: eight groups of one to four hex digits, one "::" at most, an
 * IPv4 address in the last 32 bits; no zone, no brackets.
 * @param {string} text
 * @returns {number[] | null}
 */
function parseIPv6(text) {
  if (text.length < 2 || text.length > 45) return null;
  const halves = text.split("::");
  if (halves.length > 2) return null;
  /** @param {string} half @returns {number[] | null} */
  const groupsOf = (half) => {
    if (half === "") return [];
    const out = [];
    const pieces = half.split(":");
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i];
      if (i === pieces.length - 1 && piece.includes(".")) {
        const v4 = parseIPv4(piece);
        if (v4 === null) return null;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) {
        out.push(Number.parseInt(piece, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = groupsOf(halves[0]);
  const tail = halves.length === 2 ? groupsOf(halves[1]) : [];
  if (head === null || tail === null) return null;
  // An embedded IPv4 address ends the address.
  if (halves.length === 2 && halves[0].includes(".")) return null;
  const count = head.length + tail.length;
  if (halves.length === 2 ? count > 7 : count !== 8) return null;
  const groups = [...head, ...new Array(8 - count).fill(0), ...tail];
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

/**
 * @param {number[]} bytes 4 or 16
 * @returns {string} dotted quad, or IPv6 as RFC 5952 writes it
 */
function formatIp(bytes) {
  if (bytes.length === 4) return bytes.join(".");
  const groups = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${bytes.slice(12).join(".")}`;
  }
  // The longest run of two or more zero groups (the first on a tie) becomes "::".
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLength).join(":")}`;
}

/** @param {string} text @returns {number[] | null} */
function parseIp(text) {
  return text.includes(":") ? parseIPv6(text) : parseIPv4(text);
}

/**
 * Why `text` is not a CIDR the API accepts, or null. Host bits set and a missing prefix length
 * come with the CIDR the customer probably meant.
 * @param {string} text
 * @returns {string | null}
 */
export function cidrProblem(text) {
  const slash = text.indexOf("/");
  if (slash < 0) {
    const ip = parseIp(text);
    if (ip === null) return 'a CIDR is an IPv4 or IPv6 network, such as "203.0.113.0/24"';
    return `add a prefix length: did you mean "${formatIp(ip)}/${ip.length * 8}"?`;
  }
  const ip = parseIp(text.slice(0, slash));
  if (ip === null) return `"${text.slice(0, slash)}" is not an IPv4 or IPv6 address`;
  const prefixText = text.slice(slash + 1);
  const max = ip.length * 8;
  if (!/^(?:0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > max) {
    return `the prefix length must be a number from 0 to ${max}`;
  }
  const prefix = Number(prefixText);
  const network = ip.map((b, i) => {
    const bits = Math.max(0, Math.min(8, prefix - 8 * i));
    return b & ((0xff << (8 - bits)) & 0xff);
  });
  if (network.some((b, i) => b !== ip[i])) {
    return `host bits are set: did you mean "${formatIp(network)}/${prefix}"?`;
  }
  return null;
}

/**
 * Why an expiry typed in a datetime-local field is refused, or null (empty: no expiry).
 * @param {string} local "2025-06-01T12:00" in the browser's time zone
 * @param {number} now
 * @returns {string | null}
 */
export function expiryProblem(local, now) {
  if (local === "") return null;
  const at = new Date(local).getTime();
  if (Number.isNaN(at)) return "not a valid date and time";
  if (at <= now) return "the expiry must be in the future";
  return null;
}
