/**
 * The REST API's request and response schemas. Request bodies are built from the
 * configuration file's own schemas (src/config/schema.ts), so that a tenant, its allow list
 * and its rules are written the same way in the file and over the API, and are checked by the
 * same validator with the same messages. The same objects make /openapi.json.
 */
import Type, { type TSchema } from "typebox";
import { AllowSchema, NAME_PATTERN, RuleSchema, TenantSchema } from "../config/schema.js";
import { HTTP_STATUS } from "./errors.js";

/** The description of a configuration schema, reused in the API's. */
function describedAs(schema: TSchema): string {
  return String((schema as { description?: unknown }).description ?? "");
}

function Nullable<T extends TSchema>(schema: T) {
  return Type.Union([schema, Type.Null()]);
}

/** RFC 3339 with a time zone ("Z" or an offset); fractions of a second allowed. */
export const RFC3339_PATTERN =
  "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$";

const Time = (description: string) =>
  Type.String({ description, examples: ["2025-06-01T12:00:00.000Z"], "x-type": "date-time" });

// -- requests -------------------------------------------------------------------------------

const ExpiresAt = Type.String({
  pattern: RFC3339_PATTERN,
  description:
    "When the rule stops admitting: an RFC 3339 time with a time zone, in the future. null or absent: never.",
  examples: ["2025-12-31T23:59:59Z"],
  "x-type": "date-time",
  "x-expected": 'an RFC 3339 time with a time zone, such as "2025-12-31T23:59:59Z"',
});

/** A rule as the file writes it, and when it expires. */
export const RuleBody = Type.Object(
  { ...RuleSchema.properties, expiresAt: Type.Optional(Nullable(ExpiresAt)) },
  {
    additionalProperties: false,
    description: `${describedAs(RuleSchema)} Over the API a rule may also expire.`,
    examples: [
      { link: "aws:vpce-0123456789abcdef0", description: "prod VPC" },
      { cidr: "203.0.113.0/24", description: "office", expiresAt: "2025-12-31T23:59:59Z" },
    ],
  },
);

export const AllowBody = Type.Object(
  {
    publicInternet: AllowSchema.properties.publicInternet,
    rules: Type.Optional(Type.Array(RuleBody, { description: "The allow list." })),
  },
  { additionalProperties: false, description: describedAs(AllowSchema) },
);

export const CreateTenantBody = Type.Object(
  { ...TenantSchema.properties, allow: Type.Optional(Nullable(AllowBody)) },
  {
    additionalProperties: false,
    description: `${describedAs(TenantSchema)} As in the configuration file; \`allow\` null or absent: no restriction.`,
    examples: [
      {
        id: "megacorp",
        enforcement: "report-only",
        allow: { publicInternet: false, rules: [{ link: "aws:vpce-0123456789abcdef0" }] },
      },
    ],
  },
);

export const PatchTenantBody = Type.Object(
  {
    hostnames: TenantSchema.properties.hostnames,
    upstream: Type.Optional(Nullable(TenantSchema.properties.upstream)),
    enforcement: TenantSchema.properties.enforcement,
    allow: Type.Optional(
      Nullable(
        Type.Object(
          { publicInternet: AllowSchema.properties.publicInternet },
          {
            additionalProperties: false,
            description:
              "Sets publicInternet (and turns the allow list on, with no rules, if the tenant had none). The rules change through /rules.",
          },
        ),
      ),
    ),
  },
  {
    additionalProperties: false,
    description:
      "The settings to change; absent keys stay as they are. `allow: null` lifts every restriction (and drops the rules); `upstream: null` goes back to routing.upstream. Host names and upstream need an admin token.",
    examples: [{ enforcement: "enforce" }, { allow: { publicInternet: false } }, { allow: null }],
  },
);

export const ReplaceRulesBody = Type.Object(
  {
    rules: Type.Array(RuleBody, {
      description:
        "The whole new rule list; rules with the link and cidr of a current one keep their id and counters.",
    }),
  },
  { additionalProperties: false, description: "A rule list, replacing the current one at once." },
);

export const AllowObservedBody = Type.Object(
  {
    description: RuleSchema.properties.description,
    expiresAt: Type.Optional(Nullable(ExpiresAt)),
  },
  {
    additionalProperties: false,
    description: "The rule to create for an observed identity; the body may be omitted.",
  },
);

