/** Every route of the REST API, in the order /openapi.json and docs/api.md list them. */
import type { RouteSpec } from "../route.js";
import { AUDIT_ROUTES } from "./audit.js";
import { OBSERVED_ROUTES } from "./observed.js";
import { RULE_ROUTES } from "./rules.js";
import { TENANT_ROUTES } from "./tenants.js";
import { TOKEN_ROUTES } from "./tokens.js";
import { WHOAMI_ROUTES } from "./whoami.js";

export const API_ROUTES: readonly RouteSpec[] = [
  ...TENANT_ROUTES,
  ...RULE_ROUTES,
  ...OBSERVED_ROUTES,
  ...TOKEN_ROUTES,
  ...AUDIT_ROUTES,
  ...WHOAMI_ROUTES,
];
