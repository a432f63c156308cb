/**
 * Schema validation with Ajv, and the translation of Ajv's errors into ConfigIssues: one clear
 * message per problem, a "did you mean" for misspelt keys and values, and the key each is about.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import type { ErrorCode } from "../errors/index.js";
import type { ConfigIssue, ConfigPath } from "./errors.js";
import { ConfigFileSchema } from "./schema.js";
import { suggest } from "./suggest.js";

type Schema = Record<string, unknown>;

let compiled: ValidateFunction | undefined;
/** Validators of other schemas (the REST API's bodies), compiled once each. */
const compiledBySchema = new WeakMap<object, ValidateFunction>();

/** The Ajv instance used for configuration schemas: all errors, the x- annotations known. */
export function createAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: true });
  ajv.addKeyword({ keyword: "x-type", schemaType: "string" });
  ajv.addKeyword({ keyword: "x-expected", schemaType: "string" });
  return ajv;
}

function validator(): ValidateFunction {
  compiled ??= createAjv().compile(ConfigFileSchema);
  return compiled;
}

/** Codes for values whose schema has an x-type, so that a schema error gets the same code. */
const CODE_BY_TYPE: Record<string, ErrorCode> = {
  duration: "CONFIG_BAD_DURATION",
  "IP:port": "CONFIG_BAD_ADDRESS",
  "host:port": "CONFIG_BAD_ADDRESS",
  CIDR: "CONFIG_BAD_CIDR",
  identity: "CONFIG_BAD_IDENTITY",
  "host pattern": "CONFIG_BAD_PATTERN",
  "DNS name": "CONFIG_BAD_HOSTNAME",
};

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return `the string ${JSON.stringify(value)}`;
  return `${typeof value} ${JSON.stringify(value)}`;
}

const TYPE_NAMES: Record<string, string> = {
  string: "a string",
  integer: "an integer",
  number: "a number",
  boolean: "true or false",
  object: "a mapping (key: value)",
  array: "a list",
  null: "null",
};

function pointerToPath(pointer: string, root: unknown): (string | number)[] {
  if (pointer === "") return [];
  const path: (string | number)[] = [];
  let node: unknown = root;
  for (const raw of pointer.slice(1).split("/")) {
    const part = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(node)) {
      const index = Number(part);
      path.push(index);
      node = node[index];
    } else {
      path.push(part);
      node = typeof node === "object" && node !== null ? (node as Schema)[part] : undefined;
    }
  }
  return path;
}

function codeFor(schema: Schema | undefined): ErrorCode {
  const type = schema?.["x-type"];
  return (typeof type === "string" && CODE_BY_TYPE[type]) || "CONFIG_SCHEMA";
}

function expected(schema: Schema | undefined): string | undefined {
  const text = schema?.["x-expected"];
  return typeof text === "string" ? text : undefined;
}

function quoteList(values: readonly unknown[]): string {
  return values.map((v) => JSON.stringify(v)).join(", ");
}

/** One Ajv error (not anyOf) -> one issue. */
function translate(error: ErrorObject, root: unknown): ConfigIssue {
  const path = pointerToPath(error.instancePath, root);
  const schema = error.parentSchema as Schema | undefined;
  const code = codeFor(schema);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case "additionalProperties": {
      const key = String(params.additionalProperty);
      const known = Object.keys((schema?.properties as Schema | undefined) ?? {});
      const guess = suggest(key, known);
      const hint =
        guess !== null ? `; did you mean "${guess}"?` : ` (known keys: ${known.join(", ")})`;
      return {
        path: [...path, key],
        code: "CONFIG_UNKNOWN_KEY",
        at: "key",
        message: `unknown key "${key}"${hint}`,
      };
    }
    case "required": {
      const key = String(params.missingProperty);
      return {
        path: [...path, key],
        code: "CONFIG_SCHEMA",
        message: "is required but missing",
        at: "key",
        locate: path,
      };
    }
    case "enum": {
      const allowed = (params.allowedValues as unknown[]) ?? [];
      const guess =
        typeof error.data === "string"
          ? suggest(
              error.data,
              allowed.filter((v): v is string => typeof v === "string"),
            )
          : null;
      const text = expected(schema) ?? `one of ${quoteList(allowed)}`;
      const hint = guess !== null ? `; did you mean "${guess}"?` : "";
      return {
        path,
        code,
        message: `must be ${text} (got ${describe(error.data)})${hint}`,
      };
    }
    case "type": {
      const want = expected(schema) ?? TYPE_NAMES[String(params.type)] ?? String(params.type);
      return { path, code, message: `must be ${want} (got ${describe(error.data)})` };
    }
    case "minimum":
    case "maximum": {
      const limit = params.limit as number;
      const word = error.keyword === "minimum" ? "at least" : "at most";
      return { path, code, message: `must be ${word} ${limit} (got ${describe(error.data)})` };
    }
    case "minItems":
      return {
        path,
        code,
        message: `must have at least ${params.limit} item${params.limit === 1 ? "" : "s"}`,
      };
    default: {
      const want = expected(schema);
      if (want !== undefined) {
        return { path, code, message: `must be ${want} (got ${describe(error.data)})` };
      }
      return { path, code, message: error.message ?? `fails "${error.keyword}"` };
    }
  }
}

