/**
 * The fuzz targets, one per parser: what `npm run fuzz` runs for a budget of inputs and time,
 * what test/fuzz/fuzz.test.ts runs for a few seconds in `npm test`, and how a failing input is
 * written to test/fuzz/vectors/ and read back by test/fuzz/vectors.test.ts.
 */
import fc from "fast-check";
import type { DecoderOptions } from "../../src/proxy-protocol/index.js";
import type { ClientHelloOptions } from "../../src/tls/index.js";
import type { Chunking } from "./bytes.js";
import {
  type ClientHelloFuzzInput,
  checkClientHelloInput,
  clientHelloInput,
} from "./client-hello.js";
import { type ConfigFuzzInput, checkConfigInput, configInput } from "./config.js";
import {
  checkProxyInput,
  type ProxyFuzzInput,
  proxyV1Input,
  proxyV2Input,
} from "./proxy-protocol.js";

/** A failing input as stored in test/fuzz/vectors/*.json. */
export type VectorInput =
  | {
      hex: string;
      chunking: Chunking;
      prefix: number;
      options: DecoderOptions | ClientHelloOptions;
    }
  | { text: string; value?: unknown };

export interface FuzzTarget {
  name: string;
  /** What the target feeds, in a few words (for the runner's report). */
  parser: string;
  property(onInput?: () => void): fc.IPropertyWithHooks<[unknown]>;
  /** The stored form of an input (JSON), and back. */
  save(input: unknown): VectorInput;
  replay(stored: VectorInput): void;
}

function byteTarget<T extends ProxyFuzzInput | ClientHelloFuzzInput>(
  name: string,
  parser: string,
  input: fc.Arbitrary<T>,
  check: (input: T) => void,
): FuzzTarget {
  return {
    name,
    parser,
    property: (onInput) =>
      fc.property(input as fc.Arbitrary<unknown>, (i) => {
        onInput?.();
        check(i as T);
      }),
    save: (i) => {
      const x = i as T;
      return {
        hex: x.bytes.toString("hex"),
        chunking: x.chunking,
        prefix: x.prefix,
        options: x.options,
      };
    },
    replay: (stored) => {
      if (!("hex" in stored)) throw new Error(`${name}: a vector of bytes is expected`);
      check({ ...stored, bytes: Buffer.from(stored.hex, "hex") } as unknown as T);
    },
  };
}

export const TARGETS: readonly FuzzTarget[] = [
  byteTarget("proxy-v1", "PROXY protocol decoder, v1 lines", proxyV1Input, checkProxyInput),
  byteTarget("proxy-v2", "PROXY protocol decoder, v2 headers", proxyV2Input, checkProxyInput),
  byteTarget("client-hello", "TLS ClientHello decoder", clientHelloInput, checkClientHelloInput),
  {
    name: "config",
    parser: "configuration loader (YAML/JSON)",
    property: (onInput) =>
      fc.property(configInput as fc.Arbitrary<unknown>, (i) => {
        onInput?.();
        checkConfigInput(i as ConfigFuzzInput);
      }),
    save: (i) => {
      const x = i as ConfigFuzzInput;
      return x.value === undefined ? { text: x.text } : { text: x.text, value: x.value };
    },
    replay: (stored) => {
      if (!("text" in stored)) throw new Error("config: a vector of text is expected");
      checkConfigInput(stored);
    },
  },
];

export function target(name: string): FuzzTarget {
  const t = TARGETS.find((x) => x.name === name);
  if (t === undefined) {
    throw new Error(`no fuzz target ${name}; targets: ${TARGETS.map((x) => x.name).join(", ")}`);
  }
  return t;
}
