/** Every scenario of `npm run stress`, in the order they run. */
import type { Scenario } from "../lib/scenario.js";
import { backpressure, clientReset, upstreamBlackHole, upstreamReset } from "./faults.js";
import { connectionChurn, deniedFlood, fdLimit, slowHeaderFlood } from "./floods.js";
import { fuzz } from "./fuzz.js";
import { reloadStorm, sigterm, workerKill } from "./lifecycle.js";
import { soak } from "./soak.js";

export const SCENARIOS: readonly Scenario[] = [
  fuzz,
  slowHeaderFlood,
  connectionChurn,
  deniedFlood,
  fdLimit,
  upstreamBlackHole,
  upstreamReset,
  clientReset,
  backpressure,
  reloadStorm,
  sigterm,
  workerKill,
  soak,
];
