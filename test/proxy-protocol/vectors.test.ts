/**
 * Runs the public PROXY protocol test vectors (vectors.ts) through the decoder:
 * - in one call, checking every expected field;
 * - through a streaming ProxyHeaderDecoder at every split point into two chunks, and byte by
 *   byte, with application bytes after the header: the outcome must be the one-call outcome,
 *   and the bytes after the header must come back exactly, nothing consumed, nothing lost.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  DONE,
  decodeProxyHeader,
  ERROR_CATALOGUE,
  headerToJSON,
  INVALID,
  NEED_MORE,
  ParseError,
  type ProxyHeader,
  ProxyHeaderDecoder,
} from "../../src/proxy-protocol/index.js";
import { type ExpectOk, VECTORS, type Vector } from "./vectors.js";

/** Application bytes appended when the original test had none. */
const DEFAULT_TRAILING = Buffer.from("hello", "latin1");

/** Everything observable about a decode, in a comparable form. */
type Outcome = { ok: true; header: Record<string, unknown> } | { ok: false; code: string };

function describeHeader(h: ProxyHeader): Record<string, unknown> {
  const ssl = h.ssl;
  return {
    ...headerToJSON(h),
    authority: h.authority,
    alpn: h.alpn,
    uniqueId: h.uniqueId?.toString("hex") ?? null,
    netns: h.netns,
    ssl:
      ssl === null
        ? null
        : {
            ...ssl,
            clientCert: ssl.clientCert?.toString("hex") ?? null,
            subTlvs: ssl.subTlvs.map((s) => ({ type: s.type, value: s.value.toString("hex") })),
          },
  };
}

function outcomeOf(result: ProxyHeader | ParseError): Outcome {
  return result instanceof ParseError
    ? { ok: false, code: result.code }
    : { ok: true, header: describeHeader(result) };
}

function sameOutcome(actual: Outcome, expected: Outcome, what: string): void {
  // Cheap comparison first (this runs for every split point); a full diff only on mismatch.
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    assert.deepEqual(actual, expected, what);
  }
}

interface Streamed {
  outcome: Outcome;
  /** Application bytes recovered after the header (DONE only). */
  app: Buffer | null;
}

/** Feeds `chunks` to a fresh decoder; NEED_MORE at the end reads as PP_INCOMPLETE. */
function stream(chunks: Buffer[]): Streamed {
  const decoder = new ProxyHeaderDecoder();
  let doneAt = -1;
  let tail = 0;
  for (let i = 0; i < chunks.length; i++) {
    const before = decoder.status;
    const status = decoder.push(chunks[i]);
    assert.equal(status, decoder.status);
    if (before === NEED_MORE && status === DONE) {
      doneAt = i;
      tail = decoder.tailOffset;
      assert.ok(
        tail >= 0 && tail <= chunks[i].length,
        `tailOffset ${tail} is outside the ${chunks[i].length}-byte chunk`,
      );
    } else if (before !== NEED_MORE) {
      assert.equal(status, before, "the status changed after DONE or INVALID");
      if (before === DONE) assert.equal(decoder.tailOffset, tail, "tailOffset moved after DONE");
    }
  }
  switch (decoder.status) {
    case DONE: {
      assert.ok(decoder.header !== null && decoder.error === null);
      const app = Buffer.concat([chunks[doneAt].subarray(tail), ...chunks.slice(doneAt + 1)]);
      return { outcome: outcomeOf(decoder.header), app };
    }
    case INVALID:
      assert.ok(decoder.error !== null && decoder.header === null);
      return { outcome: { ok: false, code: decoder.error.code }, app: null };
    default:
      assert.ok(decoder.error === null && decoder.header === null);
      return { outcome: { ok: false, code: "PP_INCOMPLETE" }, app: null };
  }
}

function checkExpected(v: Vector, result: ProxyHeader | ParseError): void {
  const e = v.expect;
  if (!e.ok) {
    assert.ok(
      result instanceof ParseError,
      `expected ${e.code}, got a header: ${JSON.stringify(result instanceof ParseError ? null : headerToJSON(result))}`,
    );
    assert.equal(result.code, e.code, result.message);
    return;
  }
  if (result instanceof ParseError) {
    assert.fail(`expected a header, got ${result.code}: ${result.message} (at ${result.offset})`);
  }
  checkHeader(result, e);
}

