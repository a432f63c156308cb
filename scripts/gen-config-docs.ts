/**
 * Generates docs/config.md from the configuration schema (src/config/schema.ts), the annotated
 * example (examples/linkgate.yaml) and the error catalogue. Run `npm run docs:config` after
 * changing any of them; test/config/docs.test.ts fails while the file is out of date.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { stringify } from "yaml";
import { ConfigFileSchema } from "../src/config/schema.js";
import { ERROR_CATALOGUE } from "../src/errors/index.js";

type Schema = Record<string, unknown>;

const ROOT = new URL("..", import.meta.url);
export const DOCS_PATH = fileURLToPath(new URL("docs/config.md", ROOT));
const EXAMPLE_PATH = new URL("examples/linkgate.yaml", ROOT);

function properties(schema: Schema): [string, Schema][] {
  return Object.entries((schema.properties as Record<string, Schema> | undefined) ?? {});
}

function isObject(schema: Schema): boolean {
  return schema.type === "object" && schema.properties !== undefined;
}

function branches(schema: Schema): Schema[] {
  return (schema.anyOf as Schema[] | undefined) ?? [];
}

/** A union of objects told apart by `type` (the store). */
function isTaggedUnion(schema: Schema): boolean {
  const b = branches(schema);
  return b.length > 0 && b.every(isObject);
}

function code(text: string): string {
  return `\`${text}\``;
}

function yamlInline(value: unknown): string {
  return stringify(value, { collectionStyle: "flow", lineWidth: 0 }).trim();
}

function typeLabel(schema: Schema): string {
  if (typeof schema["x-type"] === "string") return schema["x-type"];
  if (schema.enum !== undefined) return "string";
  if (schema.const !== undefined) return code(String(schema.const));
  if (schema.type === "array") return `list of ${typeLabel(schema.items as Schema)}`;
  if (schema.type === "object") return "mapping";
  if (schema.type === "boolean") return "boolean";
  return String(schema.type);
}

function bounds(schema: Schema): string | null {
  const parts: string[] = [];
  if (schema.minimum !== undefined && schema.maximum !== undefined) {
    parts.push(`${schema.minimum} to ${schema.maximum}`);
  } else if (schema.minimum !== undefined) {
    parts.push(`at least ${schema.minimum}`);
  }
  if (schema.minItems !== undefined) parts.push(`at least ${schema.minItems} item(s)`);
  if (schema.pattern !== undefined) parts.push(`matches ${code(String(schema.pattern))}`);
  if (schema.maxLength !== undefined) parts.push(`at most ${schema.maxLength} characters`);
  return parts.length > 0 ? parts.join("; ") : null;
}

function leaf(path: string, key: string, schema: Schema, required: boolean): string {
  const lines = [`#### ${code(path)}`, ""];
  lines.push(`- **Type**: ${typeLabel(schema)}`);
  if (required) lines.push("- **Required**");
  else if (schema.default !== undefined)
    lines.push(`- **Default**: ${code(yamlInline(schema.default))}`);
  else lines.push("- **Optional**");
  if (Array.isArray(schema.enum)) {
    lines.push(`- **Allowed values**: ${schema.enum.map((v) => code(String(v))).join(", ")}`);
  }
  const b = bounds(schema);
  if (b !== null) lines.push(`- **Bounds**: ${b}`);
  const examples = schema.examples as unknown[] | undefined;
  if (examples !== undefined && examples.length > 0) {
    const shown = examples.map((e) => code(`${key}: ${yamlInline(e)}`)).join(", ");
    lines.push(`- **Example${examples.length > 1 ? "s" : ""}**: ${shown}`);
  }
  lines.push("", String(schema.description ?? ""), "");
  return lines.join("\n");
}

function section(path: string, schema: Schema, required: boolean): string {
  const head = [`### ${code(path)}`, ""];
  head.push(`${required ? "Required" : "Optional"}. ${String(schema.description ?? "")}`, "");
  return head.join("\n");
}

