/** The peer faults of `npm run stress` (docs/RELIABILITY.md), at a size for every test run. */
import { test } from "node:test";
import {
  backpressure,
  clientReset,
  upstreamBlackHole,
  upstreamReset,
} from "../../bench/stress/scenarios/faults.js";
import { runCi } from "./harness.js";

const TIMEOUT = { timeout: 90_000 };

test("an upstream that never answers, or stays silent: connect and idle timeouts", TIMEOUT, (t) =>
  runCi(t, upstreamBlackHole),
);

test("an upstream that resets mid-stream: UPSTREAM_ERROR, the client closed", TIMEOUT, (t) =>
  runCi(t, upstreamReset),
);

test("a client that resets: CONN_CLIENT_ERROR, the upstream closed", TIMEOUT, (t) =>
  runCi(t, clientReset),
);

test("peers that never read: bounded buffering, then idleTimeout", TIMEOUT, (t) =>
  runCi(t, backpressure),
);