function checkHeader(h: ProxyHeader, e: ExpectOk): void {
  const j = headerToJSON(h);
  assert.equal(j.version, e.version, "version");
  assert.equal(j.command, e.command, "command");
  assert.equal(j.family, e.family, "family");
  if (e.transport !== undefined) assert.equal(j.transport, e.transport, "transport");
  assert.equal(j.headerLength, e.headerLength, "headerLength");
  assert.deepEqual(j.source, e.source ?? null, "source");
  assert.deepEqual(j.destination, e.destination ?? null, "destination");
  assert.equal(j.link?.id ?? null, e.link ?? null, "link");
  if (j.link !== null) assert.equal(j.link.provider, j.link.id.slice(0, j.link.id.indexOf(":")));
  assert.equal(j.crc32c, e.crc32c ?? "absent", "crc32c");
  assert.deepEqual(
    j.tlvs.map((t) => t.type),
    e.tlvTypes ?? [],
    "TLV types",
  );
  assert.equal(h.authority, e.authority ?? null, "authority");
  assert.equal(h.alpn, e.alpn ?? null, "alpn");
  assert.equal(h.uniqueId?.toString("hex") ?? null, e.uniqueIdHex ?? null, "unique ID");
  const ssl = h.ssl;
  if (e.ssl === undefined) {
    assert.equal(ssl, null, "ssl");
    return;
  }
  assert.ok(ssl !== null, "expected an SSL TLV");
  const { clientCertHex, ...fields } = e.ssl;
  for (const [key, value] of Object.entries(fields)) {
    assert.equal(ssl[key as keyof typeof fields], value, `ssl.${key}`);
  }
  if (clientCertHex !== undefined) {
    assert.equal(ssl.clientCert?.toString("hex") ?? null, clientCertHex, "ssl.clientCert");
  }
}

/** The input fed to the streaming decoder, and the application bytes expected back. */
function streamInput(v: Vector): { data: Buffer; app: Buffer } {
  const header = Buffer.from(v.hex, "hex");
  if (!v.expect.ok && v.expect.code === "PP_INCOMPLETE") {
    // The header is not complete: anything appended would be read as header bytes.
    return { data: header, app: Buffer.alloc(0) };
  }
  const app = v.trailing === undefined ? DEFAULT_TRAILING : Buffer.from(v.trailing, "hex");
  return { data: Buffer.concat([header, app]), app };
}

/** What the streaming decoder must report: the one-call outcome on the bytes it is fed. */
function referenceOutcome(v: Vector, data: Buffer): Outcome {
  const alone = outcomeOf(decodeProxyHeader(Buffer.from(v.hex, "hex")));
  if (!v.expect.ok) return alone;
  const withApp = outcomeOf(decodeProxyHeader(data));
  sameOutcome(withApp, alone, "one call with the application bytes appended");
  return alone;
}

function checkStreamed(s: Streamed, ref: Outcome, app: Buffer, what: string): void {
  sameOutcome(s.outcome, ref, what);
  if (s.outcome.ok) {
    assert.ok(s.app !== null);
    if (!s.app.equals(app)) {
      assert.equal(
        s.app.toString("hex"),
        app.toString("hex"),
        `${what}: the bytes after the header differ`,
      );
    }
  }
}

describe("the vector corpus itself", () => {
  test("names are unique and byte strings are distinct", () => {
    const names = new Set<string>();
    const bytes = new Map<string, string>();
    for (const v of VECTORS) {
      assert.ok(!names.has(v.name), `duplicate name ${v.name}`);
      names.add(v.name);
      const key = `${v.hex}/${v.trailing ?? ""}`;
      const other = bytes.get(key);
      assert.equal(other, undefined, `${v.name} has the same bytes as ${other}`);
      bytes.set(key, v.name);
    }
  });

  test("hex is well formed, sources are named, codes are in the catalogue", () => {
    for (const v of VECTORS) {
      assert.match(v.hex, /^(?:[0-9a-f]{2})*$/, v.name);
      if (v.trailing !== undefined) assert.match(v.trailing, /^(?:[0-9a-f]{2})+$/, v.name);
      assert.ok(v.source.length > 0, v.name);
      if (!v.expect.ok) assert.ok(Object.hasOwn(ERROR_CATALOGUE, v.expect.code), v.name);
      if (v.trailing !== undefined && !v.expect.ok) {
        assert.notEqual(v.expect.code, "PP_INCOMPLETE", `${v.name}: incomplete with trailing`);
      }
    }
  });
});

describe("public PROXY protocol vectors", () => {
  for (const v of VECTORS) {
    describe(v.name, () => {
      test("one call", () => {
        checkExpected(v, decodeProxyHeader(Buffer.from(v.hex, "hex")));
      });

      test("every split point", () => {
        const { data, app } = streamInput(v);
        const ref = referenceOutcome(v, data);
        for (let k = 0; k <= data.length; k++) {
          const s = stream([data.subarray(0, k), data.subarray(k)]);
          checkStreamed(s, ref, app, `split at ${k} of ${data.length}`);
        }
      });

      test("byte by byte", () => {
        const { data, app } = streamInput(v);
        const ref = referenceOutcome(v, data);
        const chunks: Buffer[] = [];
        for (let i = 0; i < data.length; i++) chunks.push(data.subarray(i, i + 1));
        checkStreamed(stream(chunks), ref, app, "byte by byte");
      });
    });
  }
});
