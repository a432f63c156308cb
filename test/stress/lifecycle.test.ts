/** Reloads, SIGTERM and a killed worker under traffic (docs/RELIABILITY.md), at a size for every test run. */
import { test } from "node:test";
import { reloadStorm, sigterm, workerKill } from "../../bench/stress/scenarios/lifecycle.js";
import { runCi } from "./harness.js";

const TIMEOUT = { timeout: 90_000 };

test("reload storm under traffic, then a revocation", TIMEOUT, (t) => runCi(t, reloadStorm));

test(
  "SIGTERM under traffic: every connection completes or ends with a reason; exit 0",
  TIMEOUT,
  (t) => runCi(t, sigterm),
);

test("serve --workers 2: a worker killed with SIGKILL is replaced, traffic goes on", TIMEOUT, (t) =>
  runCi(t, workerKill),
);
