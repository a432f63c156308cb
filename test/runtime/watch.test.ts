/**
 * The configuration watch of a running linkgate (in this process): a save reloads, however the
 * file is saved (in place, renamed over, removed then written), through a Kubernetes ConfigMap
 * (the `..data` symlink swap), through a symlink whose target changes or is edited, and after
 * the file's directory is replaced (the directory watch is then dead: polling takes over). A
 * touch that changes no byte does not reload.
 */
import assert from "node:assert/strict";
import {
  mkdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { LinkgateRuntime } from "../../src/runtime/linkgate.js";
import { delay, tempDir, waitFor } from "../helpers/programs.js";
import { type LogLine, serveConfigYaml } from "../helpers/serve.js";

const VPCE = "aws:vpce-0123456789abcdef0";

/** A valid configuration whose one rule is described `label`: each save differs. */
const yaml = (label: string) =>
  serveConfigYaml(9, `        - { link: "${VPCE}", description: "${label}" }`);

interface Running {
  rt: LinkgateRuntime;
  lines: LogLine[];
  /** The description of the rule in force. */
  label(): string | null;
  /** Waits for the policy in force to be `label`, by a reload of the file. */
  reloadedTo(label: string): Promise<void>;
  reloads(): LogLine[];
}

async function run(t: TestContext, configFile: string): Promise<Running> {
  const lines: LogLine[] = [];
  const rt = await LinkgateRuntime.start({
    configFile,
    version: "test",
    logDestination: { write: (l: string) => void lines.push(JSON.parse(l)) } as never,
  });
  t.after(() => rt.stop());
  const label = () => rt.config.tenants[0].allow?.rules[0].description ?? null;
  return {
    rt,
    lines,
    label,
    reloads: () => lines.filter((l) => l.msg === "reload ok" || l.msg === "reload failed"),
    async reloadedTo(want) {
      await waitFor(() => label() === want, {
        timeoutMs: 6000,
        what: `a reload to "${want}" (in force: "${label()}")`,
      });
    },
  };
}

/** How a Kubernetes kubelet updates a mounted ConfigMap: a new timestamped directory, then a
 * `..data` symlink to it renamed over the old one, then the old directory removed. */
function configMapUpdate(dir: string, version: string, text: string, previous?: string): void {
  const data = join(dir, `..2026_11_30_${version}`);
  mkdirSync(data);
  writeFileSync(join(data, "linkgate.yaml"), text);
  symlinkSync(`..2026_11_30_${version}`, join(dir, "..data_tmp"));
  renameSync(join(dir, "..data_tmp"), join(dir, "..data"));
  if (previous !== undefined) rmSync(join(dir, `..2026_11_30_${previous}`), { recursive: true });
}

test("a plain file: in-place edit, rename over, remove then write reload; a touch does not", {
  timeout: 60_000,
}, async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, "linkgate.yaml");
  writeFileSync(file, yaml("v1"));
  const r = await run(t, file);
  assert.equal(r.label(), "v1");

  writeFileSync(file, yaml("v2"));
  await r.reloadedTo("v2");

  // An editor's save: a new file renamed over the old one.
  writeFileSync(join(dir, ".linkgate.yaml.swp"), yaml("v3"));
  renameSync(join(dir, ".linkgate.yaml.swp"), file);
  await r.reloadedTo("v3");

  // A deploy tool that removes the file, then writes it.
  unlinkSync(file);
  await delay(50);
  writeFileSync(file, yaml("v4"));
  await r.reloadedTo("v4");

  // A touch: the times change, not a byte. Wait past the debounce and a poll.
  const before = r.reloads().length;
  const now = new Date();
  utimesSync(file, now, now);
  await delay(3000);
  assert.equal(r.reloads().length, before, "a touch does not reload");
  assert.equal(r.lines.filter((l) => l.msg === "reload failed").length, 0);
  assert.deepEqual(
    r.reloads().map((l) => l.source),
    ["file", "file", "file"],
  );
});

test("a Kubernetes ConfigMap volume: the ..data symlink swap reloads", {
  timeout: 60_000,
}, async (t) => {
  const dir = await tempDir(t);
  configMapUpdate(dir, "a", yaml("v1"));
  symlinkSync("..data/linkgate.yaml", join(dir, "linkgate.yaml"));
  const r = await run(t, join(dir, "linkgate.yaml"));
  assert.equal(r.label(), "v1");

  configMapUpdate(dir, "b", yaml("v2"), "a");
  await r.reloadedTo("v2");
  configMapUpdate(dir, "c", yaml("v3"), "b");
  await r.reloadedTo("v3");
});

test("a symlinked file: editing its target and retargeting the link reload", {
  timeout: 60_000,
}, async (t) => {
  const root = await tempDir(t);
  for (const d of ["etc", "a", "b"]) mkdirSync(join(root, d));
  writeFileSync(join(root, "a", "real.yaml"), yaml("v1"));
  const file = join(root, "etc", "linkgate.yaml");
  symlinkSync("../a/real.yaml", file);
  const r = await run(t, file);
  assert.equal(r.label(), "v1");

  // The target, in another directory, edited in place.
  writeFileSync(join(root, "a", "real.yaml"), yaml("v2"));
  await r.reloadedTo("v2");

  // The link pointed elsewhere (atomically, as `ln -sfn` through a rename does).
  writeFileSync(join(root, "b", "real.yaml"), yaml("v3"));
  symlinkSync("../b/real.yaml", join(root, "etc", "linkgate.yaml.tmp"));
  renameSync(join(root, "etc", "linkgate.yaml.tmp"), file);
  await r.reloadedTo("v3");

  // And the new target edited: its directory is watched now.
  writeFileSync(join(root, "b", "real.yaml"), yaml("v4"));
  await r.reloadedTo("v4");
  // The old target changing is no longer of interest.
  writeFileSync(join(root, "a", "real.yaml"), yaml("v5"));
  await delay(3000);
  assert.equal(r.label(), "v4");
});

test("the file's directory replaced: the dead directory watch is replaced, changes reload", {
  timeout: 60_000,
}, async (t) => {
  const root = await tempDir(t);
  const dir = join(root, "conf");
  mkdirSync(dir);
  const file = join(dir, "linkgate.yaml");
  writeFileSync(file, yaml("v1"));
  const r = await run(t, file);

  // The whole directory swapped (the old one, still watched, is gone from the path).
  mkdirSync(join(root, "conf.new"));
  writeFileSync(join(root, "conf.new", "linkgate.yaml"), yaml("v2"));
  renameSync(dir, join(root, "conf.old"));
  renameSync(join(root, "conf.new"), dir);
  await r.reloadedTo("v2");

  // Edits in the new directory reload too.
  writeFileSync(file, yaml("v3"));
  await r.reloadedTo("v3");
});