export const CreateTokenBody = Type.Object(
  {
    label: Type.Optional(
      Type.String({
        maxLength: 200,
        description: "Free text for people: who or what uses the token.",
        examples: ["terraform"],
      }),
    ),
  },
  { additionalProperties: false, description: "The token to mint; the body may be omitted." },
);

export const TenantParams = Type.Object({
  id: Type.String({ description: "The tenant id.", examples: ["megacorp"] }),
});
export const RuleParams = Type.Object({
  id: TenantParams.properties.id,
  ruleId: Type.String({ description: "The rule id.", examples: ["r_3f2a9c0b1d4e5f6a7b8c"] }),
});
export const TokenParams = Type.Object({
  id: TenantParams.properties.id,
  tokenId: Type.String({ description: "The token id.", examples: ["tok_0123456789abcdef"] }),
});
export const ObservedParams = Type.Object({
  id: TenantParams.properties.id,
  identity: Type.String({
    description:
      'The observed identity, URL-encoded: "aws:vpce-…", "azure:…", "gcp:…" or "public:<network>" (the "/" as %2F).',
    examples: ["azure:553665985", "public:203.0.113.0%2F24"],
  }),
});

export const MAX_PAGE = 1000;
export const DEFAULT_PAGE = 100;

const Limit = Type.Integer({
  minimum: 1,
  maximum: MAX_PAGE,
  default: DEFAULT_PAGE,
  description: `Items per page, 1 to ${MAX_PAGE}.`,
  examples: [100],
});
const Cursor = Type.String({
  minLength: 1,
  description: "The nextCursor of the previous page.",
  examples: ["eyJsIjoidGVuYW50cyIsImsiOiJtZWdhY29ycCJ9"],
});
const Force = Type.Boolean({
  default: false,
  description: "true: skip the lockout guard.",
  examples: [true],
});

export const PageQuery = Type.Object(
  { limit: Type.Optional(Limit), cursor: Type.Optional(Cursor) },
  { additionalProperties: false },
);
export const ForceQuery = Type.Object(
  { force: Type.Optional(Force) },
  { additionalProperties: false },
);

// -- responses ------------------------------------------------------------------------------

export const RuleView = Type.Object(
  {
    id: Type.String({ description: 'Stable; "f_…" for rules of the configuration file.' }),
    link: Nullable(Type.String()),
    cidr: Nullable(Type.String()),
    description: Nullable(Type.String()),
    expiresAt: Nullable(Time("When the rule stops admitting.")),
    expired: Type.Boolean({ description: "expiresAt has passed: the rule admits nothing." }),
    createdAt: Nullable(Time("null for rules of the configuration file.")),
    hits: Type.Integer({ description: "Connections the rule admitted (flushed every second)." }),
    lastHitAt: Nullable(Time("The last connection the rule admitted.")),
  },
  { additionalProperties: false, description: "An allow rule." },
);

export const TenantView = Type.Object(
  {
    id: Type.String({ pattern: NAME_PATTERN }),
    hostnames: Type.Array(Type.String()),
    upstream: Nullable(Type.String({ description: '"host:port"; null: routing.upstream.' })),
    enforcement: Type.Enum(["enforce", "report-only"]),
    allow: Nullable(
      Type.Object(
        { publicInternet: Type.Boolean(), rules: Type.Array(RuleView) },
        { additionalProperties: false },
      ),
    ),
    managedBy: Type.Enum(["config", "api"], {
      description: "config: the configuration file's (read-only here); api: the store's.",
    }),
    createdAt: Nullable(Time("null for tenants of the configuration file.")),
    updatedAt: Nullable(Time("null for tenants of the configuration file.")),
    etag: Type.String({ description: "The ETag header's value: send it as If-Match." }),
  },
  { additionalProperties: false, description: "A tenant." },
);

const TokenProperties = {
  id: Type.String(),
  tenant: Type.String(),
  label: Nullable(Type.String()),
  createdAt: Time("When it was minted."),
  createdBy: Type.String({ description: 'The admin who minted it ("admin:…").' }),
  lastUsedAt: Nullable(Time("Within about a second.")),
  revokedAt: Nullable(Time("Revoked tokens stay listed.")),
};

export const TokenView = Type.Object(TokenProperties, {
  additionalProperties: false,
  description: "A tenant token, without its secret.",
});

