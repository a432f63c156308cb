/**
 * `linkgate doctor az --provider FILE --consumer FILE`: do the service provider's and the
 * consumer's AWS accounts share an Availability Zone? PrivateLink needs one (the seed's first
 * quirk), and zone *names* cannot tell: each account maps us-east-1a to a physical zone of its
 * own, so the zones are compared by AZ ID (use1-az1), which is the same in every account.
 *
 * Input: the JSON of `aws ec2 describe-availability-zones` (the account's zones) or of
 * `aws ec2 describe-subnets` (the zones of those subnets: the load balancer's on the provider's
 * side, the endpoint's on the consumer's, which is what PrivateLink actually uses).
 */
import { readFile } from "node:fs/promises";
import { ERROR_CATALOGUE, type ErrorCode, LinkgateError } from "../errors/index.js";
import {
  CommandFailure,
  EXIT_INVALID,
  EXIT_USAGE,
  errorDocument,
  type Io,
  printJson,
  usageError,
} from "./output.js";

export type ZoneSource = "describe-availability-zones" | "describe-subnets";

export interface Zone {
  zoneId: string;
  zoneName: string;
  /** describe-availability-zones' State (available, impaired...); null for subnets. */
  state: string | null;
  /** availability-zone, local-zone, wavelength-zone; null when absent. */
  zoneType: string | null;
  /** describe-subnets: the subnets in this zone. */
  subnets: string[];
}

export interface ZoneList {
  side: "provider" | "consumer";
  file: string;
  source: ZoneSource;
  /** RegionName (zones) or the region in SubnetArn (subnets); null when absent. */
  region: string | null;
  zones: Map<string, Zone>;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function nonEmptyString(v: unknown): v is string {
  return typeof v === "string" && v.length > 0;
}

/** Throws DOCTOR_BAD_INPUT naming the flag, the file and the problem. */
function badInput(side: string, file: string, problem: string): LinkgateError {
  const where = file === "-" ? "standard input" : file;
  return new LinkgateError("DOCTOR_BAD_INPUT", `--${side} ${where}: ${problem}`);
}

const EXPECTED =
  "expected the JSON output of `aws ec2 describe-availability-zones` (an object with AvailabilityZones) or of `aws ec2 describe-subnets` (an object with Subnets)";

/** Parses one side's file. */
export function parseZoneList(side: "provider" | "consumer", file: string, text: string): ZoneList {
  const fail = (problem: string) => badInput(side, file, problem);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const trimmed = text.trim();
    if (trimmed === "") throw fail(`is empty; ${EXPECTED}`);
    const hint = /^[A-Z]+\s/.test(trimmed)
      ? " (it looks like --output text or table: use --output json)"
      : "";
    throw fail(`is not JSON${hint}: ${(error as Error).message}`);
  }
  if (!isObject(value)) {
    throw fail(`is JSON but not an object; ${EXPECTED}`);
  }
  const zones = new Map<string, Zone>();
  const regions = new Set<string>();
  if (Array.isArray(value.AvailabilityZones)) {
    value.AvailabilityZones.forEach((z: unknown, i: number) => {
      const at = `AvailabilityZones[${i}]`;
      if (!isObject(z)) throw fail(`${at} is not an object`);
      if (!nonEmptyString(z.ZoneId))
        throw fail(`${at} has no ZoneId (a string such as "use1-az1")`);
      if (!nonEmptyString(z.ZoneName)) {
        throw fail(`${at} has no ZoneName (a string such as "us-east-1a")`);
      }
      if (zones.has(z.ZoneId)) throw fail(`${at}: the ZoneId ${z.ZoneId} appears twice`);
      if (nonEmptyString(z.RegionName)) regions.add(z.RegionName);
      zones.set(z.ZoneId, {
        zoneId: z.ZoneId,
        zoneName: z.ZoneName,
        state: nonEmptyString(z.State) ? z.State : null,
        zoneType: nonEmptyString(z.ZoneType) ? z.ZoneType : null,
        subnets: [],
      });
    });
  } else if (Array.isArray(value.Subnets)) {
    value.Subnets.forEach((s: unknown, i: number) => {
      const at = `Subnets[${i}]`;
      if (!isObject(s)) throw fail(`${at} is not an object`);
      if (!nonEmptyString(s.AvailabilityZoneId)) {
        throw fail(`${at} has no AvailabilityZoneId (a string such as "use1-az1")`);
      }
      if (!nonEmptyString(s.AvailabilityZone)) {
        throw fail(`${at} has no AvailabilityZone (a string such as "us-east-1a")`);
      }
      // arn:aws:ec2:REGION:ACCOUNT:subnet/subnet-...
      if (nonEmptyString(s.SubnetArn)) {
        const region = s.SubnetArn.split(":")[3];
        if (nonEmptyString(region)) regions.add(region);
      }
      const zone = zones.get(s.AvailabilityZoneId) ?? {
        zoneId: s.AvailabilityZoneId,
        zoneName: s.AvailabilityZone,
        state: null,
        zoneType: null,
        subnets: [],
      };
      if (zone.zoneName !== s.AvailabilityZone) {
        throw fail(
          `${at}: the zone ${s.AvailabilityZoneId} is called both ${zone.zoneName} and ${s.AvailabilityZone}: these subnets come from different accounts`,
        );
      }
      zone.subnets.push(nonEmptyString(s.SubnetId) ? s.SubnetId : `Subnets[${i}]`);
      zones.set(zone.zoneId, zone);
    });
  } else {
    const keys = Object.keys(value).slice(0, 5).join(", ");
    throw fail(
      `has no AvailabilityZones or Subnets list (its keys: ${keys || "none"}); ${EXPECTED}`,
    );
  }
  if (zones.size === 0) {
    throw fail(
      "lists no zone: was the command run in the right region and account? (describe-availability-zones --region REGION)",
    );
  }
  if (regions.size > 1) {
    throw fail(
      `holds zones of several regions (${[...regions].sort().join(", ")}): give one region's zones (--region REGION)`,
    );
  }
  const source: ZoneSource = Array.isArray(value.AvailabilityZones)
    ? "describe-availability-zones"
    : "describe-subnets";
  return { side, file, source, region: [...regions][0] ?? null, zones };
}