/** Renders an object's keys: plain keys first, then nested mappings and lists as sections. */
function renderObject(schema: Schema, prefix: string): string {
  const out: string[] = [];
  const required = new Set((schema.required as string[] | undefined) ?? []);
  const nested: [string, Schema, boolean][] = [];
  for (const [key, prop] of properties(schema)) {
    const path = prefix === "" ? key : `${prefix}.${key}`;
    const req = required.has(key);
    if (isObject(prop) || isTaggedUnion(prop)) nested.push([path, prop, req]);
    else if (prop.type === "array" && isObject(prop.items as Schema)) {
      nested.push([`${path}[]`, prop, req]);
    } else out.push(leaf(path, key, prop, req));
  }
  for (const [path, prop, req] of nested) {
    if (prop.type === "array") {
      const extra = bounds(prop);
      const items = prop.items as Schema;
      out.push(
        section(path, { ...prop, description: `${prop.description} ${items.description}` }, req),
      );
      if (extra !== null) out.push(`Bounds: ${extra}.`, "");
      if (prop.default !== undefined) out.push(`Default: ${code(yamlInline(prop.default))}.`, "");
      out.push(renderObject(items, path));
    } else if (isTaggedUnion(prop)) {
      out.push(section(path, prop, req));
      const examples = (prop.examples as unknown[] | undefined) ?? [];
      for (const e of examples) out.push(`- ${code(`${path.split(".").pop()}: ${yamlInline(e)}`)}`);
      out.push("");
      for (const branch of branches(prop)) {
        const tag = String((branch.properties as Record<string, Schema>).type.const);
        out.push(`With ${code(`type: ${tag}`)}:`, "");
        out.push(renderObject(branch, path));
      }
    } else {
      out.push(section(path, prop, req), renderObject(prop, path));
    }
  }
  return out.join("\n");
}

const INTRO = `<!-- Generated by scripts/gen-config-docs.ts from src/config/schema.ts, examples/linkgate.yaml and src/errors/catalogue.ts. Do not edit: run \`npm run docs:config\`. -->

# Configuration

linkgate reads one YAML file (a JSON file is YAML too, and loads the same way):

\`\`\`sh
linkgate check --config linkgate.yaml   # validate: every error with file, line, column and key
linkgate serve --config linkgate.yaml   # refuses to start on an invalid file, with the same messages
\`\`\`

\`check\` prints \`F: ok — 2 listeners, 3 tenants, 5 rules\` and exits 0, or prints every error on
stderr, one per line, as \`FILE:LINE:COLUMN: KEY: message [CODE]\`, and exits 1 (a missing or
unreadable file too, with \`CONFIG_UNREADABLE\`); a bad command line exits 2. \`--json\` prints
\`{"ok", "file", "errors": [{"file", "line", "column", "key", "code", "message"}]}\` on stdout
instead. Syntax errors have no key; an unreadable file has no line and column (0 in JSON).

The schema is one TypeBox (JSON Schema) definition in \`src/config/schema.ts\`: it validates the
file, generates this page, and will validate the REST API's tenants and rules.

## A complete example

Every key, with its default where it has one (\`examples/linkgate.yaml\`; a smaller runnable
demo is \`examples/demo.yaml\`, and the same in JSON \`examples/demo.json\`).

`;

