/**
 * Writes docs/openapi.json, the OpenAPI document of the REST API: the same document that
 * GET /openapi.json serves, generated from src/control. Run `npm run docs:api` after changing
 * a route or a schema; test/control/openapi.test.ts fails while the file is out of date.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { controlPlaneOpenApi } from "../src/control/control-plane.js";
import { formatWithBiome } from "./gen-config-docs.js";

const ROOT = new URL("..", import.meta.url);
export const OPENAPI_PATH = fileURLToPath(new URL("docs/openapi.json", ROOT));

/** The whole of docs/openapi.json. */
export function renderOpenApi(): string {
  const pkg = JSON.parse(readFileSync(new URL("package.json", ROOT), "utf8"));
  const doc = controlPlaneOpenApi(String(pkg.version));
  return formatWithBiome(`${JSON.stringify(doc, null, 2)}\n`, OPENAPI_PATH);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  writeFileSync(OPENAPI_PATH, renderOpenApi());
  process.stdout.write(`wrote ${OPENAPI_PATH}\n`);
}
