/**
 * A decoded PROXY protocol header.
 *
 * Decoding validates everything up front (structure, TLV tiling, caps, CRC32C, identity) but
 * materialises strings and TLV objects only when they are read: a gateway that needs the
 * identity and the numeric source address pays for nothing else. The header keeps a view of the
 * bytes it was decoded from, so those bytes must not be modified while the header is in use
 * (sockets never reuse the buffers they emit; the decoder's own buffer is never reused).
 */
import { formatIPv6, ipv4Text } from "../ip/address.js";
import {
  type Command,
  type Family,
  familyOf,
  SSL_CLIENT,
  SSL_SUB,
  sslSubTlvName,
  type Transport,
  tlvName,
  transportOf,
} from "./constants.js";
import type { LinkIdentity } from "./identity.js";
import { headerToJSON, type ProxyHeaderJSON } from "./json.js";

export interface SocketAddress {
  /** Dotted quad, RFC 5952 IPv6, or a UNIX socket path. */
  readonly address: string;
  /** TCP/UDP port; null for UNIX sockets. */
  readonly port: number | null;
}

export interface Tlv {
  readonly type: number;
  /** Registered name ("AUTHORITY", "AWS", ...) or the type in hex ("0xf1"). */
  readonly name: string;
  /** The raw value bytes (a view of the header). */
  readonly value: Buffer;
}

export interface SslSubTlv {
  readonly type: number;
  readonly name: string;
  readonly value: Buffer;
}

export interface SslInfo {
  /** The raw client bit field. */
  readonly client: number;
  /** PP2_CLIENT_SSL: the client connected over SSL/TLS. */
  readonly clientSsl: boolean;
  /** PP2_CLIENT_CERT_CONN: the client presented a certificate on this connection. */
  readonly certInConnection: boolean;
  /** PP2_CLIENT_CERT_SESS: the client presented a certificate at least once in the session. */
  readonly certInSession: boolean;
  /** 0 when the client presented a certificate that verified. */
  readonly verify: number;
  readonly version: string | null;
  readonly cn: string | null;
  readonly cipher: string | null;
  readonly sigAlg: string | null;
  readonly keyAlg: string | null;
  readonly group: string | null;
  readonly sigScheme: string | null;
  readonly clientCert: Buffer | null;
  readonly subTlvs: readonly SslSubTlv[];
}

const NO_TLVS: readonly Tlv[] = Object.freeze([]);

/** The header with its fields writable, for the parsers that build it. */
export type MutableProxyHeader = { -readonly [K in keyof ProxyHeader]: ProxyHeader[K] };

export class ProxyHeader {
  /** 1 (text) or 2 (binary). */
  readonly version: 1 | 2;
  /** "proxy", or "local" for a connection the proxy itself made (health checks). */
  readonly command: Command;
  /** Address family; for LOCAL headers, what the family byte said (no addresses are read). */
  readonly family: Family;
  readonly transport: Transport;
  /** Bytes the header occupies at the start of the stream. */
  readonly headerLength: number;
  /** The cloud Private Link identity, or null (none, or a LOCAL header). */
  readonly link: LinkIdentity | null;
  /** "valid" when a CRC32C TLV was present and matched; "absent" when there was none. */
  readonly crc32c: "valid" | "absent";

  // Internal state, written by the parsers. Plain fields rather than #private ones: V8
  // constructs plain-field objects about twice as fast, and a header is built per connection.
  /** @internal The family byte (v2), or 0x11/0x21 for v1 TCP4/TCP6. */
  _famByte: number;
  /** @internal The header is _buf[_start, _start + headerLength). */
  _buf: Buffer;
  /** @internal */
  _start: number;
  /** @internal Absolute offset of the first TLV; -1 when not parsed (opaque LOCAL block). */
  _tlvStart: number;
  /** @internal Absolute offsets of singleton TLVs (their type byte); -1 when absent. */
  _alpn: number;
  /** @internal */
  _authority: number;
  /** @internal */
  _uniqueId: number;
  /** @internal */
  _ssl: number;
  /** @internal */
  _netns: number;
  /** @internal Absolute offset of the identity TLV's type byte; -1 when there is none. */
  _linkTlv: number;
  /** @internal Addresses, once materialised (v1 sets them while parsing). */
  _source: SocketAddress | null | undefined;
  /** @internal */
  _destination: SocketAddress | null | undefined;
  /** @internal */
  _tlvs: readonly Tlv[] | undefined;

  /** @internal Built by the parsers; not part of the public API. */
  constructor(
    version: 1 | 2,
    command: Command,
    famByte: number,
    buf: Buffer,
    start: number,
    length: number,
  ) {
    this.version = version;
    this.command = command;
    this.family = familyOf(famByte);
    this.transport = transportOf(famByte);
    this.headerLength = length;
    this.link = null;
    this.crc32c = "absent";
    this._famByte = famByte;
    this._buf = buf;
    this._start = start;
    this._tlvStart = -1;
    this._alpn = -1;
    this._authority = -1;
    this._uniqueId = -1;
    this._ssl = -1;
    this._netns = -1;
    this._linkTlv = -1;
    this._source = undefined;
    this._destination = undefined;
    this._tlvs = undefined;
  }