export const NewTokenView = Type.Object(
  {
    ...TokenProperties,
    token: Type.String({
      description: 'The secret ("lgt_…"): shown this once, kept only as a hash.',
    }),
  },
  { additionalProperties: false, description: "A tenant token just minted, with its secret." },
);

export const WhoamiView = Type.Object(
  {
    kind: Type.Union([Type.Literal("admin"), Type.Literal("tenant")], {
      description: "An admin token, or a tenant token.",
    }),
    tenant: Type.Union([Type.String(), Type.Null()], {
      description: "The tenant a tenant token belongs to; null for an admin token.",
    }),
    tokenId: Type.Union([Type.String(), Type.Null()], {
      description: "A tenant token's id (as the token list shows it); null for an admin token.",
    }),
  },
  { additionalProperties: false, description: "What a bearer token is." },
);

export const ObservedView = Type.Object(
  {
    identity: Type.String({
      description: 'The endpoint ("aws:vpce-…", "azure:…", "gcp:…") or "public:<network>".',
    }),
    provider: Type.Enum(["aws", "azure", "gcp", "public"]),
    listener: Type.String(),
    lastSource: Nullable(Type.String()),
    firstSeenAt: Time("First connection."),
    lastSeenAt: Time("Last connection."),
    allowed: Type.Integer({ description: "Connections the rules admitted." }),
    denied: Type.Integer({
      description: "Connections the rules refused (or, report-only, would have refused).",
    }),
    lastReason: Type.String({ description: "The decision reason of the last connection." }),
  },
  { additionalProperties: false, description: "An identity seen reaching the tenant." },
);

export const AuditView = Type.Object(
  {
    id: Type.Integer(),
    at: Time("When."),
    actor: Type.String({ description: '"admin:<fingerprint>" or "token:<token id>".' }),
    action: Type.Enum([
      "tenant.create",
      "tenant.update",
      "tenant.delete",
      "rule.create",
      "rule.delete",
      "rules.replace",
      "token.create",
      "token.revoke",
    ]),
    before: Type.Unknown({ description: "What it was (null when created)." }),
    after: Type.Unknown({ description: "What it became (null when deleted)." }),
    version: Nullable(Type.Integer({ description: "The store version of a policy change." })),
  },
  { additionalProperties: false, description: "One change." },
);

export function ListOf<T extends TSchema>(item: T, description: string) {
  return Type.Object(
    {
      items: Type.Array(item),
      nextCursor: Nullable(
        Type.String({ description: "Pass as ?cursor= for the next page; null on the last." }),
      ),
    },
    { additionalProperties: false, description },
  );
}

export const TenantList = ListOf(TenantView, "A page of tenants, by id.");
export const RuleList = ListOf(RuleView, "A page of a tenant's rules, in order.");
export const ObservedList = ListOf(ObservedView, "A page of observed identities, by identity.");
export const TokenList = ListOf(TokenView, "A page of a tenant's tokens.");
export const AuditList = ListOf(AuditView, "A page of the audit log, newest first.");

export const ErrorView = Type.Object(
  {
    error: Type.Object(
      {
        code: Type.Enum(Object.keys(HTTP_STATUS), { description: "A stable code (docs/api.md)." }),
        message: Type.String({ description: "For people: what is wrong and what to do." }),
      },
      {
        description:
          "Some codes add fields: details (VALIDATION_FAILED and the like), wouldCut (LOCKOUT_GUARD).",
      },
    ),
  },
  { additionalProperties: false, description: "An error." },
);

/** The schemas /openapi.json names under components.schemas. */
export const NAMED_SCHEMAS: Record<string, TSchema> = {
  RuleBody,
  AllowBody,
  CreateTenantBody,
  PatchTenantBody,
  ReplaceRulesBody,
  AllowObservedBody,
  CreateTokenBody,
  Rule: RuleView,
  Tenant: TenantView,
  Token: TokenView,
  NewToken: NewTokenView,
  Observed: ObservedView,
  AuditEntry: AuditView,
  TenantList,
  RuleList,
  ObservedList,
  TokenList,
  AuditList,
  Error: ErrorView,
};

export type RuleBodyValue = Type.Static<typeof RuleBody>;
export type CreateTenantValue = Type.Static<typeof CreateTenantBody>;
export type PatchTenantValue = Type.Static<typeof PatchTenantBody>;
