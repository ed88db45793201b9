/**
 * Validates the served OpenAPI document against the OpenAPI 3.1 JSON schema, in Node (the
 * validator compiles schemas with `new Function`, which workerd forbids), and checks that every
 * operation documents its security and its error responses, and that every example is valid
 * against its schema and names demo members (scripts/lib/openapi-examples.ts). Part of `npm test`.
 */
import { Validator } from "@seriousme/openapi-schema-validator";
import { app } from "../src/index";
import { checkExamples } from "./lib/openapi-examples";
import { DEMO_MEMBER } from "./seed/demo-coalition";

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
// Every route the app serves (but the docs and their local signer, the console's pages, the widget script and health) is documented; the bench's
// routes are not in the production app at all (scripts/bench/worker/).
const undocumentedOk = new Set([
  "/openapi.json",
  "/docs",
  "/docs/init.js",
  "/docs/:file",
  "/health",
  "/widget/v1.js",
  "/docs/try-it",
  "/docs/try-it/sign",
  "/",
  "/console",
  "/console/",
  "/console/:file",
]);
for (const route of app.routes) {
  if (route.method === "ALL" || undocumentedOk.has(route.path)) continue;
  // `:file{stl_…\.csv}` (a param with a pattern and a literal extension) is documented as `{id}.csv`.
  const path = route.path.replace(/:[A-Za-z_]+\{[^}]*\\\.([a-z]+)\}/g, "{id}.$1").replace(/:([A-Za-z_]+)/g, "{$1}");
  if (!doc.paths[path]?.[route.method.toLowerCase()])
    problems.push(`${route.method} ${path}: served but not in the OpenAPI document`);
}
const demoMemberRefs = DEMO_MEMBER.refs.map((r) => r.member_ref);
const examples = checkExamples(doc, demoMemberRefs);
problems.push(...examples.problems);

// The example check finds what it is for: an earn example with both amount and points, naming
// a member nobody seeded, is refused (so a checker gone blind fails here, not silently).
const planted = structuredClone(doc) as unknown as { components: { schemas: Record<string, { example?: unknown }> } };
const earn = planted.components.schemas.EarnRequest;
if (!earn) problems.push("no EarnRequest schema to plant a bad example in");
else {
  earn.example = { member_ref: "c-42", amount: { value: "5.00", unit: "CNY" }, points: 500, context: { ip: "203.0.113.7" } };
  const found = checkExamples(planted as unknown as typeof doc, demoMemberRefs).problems.filter((p) =>
    p.startsWith("#/components/schemas/EarnRequest/example"),
  );
  if (!found.some((p) => p.includes("not valid against its schema")))
    problems.push("the example check accepted an earn example with both amount and points");
  if (!found.some((p) => p.includes('member_ref "c-42" is not a demo member')))
    problems.push("the example check accepted an example naming a member outside the demo coalition");
}

if (problems.length > 0) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log(
  `openapi: valid OpenAPI ${doc.openapi}, ${operations} operations, each with security and errors; ${examples.examples} examples valid, naming demo members only`,
);