  /** Whether the header carries real addresses (PROXY command with an IP or UNIX family). */
  get hasAddresses(): boolean {
    if (this.command !== "proxy") return false;
    return this.version === 1 ? this._source !== null : this._famByte !== 0;
  }

  /** The original client address, or null (LOCAL, UNSPEC, v1 UNKNOWN). */
  get source(): SocketAddress | null {
    if (this._source === undefined) this._source = this._address(0);
    return this._source;
  }

  /** The address the client connected to, or null (LOCAL, UNSPEC, v1 UNKNOWN). */
  get destination(): SocketAddress | null {
    if (this._destination === undefined) this._destination = this._address(1);
    return this._destination;
  }

  private _address(which: 0 | 1): SocketAddress | null {
    if (!this.hasAddresses) return null;
    const b = this._buf;
    const a = this._start + 16;
    switch (this._famByte) {
      case 0x11:
      case 0x12:
        return { address: ipv4Text(b, a + 4 * which), port: b.readUInt16BE(a + 8 + 2 * which) };
      case 0x21:
      case 0x22:
        return {
          address: formatIPv6(b, a + 16 * which),
          port: b.readUInt16BE(a + 32 + 2 * which),
        };
      default: {
        // UNIX: 108-byte sun_path, NUL-terminated unless it fills the field.
        const p = a + 108 * which;
        let end = p;
        while (end < p + 108 && b[end] !== 0) end++;
        return { address: b.toString("utf8", p, end), port: null };
      }
    }
  }

  /**
   * Copies the v2 source IP into `out` (4 or 16 bytes) and returns 4 or 6; returns 0 when there
   * is no binary IP source (v1, LOCAL, UNSPEC, UNIX). For policy checks without strings.
   */
  sourceIp(out: Uint8Array): 0 | 4 | 6 {
    if (this.version === 1 || this.command !== "proxy") return 0;
    const a = this._start + 16;
    const fam = this._famByte >> 4;
    if (fam === 1) {
      for (let i = 0; i < 4; i++) out[i] = this._buf[a + i];
      return 4;
    }
    if (fam === 2) {
      for (let i = 0; i < 16; i++) out[i] = this._buf[a + i];
      return 6;
    }
    return 0;
  }

  /** Every TLV in header order (empty for v1 and for an opaque LOCAL block). */
  get tlvs(): readonly Tlv[] {
    if (this._tlvs === undefined) this._tlvs = this._decodeTlvs();
    return this._tlvs;
  }

  private _decodeTlvs(): readonly Tlv[] {
    if (this._tlvStart < 0) return NO_TLVS;
    const b = this._buf;
    const end = this._start + this.headerLength;
    const out: Tlv[] = [];
    for (let p = this._tlvStart; p < end; ) {
      const type = b[p];
      const len = b.readUInt16BE(p + 1);
      out.push({ type, name: tlvName(type), value: b.subarray(p + 3, p + 3 + len) });
      p += 3 + len;
    }
    return Object.freeze(out);
  }

  private _value(at: number): Buffer | null {
    if (at < 0) return null;
    const len = this._buf.readUInt16BE(at + 1);
    return this._buf.subarray(at + 3, at + 3 + len);
  }

  /** AUTHORITY TLV (the host name the client asked for, usually the SNI), or null. */
  get authority(): string | null {
    return this._value(this._authority)?.toString("utf8") ?? null;
  }

  /** ALPN TLV as text (e.g. "h2"), or null. */
  get alpn(): string | null {
    return this._value(this._alpn)?.toString("latin1") ?? null;
  }

  /** UNIQUE_ID TLV bytes, or null. */
  get uniqueId(): Buffer | null {
    return this._value(this._uniqueId);
  }

  /** NETNS TLV (network namespace name), or null. */
  get netns(): string | null {
    return this._value(this._netns)?.toString("latin1") ?? null;
  }

  /** SSL TLV with its sub-TLVs, or null. */
  get ssl(): SslInfo | null {
    const v = this._value(this._ssl);
    return v === null ? null : decodeSsl(v);
  }

  /**
   * The identity TLV exactly as received (type, length, value), or null: the gateway forwards
   * it upstream in its cloud's own format without re-encoding it.
   */
  get linkTlv(): Buffer | null {
    if (this._linkTlv < 0) return null;
    return this._buf.subarray(this._linkTlv, this._linkTlv + this._linkTlvLength());
  }