const DECISIONS = `## Decision semantics

How a connection is judged against its tenant's \`allow\` (the tenant comes from the TLS SNI
through \`routing.hostPatterns\` or a tenant's \`hostnames\`; the link identity from the PROXY
header on a \`proxyProtocol: required\` listener; the source is the client address from that
header, or the TCP peer on a \`none\` listener):

| connection | tenant rules | result |
|---|---|---|
| any | tenant has no \`allow\` at all | allowed (no restriction configured yet) |
| link L | a rule \`link: L\` | allowed |
| link L | only other links / cidr-only rules | **denied**: a cidr-only rule never admits Private Link traffic (consumer source IPs overlap across customers) |
| link L, source S | rule \`link: L, cidr: C\` | allowed only if S in C |
| no link (public), source S | rule \`cidr: C\` with S in C | allowed |
| no link (public) | \`publicInternet: true\` | allowed |
| no link (public) | neither | denied |
| unknown hostname / no SNI | — | denied (\`routing.fallbackUpstream\` is an explicit opt-in) |
| PROXY header from an untrusted peer, missing on a \`required\` listener, present on a \`none\` listener, malformed, bad CRC, duplicate identity TLVs | — | dropped before any decision |
| tenant in \`report-only\` | any | allowed, but counted and logged as "would deny" |

So: \`allow\` absent means "no restriction configured yet", while \`allow: {}\` (no rules,
\`publicInternet: false\`) denies everything. A Private Link connection is admitted only by a rule
that names its link. Identities are written \`aws:vpce-0123456789abcdef0\`, \`azure:553665985\`,
\`gcp:18446744072646845442\`.

## How values are written

- **Durations**: a whole number with a unit, \`250ms\`, \`5s\`, \`1m\`, \`1h\`, or an integer
  number of milliseconds (\`5000\`). Each duration has bounds, given with its key.
- **Addresses** (\`host:port\`): \`10.0.0.1:443\`, \`[2001:db8::1]:443\` (IPv6 in brackets, and
  quoted in YAML, where a bare \`[\` starts a list). A bind address must be an IP; an upstream's
  host may be a DNS name.
- **CIDRs**: \`10.0.0.0/8\`, \`2001:db8::/32\`; host bits must be zero (\`10.0.0.1/8\` is an
  error that suggests \`10.0.0.0/8\`), and a bare address needs its \`/32\` or \`/128\`.
- **Host patterns**: \`{tenant}.api.example.com\`; quote them in YAML, where a bare \`{\` starts a
  mapping.
- **Unknown keys are errors** (a typo must not be silently ignored), with a "did you mean"
  suggestion when the key is close to a known one. Duplicate keys are errors too. A key written
  with no value (\`key:\`) is null, which no key accepts: leave the key out instead.

## Keys

`;

function errorCodes(): string {
  const rows = Object.entries(ERROR_CATALOGUE)
    .filter(([c]) => c.startsWith("CONFIG_"))
    .map(([c, text]) => `| ${code(c)} | ${text} |`);
  return ["## Error codes", "", "| code | meaning |", "|---|---|", ...rows, ""].join("\n");
}

function topLevelTable(schema: Schema): string {
  const required = new Set((schema.required as string[] | undefined) ?? []);
  const rows = properties(schema).map(([key, prop]) => {
    const first = String(prop.description ?? "").split(/(?<=\.) /)[0];
    return `| ${code(key)} | ${required.has(key) ? "yes" : "no"} | ${first} |`;
  });
  return ["| key | required | what |", "|---|---|---|", ...rows, "", ""].join("\n");
}

/**
 * The project formats docs with Biome (`npm run lint` checks docs/ too), so generated text goes
 * through the same formatter, as the file at `path`: the file on disk is then both current and
 * formatted.
 */
export function formatWithBiome(text: string, path: string): string {
  const biome = fileURLToPath(new URL("node_modules/@biomejs/biome/bin/biome", ROOT));
  const r = spawnSync(process.execPath, [biome, "format", `--stdin-file-path=${path}`], {
    input: text,
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`biome format failed: ${r.stderr}`);
  return r.stdout;
}

/** The whole of docs/config.md. */
export function renderConfigDocs(): string {
  return formatWithBiome(renderRawConfigDocs(), DOCS_PATH);
}

/** docs/config.md before formatting. */
export function renderRawConfigDocs(): string {
  const example = readFileSync(EXAMPLE_PATH, "utf8");
  const schema = ConfigFileSchema as unknown as Schema;
  const parts = [
    INTRO,
    "```yaml\n",
    example,
    "```\n\n",
    DECISIONS,
    "### Top level\n\n",
    `${String(schema.description)}\n\n`,
    topLevelTable(schema),
    renderObject(schema, ""),
    "\n\n",
    errorCodes(),
  ];
  return `${parts
    .join("")
    .replace(/\n{3,}/g, "\n\n")
    .trimEnd()}\n`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  writeFileSync(DOCS_PATH, renderConfigDocs());
  process.stdout.write(`wrote ${DOCS_PATH}\n`);
}
