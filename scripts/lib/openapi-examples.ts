/**
 * Every example of an OpenAPI 3.1 document against its own schema, with a real JSON Schema
 * (2020-12) validator, and every member it names against the demo coalition (an example a reader
 * copies into "try it" should be accepted, and name a member `npm start` seeded). Run by
 * scripts/check-openapi.ts (Node: Ajv compiles with `new Function`, which workerd forbids).
 */
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

type Json = Record<string, unknown>;
interface Doc {
  paths?: Record<string, Record<string, Json>>;
  components?: Json;
}

/** Where an example sits, the schema it must satisfy, and the example. */
interface Example {
  where: string;
  schema: unknown;
  value: unknown;
}

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Keys of a schema whose values are subschemas, and those whose values are lists or maps of them. */
const SUBSCHEMA = ["items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames"];
const SUBSCHEMA_LISTS = ["anyOf", "oneOf", "allOf", "prefixItems"];
const SUBSCHEMA_MAPS = ["properties", "patternProperties", "$defs"];

function schemaExamples(schema: unknown, where: string, out: Example[]): void {
  if (!isObject(schema)) return;
  if ("example" in schema) out.push({ where: `${where}/example`, schema, value: schema.example });
  if (Array.isArray(schema.examples))
    for (const [i, value] of schema.examples.entries()) out.push({ where: `${where}/examples/${i}`, schema, value });
  for (const key of SUBSCHEMA) schemaExamples(schema[key], `${where}/${key}`, out);
  for (const key of SUBSCHEMA_LISTS) {
    const list = schema[key];
    if (Array.isArray(list)) for (const [i, s] of list.entries()) schemaExamples(s, `${where}/${key}/${i}`, out);
  }
  for (const key of SUBSCHEMA_MAPS) {
    const map = schema[key];
    if (isObject(map)) for (const [name, s] of Object.entries(map)) schemaExamples(s, `${where}/${key}/${name}`, out);
  }
}

/** A parameter's or a media type's own `example` and `examples` (Example Objects), against its schema. */
function ownExamples(holder: Json, where: string, out: Example[]): void {
  if ("example" in holder) out.push({ where: `${where}/example`, schema: holder.schema ?? {}, value: holder.example });
  if (isObject(holder.examples))
    for (const [name, ex] of Object.entries(holder.examples))
      if (isObject(ex) && "value" in ex)
        out.push({ where: `${where}/examples/${name}`, schema: holder.schema ?? {}, value: ex.value });
  schemaExamples(holder.schema, `${where}/schema`, out);
}

function contentExamples(content: unknown, where: string, out: Example[]): void {
  if (!isObject(content)) return;
  for (const [type, media] of Object.entries(content)) if (isObject(media)) ownExamples(media, `${where}/content/${type}`, out);
}

/** Every example of the document: in components' schemas, parameters, request bodies and responses. */
export function examplesOf(doc: Doc): Example[] {
  const out: Example[] = [];
  const schemas = isObject(doc.components?.schemas) ? doc.components.schemas : {};
  for (const [name, schema] of Object.entries(schemas)) schemaExamples(schema, `#/components/schemas/${name}`, out);
  for (const [path, ops] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(ops)) {
      const where = `${method.toUpperCase()} ${path}`;
      const params = Array.isArray(op.parameters) ? op.parameters : [];
      for (const p of params) if (isObject(p)) ownExamples(p, `${where} parameter ${String(p.in)} ${String(p.name)}`, out);
      if (isObject(op.requestBody)) contentExamples(op.requestBody.content, `${where} requestBody`, out);
      if (isObject(op.responses))
        for (const [status, response] of Object.entries(op.responses))
          if (isObject(response)) contentExamples(response.content, `${where} ${status}`, out);
    }
  }
  return out;
}

/** Every string a value names under `key` (at any depth). */
function valuesUnder(value: unknown, key: string, found: unknown[] = []): unknown[] {
  if (Array.isArray(value)) for (const v of value) valuesUnder(v, key, found);
  else if (isObject(value))
    for (const [k, v] of Object.entries(value)) {
      if (k === key) found.push(v);
      valuesUnder(v, key, found);
    }
  return found;
}

export interface ExampleCheck {
  examples: number;
  problems: string[];
}

/**
 * Validates every example against its schema (refs resolved in the document's components) and
 * checks that each member_ref an example names, in a body or as a path parameter, is a demo
 * member's. Request bodies without an example of their own are reported: Swagger UI would show
 * one it composed from the properties' examples, which need not be valid as a whole.
 */
export function checkExamples(doc: Doc, demoMemberRefs: readonly string[]): ExampleCheck {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  // The document itself, so `#/components/schemas/…` resolves from any schema compiled against it.
  ajv.addSchema({ $id: "openapi.json", components: doc.components ?? {} });
  const problems: string[] = [];
  const examples = examplesOf(doc);
  for (const { where, schema, value } of examples) {
    const rooted = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi.json#/components/'));
    const validate = ajv.compile(isObject(rooted) ? rooted : {});
    if (!validate(value)) {
      const errors = (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""}`).join("; ");
      problems.push(`${where}: ${JSON.stringify(value)} is not valid against its schema: ${errors}`);
    }
    const memberRefs = where.includes(" parameter path member_ref") ? [value] : valuesUnder(value, "member_ref");
    for (const ref of memberRefs)
      if (typeof ref !== "string" || !demoMemberRefs.includes(ref))
        problems.push(`${where}: member_ref ${JSON.stringify(ref)} is not a demo member (${demoMemberRefs.join(", ")})`);
  }
  for (const [path, ops] of Object.entries(doc.paths ?? {}))
    for (const [method, op] of Object.entries(ops)) {
      const content = isObject(op.requestBody) && isObject(op.requestBody.content) ? op.requestBody.content : {};
      for (const [type, media] of Object.entries(content)) {
        if (!isObject(media)) continue;
        const own = "example" in media || isObject(media.examples);
        const schema = resolve(doc, media.schema);
        if (!own && !(isObject(schema) && "example" in schema))
          problems.push(`${method.toUpperCase()} ${path} requestBody ${type}: no example of its own`);
      }
    }
  return { examples: examples.length, problems };
}

function resolve(doc: Doc, schema: unknown): unknown {
  let s = schema;
  for (let i = 0; i < 10 && isObject(s) && typeof s.$ref === "string"; i++) {
    const name = s.$ref.replace("#/components/schemas/", "");
    s = isObject(doc.components?.schemas) ? doc.components.schemas[name] : undefined;
  }
  return s;
}
