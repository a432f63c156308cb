/** The floods of `npm run stress` (docs/RELIABILITY.md), at a size for every test run. */
import { test } from "node:test";
import {
  connectionChurn,
  deniedFlood,
  fdLimit,
  slowHeaderFlood,
} from "../../bench/stress/scenarios/floods.js";
import { requireProgram } from "../helpers/programs.js";
import { runCi } from "./harness.js";

const TIMEOUT = { timeout: 90_000 };

test(
  "slow-header flood: every slow client closed at headerTimeout, allowed p99 within 2x",
  TIMEOUT,
  (t) => runCi(t, slowHeaderFlood),
);

test(
  "denied flood: no denied connection reaches the backend, every allowed one does",
  TIMEOUT,
  (t) => runCi(t, deniedFlood),
);

test("connection churn: one line per connection, with the reason of its kind", TIMEOUT, (t) =>
  runCi(t, connectionChurn),
);

test(
  "descriptor limit: a line for every connection, no crash, service again afterwards",
  TIMEOUT,
  async (t) => {
    if (!requireProgram(t, "prlimit", "util-linux")) return;
    await runCi(t, fdLimit);
  },
);