/** "use1" for "use1-az1": AZ IDs name their region, which lets files without RegionName compare. */
function zoneIdRegion(zoneId: string): string {
  return zoneId.replace(/-az[0-9]+$/, "");
}

export interface AzComparison {
  ok: boolean;
  code: ErrorCode | null;
  message: string;
  region: { provider: string | null; consumer: string | null; same: boolean };
  provider: { file: string; source: ZoneSource; region: string | null; zones: number };
  consumer: { file: string; source: ZoneSource; region: string | null; zones: number };
  zones: {
    zoneId: string;
    common: boolean;
    provider: Omit<Zone, "zoneId"> | null;
    consumer: Omit<Zone, "zoneId"> | null;
  }[];
  common: string[];
}

function sideSummary(l: ZoneList) {
  return { file: l.file, source: l.source, region: l.region, zones: l.zones.size };
}

function withoutId(z: Zone | undefined): Omit<Zone, "zoneId"> | null {
  if (z === undefined) return null;
  const { zoneId: _, ...rest } = z;
  return rest;
}

function unavailable(z: Zone | undefined): boolean {
  return z !== undefined && z.state !== null && z.state !== "available";
}

/** Compares the two sides by AZ ID. */
export function compareZones(provider: ZoneList, consumer: ZoneList): AzComparison {
  const ids = [...new Set([...provider.zones.keys(), ...consumer.zones.keys()])].sort((x, y) =>
    x.localeCompare(y, "en", { numeric: true }),
  );
  const zones = ids.map((zoneId) => {
    const p = provider.zones.get(zoneId);
    const c = consumer.zones.get(zoneId);
    return {
      zoneId,
      common: p !== undefined && c !== undefined,
      provider: withoutId(p),
      consumer: withoutId(c),
    };
  });
  const common = zones.filter((z) => z.common).map((z) => z.zoneId);
  const sameRegion =
    provider.region !== null && consumer.region !== null
      ? provider.region === consumer.region
      : [...provider.zones.keys()].some((id) =>
          [...consumer.zones.keys()].some((other) => zoneIdRegion(other) === zoneIdRegion(id)),
        );
  const base = {
    region: { provider: provider.region, consumer: consumer.region, same: sameRegion },
    provider: sideSummary(provider),
    consumer: sideSummary(consumer),
    zones,
    common,
  };
  if (!sameRegion) {
    const where = (l: ZoneList) =>
      l.region ?? `the region of ${[...new Set([...l.zones.keys()].map(zoneIdRegion))].join(", ")}`;
    return {
      ...base,
      ok: false,
      code: "DOCTOR_AZ_REGION_MISMATCH",
      message: `the provider's zones are in ${where(provider)}, the consumer's in ${where(consumer)}: AZ IDs belong to one region, so none can be common. An endpoint connects to an endpoint service of its own region unless the provider enables cross-Region access on the service; run the command with --region <the service's region> on both sides`,
    };
  }
  if (common.length === 0) {
    const list = (l: ZoneList) => [...l.zones.keys()].join(", ");
    return {
      ...base,
      ok: false,
      code: "DOCTOR_AZ_NO_COMMON_ZONE",
      message: `no AZ ID is on both sides, so PrivateLink cannot connect: the consumer cannot place the endpoint in any zone the service offers. The provider has ${list(provider)}; the consumer has ${list(consumer)}. Add a load balancer subnet in one of the consumer's zones, or an endpoint subnet in one of the provider's`,
    };
  }
  const pairs = common.map((id) => {
    const p = provider.zones.get(id) as Zone;
    const c = consumer.zones.get(id) as Zone;
    return `${id} (provider ${p.zoneName}, consumer ${c.zoneName})`;
  });
  const down = common.filter(
    (id) => unavailable(provider.zones.get(id)) || unavailable(consumer.zones.get(id)),
  );
  let message = `${common.length} common Availability Zone${common.length === 1 ? "" : "s"}: ${pairs.join(", ")}. PrivateLink can connect in ${common.length === 1 ? "it" : "them"}`;
  if (down.length > 0) {
    message += `; not available now on one side: ${down.join(", ")}`;
  }
  return { ...base, ok: true, code: null, message };
}

