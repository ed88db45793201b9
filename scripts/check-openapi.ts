/**
 * Validates the served OpenAPI document against the OpenAPI 3.1 JSON schema, in Node (the
 * validator compiles schemas with `new Function`, which workerd forbids), and checks that every
 * operation documents its security and its error responses. Part of `npm test`.
 */
import { Validator } from "@seriousme/openapi-schema-validator";
import { app } from "../src/index";

const response = await app.request("/openapi.json");
const doc = (await response.json()) as {
  openapi: string;
  paths: Record<string, Record<string, { security?: unknown[]; responses?: Record<string, unknown> }>>;
};
const validator = new Validator();
const result = await validator.validate(doc as unknown as Parameters<Validator["validate"]>[0]);
const problems: string[] = [];
if (!result.valid) problems.push(`not valid OpenAPI 3.1: ${JSON.stringify(result.errors, null, 2)}`);
if (validator.version !== "3.1") problems.push(`expected OpenAPI 3.1, got ${validator.version}`);

let operations = 0;
for (const [path, methods] of Object.entries(doc.paths)) {
  for (const [method, op] of Object.entries(methods)) {
    operations++;
    const codes = Object.keys(op.responses ?? {});
    const isPublic = path === "/health" || path.startsWith("/.well-known") || path === "/openapi.json";
    if (!isPublic && !op.security?.length) problems.push(`${method.toUpperCase()} ${path}: no security scheme`);
    if (!isPublic && !codes.some((c) => c.startsWith("4"))) problems.push(`${method.toUpperCase()} ${path}: no error responses`);
  }
}
// Every route the app serves (but the docs themselves and health) is documented; the bench's
// routes are not in the production app at all (scripts/bench/worker/).
const undocumentedOk = new Set(["/openapi.json", "/docs", "/docs/init.js", "/docs/:file", "/health"]);
for (const route of app.routes) {
  if (route.method === "ALL" || undocumentedOk.has(route.path)) continue;
  // `:file{stl_…\.csv}` (a param with a pattern and a literal extension) is documented as `{id}.csv`.
  const path = route.path.replace(/:[A-Za-z_]+\{[^}]*\\\.([a-z]+)\}/g, "{id}.$1").replace(/:([A-Za-z_]+)/g, "{$1}");
  if (!doc.paths[path]?.[route.method.toLowerCase()])
    problems.push(`${route.method} ${path}: served but not in the OpenAPI document`);
}
if (problems.length > 0) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log(`openapi: valid OpenAPI ${doc.openapi}, ${operations} operations, each with security and errors`);