  /** @internal The identity TLV's length in bytes (type, length, value), 0 when there is none. */
  _linkTlvLength(): number {
    return this._linkTlv < 0 ? 0 : 3 + this._buf.readUInt16BE(this._linkTlv + 1);
  }

  /**
   * @internal Copies the identity TLV (as linkTlv gives it) into `out` at `at`; returns its
   * length. No view is made: it is copied once per admitted connection.
   */
  _copyLinkTlv(out: Uint8Array, at: number): number {
    const n = this._linkTlvLength();
    const from = this._linkTlv;
    for (let i = 0; i < n; i++) out[at + i] = this._buf[from + i];
    return n;
  }

  /** @internal Copies the address block (12 or 36 bytes for TCP/UDP) into `out` at `at`. */
  _copyAddressBlock(out: Uint8Array, at: number): number {
    const n = this._famByte >> 4 === 1 ? 12 : this._famByte >> 4 === 2 ? 36 : 0;
    if (this.version !== 2 || this.command !== "proxy" || n === 0) return 0;
    const from = this._start + 16;
    for (let i = 0; i < n; i++) out[at + i] = this._buf[from + i];
    return n;
  }

  /**
   * A copy of this header that owns just its own bytes. A decoded header is a view of the chunk
   * it came in, which usually holds the application's first bytes too (a 2 KB ClientHello): a
   * long-lived connection keeps the compact copy instead, so that chunk can be freed.
   */
  compact(): ProxyHeader {
    if (this._start === 0 && this._buf.length === this.headerLength) return this;
    // A buffer of its own, not a slice of Buffer's shared pool: a long-lived slice would keep
    // the whole pool (64 KiB on Node.js 24) alive, with the short-lived buffers around it.
    const bytes = Buffer.allocUnsafeSlow(this.headerLength);
    bytes.set(this._buf.subarray(this._start, this._start + this.headerLength));
    const copy = new ProxyHeader(
      this.version,
      this.command,
      this._famByte,
      bytes,
      0,
      this.headerLength,
    );
    const m = copy as MutableProxyHeader;
    const start = this._start;
    m.link = this.link;
    m.crc32c = this.crc32c;
    m._tlvStart = shiftOffset(this._tlvStart, start);
    m._alpn = shiftOffset(this._alpn, start);
    m._authority = shiftOffset(this._authority, start);
    m._uniqueId = shiftOffset(this._uniqueId, start);
    m._ssl = shiftOffset(this._ssl, start);
    m._netns = shiftOffset(this._netns, start);
    m._linkTlv = shiftOffset(this._linkTlv, start);
    // Addresses already formatted (v1 parses them; v2's the decision read) are strings: keep
    // them rather than format them again from the copy.
    m._source = this._source;
    m._destination = this._destination;
    return copy;
  }

  /** The exact header bytes (a view). */
  get bytes(): Buffer {
    return this._buf.subarray(this._start, this._start + this.headerLength);
  }

  /** The documented JSON form (what `linkgate pp2 decode` prints), not the internals. */
  toJSON(): ProxyHeaderJSON {
    return headerToJSON(this);
  }
}

/** Decodes a validated SSL TLV value (5-byte prefix, then sub-TLVs tiling the rest). */
export function decodeSsl(v: Buffer): SslInfo {
  const client = v[0];
  const subTlvs: SslSubTlv[] = [];
  const text: Record<number, string> = {};
  let clientCert: Buffer | null = null;
  for (let p = 5; p < v.length; ) {
    const type = v[p];
    const len = v.readUInt16BE(p + 1);
    const value = v.subarray(p + 3, p + 3 + len);
    subTlvs.push({ type, name: sslSubTlvName(type), value });
    if (type === SSL_SUB.CLIENT_CERT) clientCert ??= value;
    else if (text[type] === undefined) text[type] = value.toString("utf8");
    p += 3 + len;
  }
  return {
    client,
    clientSsl: (client & SSL_CLIENT.SSL) !== 0,
    certInConnection: (client & SSL_CLIENT.CERT_CONN) !== 0,
    certInSession: (client & SSL_CLIENT.CERT_SESS) !== 0,
    verify: v.readUInt32BE(1),
    version: text[SSL_SUB.VERSION] ?? null,
    cn: text[SSL_SUB.CN] ?? null,
    cipher: text[SSL_SUB.CIPHER] ?? null,
    sigAlg: text[SSL_SUB.SIG_ALG] ?? null,
    keyAlg: text[SSL_SUB.KEY_ALG] ?? null,
    group: text[SSL_SUB.GROUP] ?? null,
    sigScheme: text[SSL_SUB.SIG_SCHEME] ?? null,
    clientCert,
    subTlvs,
  };
}

/** An offset into a header's original buffer, as an offset into its compact copy (-1 stays). */
function shiftOffset(at: number, start: number): number {
  return at < 0 ? -1 : at - start;
}