function pad(text: string, width: number): string {
  return text.length >= width ? `${text}  ` : text + " ".repeat(width - text.length);
}

function flags(z: Omit<Zone, "zoneId"> | null, side: string): string[] {
  if (z === null) return [];
  const out: string[] = [];
  if (z.state !== null && z.state !== "available") out.push(`${side}: ${z.state}`);
  if (z.zoneType !== null && z.zoneType !== "availability-zone") out.push(`${side}: ${z.zoneType}`);
  return out;
}

export function formatComparison(r: AzComparison): string {
  const describe = (s: AzComparison["provider"]) =>
    `${s.file === "-" ? "standard input" : s.file} (${s.source}, ${s.zones} zone${s.zones === 1 ? "" : "s"}${s.region === null ? "" : `, ${s.region}`})`;
  const lines = [`Provider: ${describe(r.provider)}`, `Consumer: ${describe(r.consumer)}`, ""];
  const name = (z: Omit<Zone, "zoneId"> | null) =>
    z === null
      ? "-"
      : z.subnets.length > 0
        ? `${z.zoneName} (${z.subnets.join(", ")})`
        : z.zoneName;
  const rows = r.zones.map((z) => [
    z.zoneId,
    name(z.provider),
    name(z.consumer),
    [z.common ? "common" : "", ...flags(z.provider, "provider"), ...flags(z.consumer, "consumer")]
      .filter((x) => x !== "")
      .join(", "),
  ]);
  const header = ["AZ ID", "PROVIDER", "CONSUMER", ""];
  const widths = [0, 1, 2].map(
    (i) => Math.max(header[i].length, ...rows.map((row) => row[i].length)) + 2,
  );
  for (const row of [header, ...rows]) {
    lines.push(
      `${pad(row[0], widths[0])}${pad(row[1], widths[1])}${pad(row[2], widths[2])}${row[3]}`.trimEnd(),
    );
  }
  lines.push("");
  lines.push(r.ok ? `OK: ${r.message}.` : `NOT OK (${r.code}): ${r.message}.`);
  if (r.ok) {
    lines.push("Zone names are per account: tell the consumer the AZ IDs, never the names.");
  }
  if (
    r.provider.source === "describe-availability-zones" ||
    r.consumer.source === "describe-availability-zones"
  ) {
    lines.push(
      "This compared the accounts' zones. The service is offered only in the zones of its load balancer's subnets, and the endpoint lives in the subnets the consumer picks: for the exact answer, give each side's `aws ec2 describe-subnets --subnet-ids ...` output instead.",
    );
  }
  return `${lines.join("\n")}\n`;
}

export interface AzFlags {
  provider: string;
  consumer: string;
  json?: boolean;
}

async function readSide(side: "provider" | "consumer", file: string, io: Io): Promise<ZoneList> {
  let text: string;
  try {
    text = file === "-" ? (await io.readStdin()).toString("utf8") : await readFile(file, "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code;
    const why =
      code === "ENOENT"
        ? "no such file"
        : code === "EISDIR"
          ? "is a directory"
          : (error as Error).message;
    throw badInput(side, file, `cannot be read: ${why}`);
  }
  return parseZoneList(side, file, text);
}

/** Exit 0: a common zone; 1: none (or different regions); 2: a bad command line or input file. */
export async function azCommand(flags: AzFlags, io: Io): Promise<void> {
  if (flags.provider === "-" && flags.consumer === "-") {
    throw usageError(
      "--provider and --consumer cannot both be - (standard input): give one as a file",
    );
  }
  let provider: ZoneList;
  let consumer: ZoneList;
  try {
    provider = await readSide("provider", flags.provider, io);
    consumer = await readSide("consumer", flags.consumer, io);
  } catch (error) {
    if (!(error instanceof LinkgateError)) throw error;
    if (flags.json) {
      printJson(io, errorDocument(error), false);
      throw new CommandFailure(EXIT_USAGE);
    }
    throw new CommandFailure(EXIT_USAGE, `${error.message} [${error.code}]`);
  }
  const result = compareZones(provider, consumer);
  if (flags.json) {
    printJson(
      io,
      { ...result, explanation: result.code === null ? null : ERROR_CATALOGUE[result.code] },
      false,
    );
  } else {
    io.stdout(formatComparison(result));
  }
  if (!result.ok) throw new CommandFailure(EXIT_INVALID);
}
