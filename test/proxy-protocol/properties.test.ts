/**
 * Property tests: encode -> decode round trips for random headers; random and mutated bytes
 * never throw anything but a coded error, never hang, never consume past the header; streaming
 * at any split agrees with the one-shot decoder.
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, test } from "node:test";
import fc from "fast-check";
import { ERROR_CATALOGUE } from "../../src/errors/index.js";
import { parseIp } from "../../src/ip/address.js";
import {
  crc32cPure,
  crc32cWithHole,
  DONE,
  decodeProxyHeader,
  type EncodeV2Options,
  encodeProxyHeaderV1,
  encodeProxyHeaderV2,
  INVALID,
  NEED_MORE,
  ParseError,
  type ProxyHeader,
  ProxyHeaderDecoder,
} from "../../src/proxy-protocol/index.js";

const RUNS = Number(process.env.LINKGATE_FC_RUNS ?? 300);

const port = fc.integer({ min: 0, max: 65535 });
const v4 = fc.ipV4();
const v6 = fc.ipV6();
const hostLabel = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/);
const hostName = fc.array(hostLabel, { minLength: 1, maxLength: 4 }).map((l) => l.join("."));
const identity = fc.oneof(
  fc.stringMatching(/^[0-9a-z]{1,59}$/).map((s) => `aws:vpce-${s}`),
  fc.integer({ min: 0, max: 0xffffffff }).map((n) => `azure:${n}`),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((n) => `gcp:${n}`),
);
const printable = fc.stringMatching(/^[\x21-\x7e]{1,30}$/);

const addressing = fc.oneof(
  fc.record({
    family: fc.constantFrom("tcp4" as const, "udp4" as const),
    source: fc.record({ address: v4, port }),
    destination: fc.record({ address: v4, port }),
  }),
  fc.record({
    family: fc.constantFrom("tcp6" as const, "udp6" as const),
    source: fc.record({ address: v6, port }),
    destination: fc.record({ address: v6, port }),
  }),
  fc.record({
    family: fc.constant("unix" as const),
    source: fc.record({ address: fc.stringMatching(/^\/[a-z0-9/._-]{0,100}$/) }),
    destination: fc.record({ address: fc.stringMatching(/^\/[a-z0-9/._-]{0,100}$/) }),
  }),
  fc.record({ family: fc.constant("unspec" as const) }),
);

const headerOptions: fc.Arbitrary<EncodeV2Options> = fc
  .record(
    {
      command: fc.constantFrom("proxy" as const, "local" as const),
      addressing,
      link: identity,
      authority: hostName,
      alpn: printable,
      uniqueId: fc.uint8Array({ maxLength: 128 }),
      netns: printable,
      ssl: fc.record(
        {
          client: fc.integer({ min: 0, max: 7 }),
          verify: fc.nat(),
          version: fc.constantFrom("TLSv1.2", "TLSv1.3"),
          cipher: printable,
        },
        { requiredKeys: ["client", "verify"] },
      ),
      tlvs: fc.array(
        fc.record({
          type: fc.integer({ min: 0xf0, max: 0xf7 }),
          value: fc.uint8Array({ maxLength: 64 }),
        }),
        { maxLength: 4 },
      ),
      crc32c: fc.boolean(),
      padTo: fc.integer({ min: 16, max: 700 }),
    },
    { requiredKeys: ["command", "addressing", "crc32c"] },
  )
  .map(({ addressing: a, ...rest }) => ({ ...rest, ...a }) as EncodeV2Options);

function sameAddress(actual: string, expected: string): boolean {
  if (actual === expected) return true;
  const a = parseIp(actual);
  const b = parseIp(expected);
  return a !== null && b !== null && Buffer.from(a.bytes).equals(Buffer.from(b.bytes));
}

function checkRoundTrip(o: EncodeV2Options, h: ProxyHeader, length: number): void {
  assert.equal(h.version, 2);
  assert.equal(h.headerLength, length);
  assert.equal(h.command, o.command ?? "proxy");
  assert.equal(h.family, o.family);
  if (o.command === "local") {
    assert.equal(h.link, null);
    assert.equal(h.source, null);
    return;
  }
  assert.equal(h.link?.id ?? null, o.link ?? null);
  assert.equal(h.crc32c, o.crc32c ? "valid" : "absent");
  if (o.family === "unspec") assert.equal(h.source, null);
  else {
    assert.ok(
      sameAddress(h.source?.address ?? "", o.source?.address ?? ""),
      `${h.source?.address} vs ${o.source?.address}`,
    );
    assert.ok(sameAddress(h.destination?.address ?? "", o.destination?.address ?? ""));
    if (o.family !== "unix") {
      assert.equal(h.source?.port, o.source?.port);
      assert.equal(h.destination?.port, o.destination?.port);
    }
  }
  assert.equal(h.authority, o.authority ?? null);
  assert.equal(h.alpn, o.alpn ?? null);
  assert.equal(h.netns, o.netns ?? null);
  assert.deepEqual(
    h.uniqueId === null ? null : [...h.uniqueId],
    o.uniqueId === undefined ? null : [...o.uniqueId],
  );
  if (o.ssl !== undefined) {
    assert.equal(h.ssl?.client, o.ssl.client);
    assert.equal(h.ssl?.verify, o.ssl.verify);
    assert.equal(h.ssl?.cipher, o.ssl.cipher ?? null);
  }
  const custom = h.tlvs.filter((t) => t.type >= 0xf0 && t.type <= 0xf7);
  assert.deepEqual(
    custom.map((t) => [t.type, [...t.value]]),
    (o.tlvs ?? []).map((t) => [t.type, [...(t.value as Uint8Array)]]),
  );
}

/** Feeds `stream` cut at `cuts`; returns status, header/error and the bytes after the header. */
function stream(bytes: Buffer, cuts: number[]) {
  const d = new ProxyHeaderDecoder({ maxHeaderSize: 65551 });
  const points = [...new Set(cuts.filter((c) => c > 0 && c < bytes.length))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let prev = 0;
  for (const c of [...points, bytes.length]) {
    chunks.push(bytes.subarray(prev, c));
    prev = c;
  }
  for (let i = 0; i < chunks.length; i++) {
    const st = d.push(chunks[i]);
    if (st === DONE) {
      const tail = Buffer.concat([chunks[i].subarray(d.tailOffset), ...chunks.slice(i + 1)]);
      return { status: st, decoder: d, tail };
    }
    if (st === INVALID) return { status: st, decoder: d, tail: null };
  }
  return { status: NEED_MORE as number, decoder: d, tail: null };
}

describe("properties", () => {
  test("encode -> decode round trip for random v2 headers, then every field matches", () => {
    fc.assert(
      fc.property(headerOptions, (o) => {
        const bytes = encodeProxyHeaderV2(o);
        const h = decodeProxyHeader(bytes, { maxHeaderSize: 65551 });
        if (h instanceof ParseError)
          assert.fail(`${h.code}: ${h.message} for ${bytes.toString("hex")}`);
        checkRoundTrip(o, h, bytes.length);
      }),
      { numRuns: RUNS },
    );
  });

  test("any split of header + application bytes gives the same header and the exact tail", () => {
    fc.assert(
      fc.property(
        headerOptions,
        fc.uint8Array({ minLength: 0, maxLength: 64 }),
        fc.array(fc.nat({ max: 2000 }), { maxLength: 8 }),
        (o, app, cuts) => {
          const header = encodeProxyHeaderV2(o);
          const bytes = Buffer.concat([header, app]);
          const r = stream(bytes, cuts);
          assert.equal(r.status, DONE);
          assert.deepEqual([...(r.tail ?? [])], [...app]);
          checkRoundTrip(o, r.decoder.header as ProxyHeader, header.length);
        },
      ),
      { numRuns: RUNS },
    );
  });

  test("v1 round trip for random TCP4/TCP6 lines", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.record({
            family: fc.constant("tcp4" as const),
            source: fc.record({ address: v4, port }),
            destination: fc.record({ address: v4, port }),
          }),
          fc.record({
            family: fc.constant("tcp6" as const),
            source: fc.record({ address: v6, port }),
            destination: fc.record({ address: v6, port }),
          }),
        ),
        (o) => {
          const bytes = encodeProxyHeaderV1(o);
          const h = decodeProxyHeader(bytes);
          if (h instanceof ParseError) assert.fail(`${h.code}: ${bytes.toString("latin1")}`);
          assert.equal(h.version, 1);
          assert.equal(h.family, o.family);
          assert.ok(sameAddress(h.source?.address ?? "", o.source.address));
          assert.equal(h.destination?.port, o.destination.port);
          assert.equal(h.headerLength, bytes.length);
        },
      ),
      { numRuns: RUNS },
    );
  });

  function checkArbitraryInput(bytes: Buffer, cuts: number[]): void {
    const one = decodeProxyHeader(bytes, { maxHeaderSize: 65551 });
    if (one instanceof ParseError) {
      assert.ok(one.code in ERROR_CATALOGUE, one.code);
      assert.ok(one.offset >= 0 && one.offset <= bytes.length + 16);
    } else {
      assert.ok(one.headerLength <= bytes.length, "never past the input");
      // Reading every field must not throw either.
      JSON.stringify([
        one.source,
        one.destination,
        one.tlvs.length,
        one.authority,
        one.alpn,
        one.ssl,
        one.netns,
        one.uniqueId,
        one.link,
      ]);
    }
    const s = stream(bytes, cuts);
    if (one instanceof ParseError) {
      if (one.code === "PP_INCOMPLETE") assert.equal(s.status, NEED_MORE);
      else {
        assert.equal(s.status, INVALID);
        assert.equal(s.decoder.error?.code, one.code, "streaming and one-shot agree on the code");
      }
    } else {
      assert.equal(s.status, DONE);
      assert.equal(s.decoder.header?.headerLength, one.headerLength);
      assert.deepEqual(s.tail, bytes.subarray(one.headerLength));
    }
  }

  test("random bytes: only coded errors, never a throw, streaming agrees", () => {
    const prefixes = [
      "",
      "0d0a0d0a000d0a515549540a",
      "0d0a0d0a000d0a515549540a21",
      "0d0a0d0a000d0a515549540a2111",
      "0d0a0d0a000d0a515549540a2011",
      "50524f585920",
      "50524f5859205443503420",
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...prefixes),
        fc.uint8Array({ maxLength: 300 }),
        fc.array(fc.nat({ max: 400 }), { maxLength: 6 }),
        (prefix, rest, cuts) =>
          checkArbitraryInput(Buffer.concat([Buffer.from(prefix, "hex"), rest]), cuts),
      ),
      { numRuns: RUNS * 4 },
    );
  });

  test("mutated valid headers: flips, truncations, length corruption never throw", () => {
    fc.assert(
      fc.property(
        headerOptions,
        fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.option(fc.nat()),
        fc.array(fc.nat({ max: 800 }), { maxLength: 4 }),
        (o, edits, cutAt, cuts) => {
          let bytes = Buffer.from(encodeProxyHeaderV2(o));
          for (const e of edits) bytes[e.at % bytes.length] = e.value;
          if (cutAt !== null) bytes = bytes.subarray(0, cutAt % (bytes.length + 1));
          checkArbitraryInput(Buffer.concat([bytes, Buffer.from("tail")]), cuts);
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });
});

describe("CRC-32C implementations agree", () => {
  const native = (() => {
    try {
      return createRequire(import.meta.url)("@node-rs/crc32").crc32c as (b: Buffer) => number;
    } catch {
      return null;
    }
  })();

  test("the table implementation matches the check value and @node-rs/crc32", (t) => {
    assert.equal(crc32cPure(Buffer.from("123456789")), 0xe3069283);
    assert.equal(crc32cPure(Buffer.alloc(0)), 0);
    if (native === null) {
      t.diagnostic("@node-rs/crc32 is not installed; compared against the check value only");
      return;
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), (bytes) => {
        assert.equal(crc32cPure(bytes), native(Buffer.from(bytes)) >>> 0);
      }),
      { numRuns: RUNS },
    );
  });

  test("the hole variant equals the CRC of a copy with the 4 bytes zeroed", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 600 }), fc.nat(), (bytes, at) => {
        const hole = at % (bytes.length - 3);
        const copy = Buffer.from(bytes);
        copy.fill(0, hole, hole + 4);
        assert.equal(crc32cWithHole(bytes, 0, bytes.length, hole), crc32cPure(copy));
      }),
      { numRuns: RUNS },
    );
  });
});
