/** The functions with the most self time in a V8 .cpuprofile (node --cpu-prof). */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export interface HotFunction {
  name: string;
  where: string;
  /** Share of the busy samples (all but "(idle)"), 0..1. */
  share: number;
}

export function topFunctions(
  path: string,
  count = 20,
): { samples: number; busy: number; top: HotFunction[] } {
  const profile = JSON.parse(readFileSync(path, "utf8")) as { nodes: ProfileNode[] };
  const byKey = new Map<string, HotFunction & { hits: number }>();
  let total = 0;
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    if (hits === 0) continue;
    total += hits;
    const f = n.callFrame;
    const file = f.url.replace(/^file:\/\//, "").replace(/^.*\/(dist|src|node_modules)\//, "$1/");
    const where = file === "" ? "" : `${file}:${f.lineNumber + 1}`;
    const name = f.functionName === "" ? "(anonymous)" : f.functionName;
    const key = `${name} ${where}`;
    const e = byKey.get(key) ?? { name, where, share: 0, hits: 0 };
    e.hits += hits;
    byKey.set(key, e);
  }
  const idle = byKey.get("(idle) ")?.hits ?? 0;
  byKey.delete("(idle) ");
  const busy = total - idle;
  const top = [...byKey.values()]
    .sort((a, b) => b.hits - a.hits)
    .slice(0, count)
    .map((e) => ({ name: e.name, where: e.where, share: e.hits / Math.max(1, busy) }));
  return { samples: total, busy, top };
}