/**
 * Ajv reports every branch of a failed anyOf plus the anyOf itself. When the value picks a
 * branch by its `type` (the store), only that branch's errors are kept, and so are those of
 * the one other branch of a nullable value (T | null) that is not null; otherwise the whole
 * lot becomes one issue saying what was expected.
 */
function collapseUnions(errors: ErrorObject[], root: unknown): ConfigIssue[] {
  let remaining = [...errors];
  const issues: ConfigIssue[] = [];
  const unions = errors
    .filter((e) => e.keyword === "anyOf")
    .sort((a, b) => a.schemaPath.length - b.schemaPath.length);
  for (const union of unions) {
    if (!remaining.includes(union)) continue;
    const branches = union.schema as Schema[];
    // Items of one array share schema paths: a branch error belongs to this union only if it
    // is also about this value (or a value inside it).
    const prefix = `${union.schemaPath}/`;
    const under = (e: ErrorObject) =>
      e.schemaPath.startsWith(prefix) &&
      (e.instancePath === union.instancePath ||
        e.instancePath.startsWith(`${union.instancePath}/`));
    const inside = remaining.filter(under);
    remaining = remaining.filter((e) => e !== union && !under(e));
    const data = union.data;
    const path = pointerToPath(union.instancePath, root);
    const schema = union.parentSchema as Schema | undefined;
    const tags = branches.map((b) => {
      const tag = ((b.properties as Schema | undefined)?.type as Schema | undefined)?.const;
      return typeof tag === "string" ? tag : "";
    });
    const discriminated = tags.every((t) => t !== "");
    // A nullable value (T | null) that is not null is judged by T alone, with T's messages.
    const nonNull = branches.filter((b) => b.type !== "null");
    if (nonNull.length === 1 && branches.length === 2 && data !== null) {
      const branch = `${union.schemaPath}/${branches.indexOf(nonNull[0])}/`;
      remaining.push(...inside.filter((e) => e.schemaPath.startsWith(branch)));
      continue;
    }
    if (discriminated && typeof data === "object" && data !== null && !Array.isArray(data)) {
      const tag = (data as Schema).type;
      const index = typeof tag === "string" ? tags.indexOf(tag) : -1;
      if (index >= 0) {
        const branch = `${union.schemaPath}/${index}/`;
        remaining.push(...inside.filter((e) => e.schemaPath.startsWith(branch)));
        continue;
      }
      const guess = typeof tag === "string" ? suggest(tag, tags) : null;
      issues.push({
        path: [...path, "type"],
        code: "CONFIG_SCHEMA",
        message:
          tag === undefined
            ? `is required: one of ${quoteList(tags)}`
            : `must be one of ${quoteList(tags)} (got ${describe(tag)})${guess !== null ? `; did you mean "${guess}"?` : ""}`,
        at: tag === undefined ? "key" : "value",
        locate: tag === undefined ? path : undefined,
      });
      continue;
    }
    const want =
      expected(schema) ??
      (discriminated ? `a mapping with type ${quoteList(tags)}` : "a valid value");
    issues.push({
      path,
      code: codeFor(schema),
      message: `must be ${want} (got ${describe(data)})`,
    });
  }
  // Unions are handled outer first, so a nested anyOf put back with its branch is seen later.
  for (const e of remaining) if (e.keyword !== "anyOf") issues.push(translate(e, root));
  return issues;
}

function samePath(a: ConfigPath, b: ConfigPath): boolean {
  return a.length === b.length && a.every((p, i) => p === b[i]);
}

/** The schema's verdict on `value` (the parsed file): no issues when it conforms. */
export function schemaIssues(value: unknown): ConfigIssue[] {
  return issuesOf(validator(), value);
}

/**
 * The verdict of any schema built from these parts (the REST API's request bodies) on
 * `value`, in the same terms as the file's: codes, "did you mean", paths from `value`.
 */
export function schemaIssuesFor(schema: object, value: unknown): ConfigIssue[] {
  let validate = compiledBySchema.get(schema);
  if (validate === undefined) {
    validate = createAjv().compile(schema);
    compiledBySchema.set(schema, validate);
  }
  return issuesOf(validate, value);
}

function issuesOf(validate: ValidateFunction, value: unknown): ConfigIssue[] {
  if (validate(value)) return [];
  const issues = collapseUnions(validate.errors ?? [], value);
  // pattern + maxLength on one value, both explained by its x-expected: say it once.
  return issues.filter(
    (issue, i) =>
      issues.findIndex((o) => o.message === issue.message && samePath(o.path, issue.path)) === i,
  );
}
