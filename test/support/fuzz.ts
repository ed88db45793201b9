import fc from "fast-check";
import { expect } from "vitest";
import { type PartnerCredentials, signRequest } from "../../packages/partner-sdk/src/index";
import { requestTarget } from "../../src/auth/partner-signature";
import { ERROR_CODES } from "../../src/http/errors";
import { addKey, BASE_URL, newKeyPair, type TestPartner, workerFetch } from "./exchange";
import { burn, CONTEXT, DEFAULT_CARD, earn, enrol, expectOk, partnerWithCard } from "./ledger";

/**
 * Fuzzing support (issue 6, item 2): the endpoints as /openapi.json lists them, fast-check
 * arbitraries for malformed bodies, headers, query strings and path segments, and the contract
 * checks every answer must pass (partner-api.md §1 and §8).
 */

// ---------------------------------------------------------------------------------------------
// Endpoints, from the served OpenAPI document (new routes are fuzzed without touching the tests)
// ---------------------------------------------------------------------------------------------

export type Schema = Record<string, any>;

export interface QueryParam {
  name: string;
  required: boolean;
  schema: Schema;
}

export interface Endpoint {
  method: string;
  /** OpenAPI path template, e.g. /v1/members/{member_ref}/balance. */
  path: string;
  auth: "partner" | "operator" | "public";
  pathParams: string[];
  query: QueryParam[];
  body?: { required: boolean; schema: Schema };
}

export interface ApiDoc {
  paths: Record<string, Record<string, any>>;
  components?: { schemas?: Record<string, Schema> };
}

export async function loadApiDoc(): Promise<ApiDoc> {
  const response = await workerFetch(new Request(`${BASE_URL}/openapi.json`));
  expect(response.status).toBe(200);
  return (await response.json()) as ApiDoc;
}

export const HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"] as const;

export function endpointsOf(doc: ApiDoc): Endpoint[] {
  const endpoints: Endpoint[] = [];
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(operations)) {
      if (!HTTP_METHODS.includes(method.toUpperCase() as (typeof HTTP_METHODS)[number])) continue;
      const security = JSON.stringify(op.security ?? []);
      const auth = security.includes("CoalitionSignature")
        ? "partner"
        : security.includes("OperatorToken")
          ? "operator"
          : "public";
      const params = (op.parameters ?? []) as { name: string; in: string; required?: boolean; schema?: Schema }[];
      const jsonBody = op.requestBody?.content?.["application/json"];
      endpoints.push({
        method: method.toUpperCase(),
        path,
        auth,
        pathParams: [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] ?? ""),
        query: params
          .filter((p) => p.in === "query")
          .map((p) => ({ name: p.name, required: p.required === true, schema: p.schema ?? {} })),
        ...(jsonBody ? { body: { required: op.requestBody.required === true, schema: jsonBody.schema ?? {} } } : {}),
      });
    }
  }
  return endpoints;
}

/** Resolves a local `$ref`. */
export function deref(schema: Schema | undefined, doc: ApiDoc): Schema {
  let s = schema ?? {};
  for (let i = 0; i < 20 && typeof s.$ref === "string"; i++) {
    const name = s.$ref.replace("#/components/schemas/", "");
    s = doc.components?.schemas?.[name] ?? {};
  }
  return s;
}

/**
 * A plausible valid value for a schema: `hints` by property name first (so bodies name real
 * members and units), then the schema's example, enum, default, or a value of its type.
 * Objects carry their required properties only. Good enough for endpoints nobody wrote a
 * template for; the fuzzers mutate it anyway.
 */
export function exampleFromSchema(
  schema: Schema | undefined,
  doc: ApiDoc,
  hints: Record<string, unknown> = {},
  depth = 0,
): unknown {
  const s = deref(schema, doc);
  if (depth > 8) return null;
  const variants = (s.oneOf ?? s.anyOf) as Schema[] | undefined;
  if (variants?.length) return exampleFromSchema(variants[0], doc, hints, depth + 1);
  if (s.example !== undefined) return s.example;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0];
  if (s.default !== undefined) return s.default;
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case "object": {
      const out: Record<string, unknown> = {};
      for (const key of (s.required ?? []) as string[]) {
        out[key] = key in hints ? hints[key] : exampleFromSchema(s.properties?.[key], doc, hints, depth + 1);
      }
      return out;
    }
    case "array":
      return (s.minItems ?? 0) > 0 ? [exampleFromSchema(s.items, doc, hints, depth + 1)] : [];
    case "integer":
    case "number":
      return typeof s.minimum === "number" ? Math.max(s.minimum, 1) : 1;
    case "boolean":
      return true;
    case "string":
      return "x".repeat(Math.max(1, s.minLength ?? 1));
    default:
      return {};
  }
}

// ---------------------------------------------------------------------------------------------
// Raw JSON: values JSON.stringify cannot produce (1e309, -0, 1E3, huge integers, bad tokens)
// ---------------------------------------------------------------------------------------------

/** A token written into the JSON text as it is. */
export class RawJson {
  constructor(readonly text: string) {}
  toString(): string {
    return `raw(${this.text})`;
  }
}

/** JSON text of a value that may contain RawJson tokens anywhere. */
export function toJsonText(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : toJsonText(v))).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(value)) if (v !== undefined) parts.push(`${JSON.stringify(k)}:${toJsonText(v)}`);
    return `{${parts.join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

const utf8 = (s: string) => new TextEncoder().encode(s);

/**
 * Percent-encodes any string, lone surrogates included (as their CESU-8 bytes: invalid UTF-8
 * in a URL, which is exactly the junk wanted); encodeURIComponent would throw on them.
 */
export function pctEncode(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const next = s.charCodeAt(i + 1);
    if (c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      out += encodeURIComponent(s.slice(i, i + 2));
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      out +=
        `%${(0xe0 | (c >> 12)).toString(16)}%${(0x80 | ((c >> 6) & 0x3f)).toString(16)}%${(0x80 | (c & 0x3f)).toString(16)}`.toUpperCase();
    } else {
      out += encodeURIComponent(s[i] ?? "");
    }
  }
  return out;
}

/**
 * A header value as a client can send it: fetch refuses NUL, CR and LF, and workerd warns on
 * every non-ASCII value (it sends them as UTF-8); a few fixed non-ASCII values stay in the lists.
 */
export function asHeaderValue(s: string): string {
  let out = "";
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (c === 0 || c === 0x0a || c === 0x0d) continue;
    out += c > 0x7f ? "?" : ch;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Value arbitraries
// ---------------------------------------------------------------------------------------------

/** Numbers at and past every edge the contract names (points are 1..10^12 integers). */
export const weirdNumber: fc.Arbitrary<RawJson> = fc.oneof(
  fc
    .constantFrom(
      "1e309",
      "-1e309",
      "-0",
      "0",
      "-0.0",
      "1.5",
      "0.5",
      "0.0000001",
      "1.0000001",
      "1e5",
      "1E3",
      "1e-7",
      "10000000000000",
      "1000000000000",
      "1000000000001",
      "999999999999.5",
      "-1",
      "-1000000000000",
      "9007199254740993",
      "18446744073709551616",
      "123456789012345678901234567890123456789",
      "1.7976931348623157e308",
      "5e-324",
      // Not JSON at all:
      "NaN",
      "Infinity",
      "-Infinity",
      "0x10",
      "01",
      "+1",
      "1.",
      ".5",
      "-",
      "1_000",
    )
    .map((t) => new RawJson(t)),
  fc.integer().map((n) => new RawJson(String(n))),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => new RawJson(String(n))),
  fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map((n) => new RawJson(n.toString())),
);

const LONE_SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff", "a\ud800b", "\udfff\ud800"];

/** Strings that have broken parsers: control characters, lone surrogates, odd decimals, long runs. */
export const weirdString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "",
    " ",
    "\u0000",
    "a\u0000b",
    "\u0001\u001f\u007f",
    "\t\r\n",
    ...LONE_SURROGATES,
    "\ufeff",
    "\u200b",
    "\u202e",
    "😀",
    "👩‍👩‍👧",
    "é",
    "ｃ-42",
    "١٢٣",
    "１２.００",
    "mbr_",
    "mbr_x",
    "MBR_x",
    "txn_",
    "../../etc/passwd",
    "%00",
    "%2F",
    "a/b",
    "a?b=c",
    "a#b",
    "c-42 ",
    " c-42",
    "null",
    "true",
    "undefined",
    "1.0000001",
    "1e5",
    "1E5",
    "-1",
    "-0",
    "0",
    "0.00",
    "00.5",
    "1.",
    ".5",
    "1,5",
    "1 000",
    "+1",
    "Infinity",
    "NaN",
    "12.3456789",
    "999999999999999999999999999999999999.99",
    "9999999999999999999999999999999999999999",
    "0.000001",
    "cny",
    "C",
    "CNYCNYCNYCN",
    "2026-02-30T00:00:00Z",
    "2026-11-23T06:12:34",
    "2026-11-23T25:61:61Z",
    "9999-12-31T23:59:59Z",
    "0000-01-01T00:00:00Z",
    "2026-11-23T06:12:34.1234567891Z",
    "256.1.1.1",
    "::ffff:1.2.3.4",
    "fe80::1%eth0",
    "[::1]",
    "1.2.3.4/24",
    "' OR '1'='1",
    "'); DROP TABLE members; --",
    "<script>alert(1)</script>",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, meant literally
    "${7*7}",
    "__proto__",
    "constructor",
  ),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
  fc.constantFrom(127, 128, 129, 200, 255, 256, 501, 5_000).map((n) => "a".repeat(n)),
);

/** member_refs with odd characters, lengths and the reserved `mbr_` prefix. */
export const weirdMemberRef: fc.Arbitrary<string> = fc.oneof(
  weirdString,
  fc.stringMatching(/^[A-Za-z0-9._:-]{1,130}$/),
  fc.stringMatching(/^mbr_[A-Za-z0-9]{0,20}$/),
  fc.constantFrom("a".repeat(128), "a".repeat(129), ".", "..", ":", "-", "_"),
);

/** Decimal strings (amounts, rates, prices) at and past every edge: exponents, 7 decimals, 40+ digits, signs. */
export const weirdDecimal: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "0",
    "0.00",
    "-0.00",
    "-1.00",
    "1e5",
    "1E-2",
    "1.0000001",
    "0.0000001",
    "0.000001",
    "1.000000",
    "1.",
    ".5",
    "1..0",
    "+1.00",
    " 1.00",
    "1.00 ",
    "1,00",
    "1_000.00",
    "0x1F",
    "١.٠٠",
    "Infinity",
    "NaN",
    "9007199254740.993",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551616.000001",
    "999999999999999999999999999999999999.99",
    "9".repeat(40),
    "9".repeat(41),
    `0.${"0".repeat(37)}1`,
  ),
  // Any size, any scale: integer digits and 0..8 decimals.
  fc.tuple(fc.bigInt({ min: 0n, max: 10n ** 42n }), fc.nat({ max: 8 })).map(([n, scale]) => {
    const digits = n.toString().padStart(scale + 1, "0");
    return scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  }),
);

/** A value of a type no field expects, or of a type some field does expect but not this one. */
export const wrongTyped: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, 1, -1, "", "x", [], {}, [null], [[]], { a: 1 }, [1, 2, 3]),
  weirdNumber,
  weirdString,
  fc.jsonValue({ maxDepth: 3 }),
);

/** Any value a fuzzed field may get. */
export const fieldValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: wrongTyped, weight: 3 },
  { arbitrary: weirdNumber, weight: 2 },
  { arbitrary: weirdString, weight: 2 },
  { arbitrary: weirdMemberRef, weight: 1 },
);

// ---------------------------------------------------------------------------------------------
// Bodies
// ---------------------------------------------------------------------------------------------

/** A request body as bytes (undefined: no body at all), with a label for failure reports. */
export interface FuzzBody {
  bytes: Uint8Array | undefined;
  label: string;
}

export const MAX_BODY = 64 * 1024;

export type Path = (string | number)[];

/** Paths to every property of every object in `value` (array elements by index). */
export function propertyPaths(value: unknown, prefix: Path = []): Path[] {
  if (value === null || typeof value !== "object" || value instanceof RawJson) return [];
  const out: Path[] = [];
  const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  for (const [k, v] of entries) {
    out.push([...prefix, k]);
    out.push(...propertyPaths(v, [...prefix, k]));
  }
  return out;
}

function clone(value: unknown): unknown {
  if (value instanceof RawJson || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(clone);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clone(v)]));
}

/** A copy of `root` with the value at `path` replaced (or removed when `value` is undefined). */
export function setAt(root: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = clone(root);
  let node: any = copy;
  for (const key of path.slice(0, -1)) {
    if (node === null || typeof node !== "object" || node instanceof RawJson) return copy;
    node = node[key];
  }
  if (node === null || typeof node !== "object" || node instanceof RawJson) return copy;
  const last = path[path.length - 1] as string | number;
  if (value === undefined) {
    if (Array.isArray(node)) node.splice(Number(last), 1);
    else delete node[last];
  } else {
    node[last] = value;
  }
  return copy;
}

type Mutation = { label: string; apply: (v: unknown) => unknown };

function mutationArb(base: unknown): fc.Arbitrary<Mutation> {
  const paths = propertyPaths(base);
  const objectPaths: Path[] = [[], ...paths.filter((p) => isPlainObject(getAt(base, p)))];
  const options: fc.Arbitrary<Mutation>[] = [
    // An unknown field, at the top or inside any nested object.
    fc
      .tuple(
        fc.constantFrom(...objectPaths),
        fc.oneof(fc.constantFrom("extra", "Points", "member-ref", "__proto__", ""), fc.string()),
      )
      .chain(([p, key]) =>
        fieldValue.map((v) => ({ label: `unknown ${[...p, key].join(".")}=${show(v)}`, apply: (x) => setAt(x, [...p, key], v) })),
      ),
  ];
  if (paths.length > 0) {
    options.push(
      fc.constantFrom(...paths).map((p) => ({ label: `omit ${p.join(".")}`, apply: (x) => setAt(x, p, undefined) })),
      fc
        .tuple(fc.constantFrom(...paths), fieldValue)
        .map(([p, v]) => ({ label: `set ${p.join(".")}=${show(v)}`, apply: (x) => setAt(x, p, v) })),
    );
    // Type-aware: a value of the field's own kind, at and past its edges (where the bugs live),
    // numbers and decimal strings (points, amounts, prices) most often.
    const perturbOf = (ps: Path[]) =>
      fc.constantFrom(...ps).chain((p) =>
        (sameKindWeird(getAt(base, p)) as fc.Arbitrary<unknown>).map((v) => ({
          label: `edge ${p.join(".")}=${show(v)}`,
          apply: (x: unknown) => setAt(x, p, v),
        })),
      );
    const numeric = paths.filter((p) => isNumeric(getAt(base, p)));
    const other = paths.filter((p) => !isNumeric(getAt(base, p)) && sameKindWeird(getAt(base, p)) !== undefined);
    const weighted: { arbitrary: fc.Arbitrary<Mutation>; weight: number }[] = [{ arbitrary: fc.oneof(...options), weight: 2 }];
    if (numeric.length > 0) weighted.push({ arbitrary: perturbOf(numeric), weight: 3 });
    if (other.length > 0) weighted.push({ arbitrary: perturbOf(other), weight: 1 });
    return fc.oneof(...weighted);
  }
  return fc.oneof(...options);
}

function isNumeric(value: unknown): boolean {
  return typeof value === "number" || (typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value));
}

/** Weird values of the same kind as `value` (a decimal string, an integer, a boolean, a string). */
function sameKindWeird(value: unknown): fc.Arbitrary<unknown> | undefined {
  if (typeof value === "number") return weirdNumber;
  if (typeof value === "boolean") return fc.constantFrom<unknown>("true", 1, 0, null, new RawJson("True"), new RawJson("tru"));
  if (typeof value === "string") {
    if (/^-?\d+(\.\d+)?$/.test(value)) return weirdDecimal;
    if (/^\d{4}-\d\d-\d\dT/.test(value)) return weirdString.filter((s) => s.length < 60);
    return fc.oneof(weirdString, weirdMemberRef);
  }
  return undefined;
}

export function isPlainObject(v: unknown): boolean {
  return v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof RawJson);
}

export function getAt(root: unknown, path: Path): unknown {
  let node: any = root;
  for (const key of path) node = node?.[key];
  return node;
}

function show(v: unknown): string {
  const text = v instanceof RawJson ? v.text : (JSON.stringify(v) ?? String(v));
  return text.length > 60 ? `${text.slice(0, 57)}…(${text.length})` : text;
}

/** Byte sequences that are not UTF-8, or not what the server expects UTF-8 JSON to look like. */
const BAD_ENCODINGS: { label: string; bytes: number[] }[] = [
  { label: "0xff", bytes: [0xff] },
  { label: "overlong NUL", bytes: [0x22, 0xc0, 0x80, 0x22] },
  { label: "CESU lone surrogate", bytes: [0x22, 0xed, 0xa0, 0x80, 0x22] },
  { label: "truncated sequence", bytes: [0x22, 0xe2, 0x82, 0x22] },
  { label: "NUL byte", bytes: [0x00] },
  { label: "UTF-16 BOM", bytes: [0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00] },
];

function padTo(text: string, size: number): string {
  // Whitespace after the JSON keeps it valid JSON of exactly `size` bytes.
  const bytes = utf8(text).length;
  return bytes >= size ? text : text + " ".repeat(size - bytes);
}

/**
 * Bodies derived from a valid `base`: structural mutations (omitted, unknown and wrong-typed
 * fields, nested too), raw-text damage (truncation, garbage bytes, bad UTF-8, duplicate keys,
 * deep nesting), whole-body replacements, and sizes around the 64 KiB limit.
 */
export function bodyArb(base: unknown): fc.Arbitrary<FuzzBody> {
  const text = toJsonText(base);
  const structural = fc.array(mutationArb(base), { minLength: 1, maxLength: 2 }).map((ms) => {
    let value = base;
    for (const m of ms) value = m.apply(value);
    return { bytes: utf8(toJsonText(value)), label: ms.map((m) => m.label).join("; ") };
  });
  const damaged = fc.oneof(
    fc.nat({ max: Math.max(0, text.length - 1) }).map((n) => ({ bytes: utf8(text.slice(0, n)), label: `truncated at ${n}` })),
    fc.uint8Array({ maxLength: 64 }).map((b) => ({ bytes: b, label: `random bytes ${Array.from(b).join(",")}` })),
    fc.tuple(fc.constantFrom(...BAD_ENCODINGS), fc.nat({ max: text.length })).map(([bad, at]) => {
      const head = utf8(text.slice(0, at));
      const tail = utf8(text.slice(at));
      const bytes = new Uint8Array(head.length + bad.bytes.length + tail.length);
      bytes.set(head);
      bytes.set(bad.bytes, head.length);
      bytes.set(tail, head.length + bad.bytes.length);
      return { bytes, label: `${bad.label} spliced at ${at}` };
    }),
    fc.constantFrom(
      { bytes: undefined, label: "no body" },
      { bytes: utf8(""), label: "empty body" },
      { bytes: utf8("null"), label: "null" },
      { bytes: utf8("[]"), label: "[]" },
      { bytes: utf8('""'), label: '""' },
      { bytes: utf8("0"), label: "0" },
      { bytes: utf8("{}"), label: "{}" },
      { bytes: utf8("{"), label: "{" },
      { bytes: utf8("}"), label: "}" },
      { bytes: utf8("{}{}"), label: "two objects" },
      { bytes: utf8(`${text}\u0000`), label: "trailing NUL" },
      { bytes: utf8(`\ufeff${text}`), label: "leading BOM" },
      { bytes: utf8(`${text},`), label: "trailing comma" },
      { bytes: utf8(text.replace(/^\{/, "{,")), label: "leading comma" },
      { bytes: utf8(text.replace(/"/g, "'")), label: "single quotes" },
      { bytes: utf8(`{"points":1,"points":"x",${text.slice(1)}`), label: "duplicate keys" },
      { bytes: utf8(`${text.slice(0, -1)},"points":1,"points":2}`), label: "duplicate keys at the end" },
    ),
    fc.jsonValue({ maxDepth: 4 }).map((v) => ({ bytes: utf8(JSON.stringify(v)), label: `json ${show(v)}` })),
    fc.tuple(fc.constantFrom(10, 100, 1_000, 10_000, 21_000, 32_000), fc.constantFrom("[", '{"a":')).map(([depth, open]) => {
      const close = open === "[" ? "]" : "}";
      return { bytes: utf8(`${open.repeat(depth)}1${close.repeat(depth)}`), label: `nested ${depth} deep (${open})` };
    }),
  );
  const sized = fc.oneof(
    // Whitespace-padded valid JSON: exactly at the limit is accepted, one byte over is not.
    fc
      .constantFrom(MAX_BODY - 1, MAX_BODY, MAX_BODY + 1, MAX_BODY + 1_000, 4 * MAX_BODY)
      .map((n) => ({ bytes: utf8(padTo(text, n)), label: `padded to ${n} bytes` })),
    // A string field (or a new one) near the limit.
    fc
      .tuple(fc.constantFrom(...[[], ...propertyPaths(base)]), fc.constantFrom(MAX_BODY - 200, MAX_BODY + 10, 2 * MAX_BODY))
      .map(([p, n]) => {
        const path = p.length > 0 ? p : ["huge"];
        return { bytes: utf8(toJsonText(setAt(base, path, "x".repeat(n)))), label: `${path.join(".")} = ${n} chars` };
      }),
    // A huge array of numbers.
    fc.constantFrom(5_000, 16_000, 40_000).map((n) => ({
      bytes: utf8(toJsonText(setAt(base, ["points"], new RawJson(`[${"1,".repeat(n)}1]`)))),
      label: `points = array of ${n + 1}`,
    })),
  );
  return fc.oneof(
    { arbitrary: fc.constant({ bytes: utf8(text), label: "valid template" }), weight: 1 },
    { arbitrary: structural, weight: 8 },
    { arbitrary: damaged, weight: 4 },
    { arbitrary: sized, weight: 1 },
  );
}

// ---------------------------------------------------------------------------------------------
// Headers, query strings, path segments
// ---------------------------------------------------------------------------------------------

/** Content-Type values; an array of two appends the header twice. undefined: no header. */
export const contentTypeArb: fc.Arbitrary<string[] | undefined> = fc.oneof(
  { arbitrary: fc.constant<string[] | undefined>(["application/json"]), weight: 6 },
  {
    arbitrary: fc.constantFrom<string[] | undefined>(
      undefined,
      [""],
      ["text/plain"],
      ["application/json; charset=utf-8"],
      ["application/json; charset=utf-16"],
      ["application/json; charset=latin1"],
      ["APPLICATION/JSON"],
      ["application/jsonx"],
      ["application/merge-patch+json"],
      ["application/x-www-form-urlencoded"],
      ["multipart/form-data; boundary=x"],
      ["application/json", "application/json"],
      ["application/json", "text/plain"],
      ["application/json;;;"],
      ["application/json; charset="],
      ["*/*"],
      ["\u0001"],
      ["application/json\u007f"],
    ),
    weight: 3,
  },
  { arbitrary: fc.string({ maxLength: 30 }).map((s) => [asHeaderValue(s)]), weight: 1 },
);

/** Idempotency-Key values: valid, missing, empty, 255 and beyond, control and non-ASCII characters, duplicated. */
export function idempotencyKeyArb(): fc.Arbitrary<string[] | undefined> {
  const valid = fc.stringMatching(/^[A-Za-z0-9_-]{8,40}$/).map((s) => [`idk_${s}`]);
  return fc.oneof(
    { arbitrary: valid, weight: 6 },
    {
      arbitrary: fc.oneof(
        fc.constantFrom<string[] | undefined>(
          undefined,
          [""],
          [" "],
          ["k"],
          ["k".repeat(255)],
          ["k".repeat(256)],
          ["k".repeat(10_000)],
          ["a\u0001b"],
          ["a\u007fb"],
          ["a\tb"],
          ["é"],
          ["\u00ff\u00fe"],
          ["😀"],
          ["key-a", "key-b"],
          ["same", "same"],
        ),
        fc.string({ unit: "binary-ascii", minLength: 1, maxLength: 300 }).map((s) => [asHeaderValue(s)]),
      ),
      weight: 3,
    },
  );
}

/** Path segments: very long, percent-encoded junk, dot segments, unicode, ids of the wrong kind. */
export const junkSegment: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "x".repeat(5_000),
    "x".repeat(65),
    "x".repeat(129),
    "%00",
    "%ff%fe",
    "%C0%80",
    "%ED%A0%80",
    "%2F",
    "%2f..%2f",
    "%252e%252e",
    "%2e%2e",
    "..",
    ".",
    "%",
    "%Z",
    "%ZZ",
    "a%20b",
    "%E2%80%AE",
    "é",
    "😀",
    "mbr_x",
    "mbr_",
    "txn_",
    "txn_0123456789abcdefghjkmnpqrstv",
    "stl_x",
    "' OR '1'='1",
    "<x>",
    ";",
    "a;b=c",
    "~",
    "*",
    "null",
    "0",
    "-1",
  ),
  fc.string({ minLength: 1, maxLength: 40 }).map(pctEncode),
  fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/),
);

export function segmentArb(pool: readonly string[]): fc.Arbitrary<string> {
  return pool.length > 0
    ? fc.oneof({ arbitrary: fc.constantFrom(...pool).map(pctEncode), weight: 3 }, { arbitrary: junkSegment, weight: 2 })
    : junkSegment;
}

/** Garbage list cursors: not base64url, base64url of the wrong JSON, too long. */
export const junkCursor: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "",
    "!!",
    "%00",
    "null",
    "x".repeat(201),
    "x".repeat(5_000),
    ...[
      "{}",
      "[]",
      "null",
      "1",
      '"x"',
      '{"seq":"abc"}',
      '{"seq":1e308}',
      '{"seq":-1}',
      '{"seq":1.5}',
      '{"seq":null}',
      '{"seq":"1; DROP TABLE x"}',
      '{"id":"abc"}',
      '{"id":1e308}',
      '{"id":-5}',
      '{"id":"9007199254740993"}',
      '{"e":"x","c":1,"s":1}',
      '{"e":1,"c":1,"s":1e400}',
    ].map((json) => btoa(json).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_")),
  ),
  fc.string({ maxLength: 60 }).map(pctEncode),
  fc.uint8Array({ maxLength: 40 }).map((b) => btoa(String.fromCharCode(...b)).replace(/=+$/, "")),
);

const junkLimit = fc.oneof(
  fc.constantFrom(
    "0",
    "101",
    "100",
    "1",
    "abc",
    "-1",
    "1.5",
    "1e2",
    "",
    "%00",
    "0x10",
    " 5",
    "20 ",
    "9".repeat(400),
    "NaN",
    "Infinity",
  ),
  fc.integer().map(String),
);

/**
 * A query string ("" or "?…") for an endpoint: its parameters with valid or junk values, some
 * dropped, unknown and repeated parameters, and raw percent-encoding junk.
 */
export function queryArb(params: readonly QueryParam[], valid: Record<string, string>): fc.Arbitrary<string> {
  const valueFor = (p: QueryParam): fc.Arbitrary<string | undefined> => {
    const good = valid[p.name];
    const junk =
      p.name === "limit" ? junkLimit : p.name === "cursor" ? junkCursor : fc.oneof(weirdString.map(pctEncode), junkSegment);
    return fc.oneof(
      { arbitrary: fc.constant(good), weight: good === undefined ? 0 : 4 },
      { arbitrary: fc.constant(undefined), weight: 1 },
      { arbitrary: junk, weight: 3 },
    );
  };
  const known = fc.tuple(...params.map((p) => valueFor(p).map((v) => (v === undefined ? [] : [`${p.name}=${v}`]))));
  const extra = fc.array(
    fc.oneof(
      fc.constantFrom(
        "unknown=1",
        "limit=5",
        "limit=1&limit=2",
        "cursor=",
        "=",
        "&",
        "&&",
        "a",
        "%zz=1",
        "x=%",
        "x=%00",
        "LIMIT=5",
      ),
      fc
        .tuple(fc.string({ minLength: 1, maxLength: 10 }), fc.string({ maxLength: 10 }))
        .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`),
    ),
    { maxLength: 2 },
  );
  return fc.tuple(params.length > 0 ? known : fc.constant([] as string[][]), extra).map(([parts, more]) => {
    const all = [...parts.flat(), ...more];
    return all.length > 0 ? `?${all.join("&")}` : "";
  });
}

/** Paths no route serves. */
export const unknownPathArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "/v1",
    "/v1/",
    "/v2/earn",
    "/V1/EARN",
    "/v1/earn/",
    "/v1/earn/extra",
    "/v1//earn",
    "//v1/earn",
    "/v1/nope",
    "/v1/members",
    "/v1/members/",
    "/v1/burns/x/y/z",
    "/v1/transactions",
    "/admin",
    "/admin/v1",
    "/admin/v1/nope",
    "/admin/v1/partners/x/y",
    "/admin/v2/partners",
    "/openapi.json/x",
    "/.well-known/nope",
    "/__bench/noop",
    "/__bench/batch",
  ),
  fc
    .tuple(fc.constantFrom("/v1/", "/admin/v1/", "/"), junkSegment)
    .map(([a, b]) => a + b)
    // A dot segment ("/.", "/%2e/..") is normalised by the URL parser to "/", which is served (the console).
    .filter((p) => new URL(p, "http://exchange.test").pathname !== "/"),
);

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

export interface FuzzRequest {
  method: string;
  /** Path plus query, as put into the URL (the URL parser may still normalise it). */
  target: string;
  body?: FuzzBody;
  contentType?: string[] | undefined;
  idempotencyKey?: string[] | undefined;
  headers?: [string, string][];
}

/** A human-readable one-liner of a fuzzed request, for failure messages. */
export function describeRequest(r: FuzzRequest): string {
  const target = r.target.length > 200 ? `${r.target.slice(0, 197)}…(${r.target.length})` : r.target;
  const parts = [`${r.method} ${target}`];
  if (r.body) parts.push(`body: ${r.body.label} (${r.body.bytes?.length ?? "none"} bytes)`);
  if (r.contentType) parts.push(`content-type: ${JSON.stringify(r.contentType)}`);
  if (r.idempotencyKey) parts.push(`idempotency-key: ${show(r.idempotencyKey)}`);
  if (r.headers?.length) parts.push(`headers: ${show(r.headers)}`);
  return parts.join(" | ");
}

/**
 * Builds the Request; `sign` (when given) receives the request exactly as the server will see it
 * (normalised target, header values as joined by the Headers object) and returns headers to add.
 * Returns undefined when the fetch API itself refuses such a request (it could never be sent).
 */
export async function buildRequest(
  r: FuzzRequest,
  sign?: (seen: {
    method: string;
    target: string;
    body: Uint8Array;
    idempotencyKey: string | undefined;
  }) => Promise<[string, string][]>,
): Promise<Request | undefined> {
  let url: string;
  const headers = new Headers();
  try {
    url = new URL(BASE_URL + r.target).href;
    for (const v of r.contentType ?? []) headers.append("Content-Type", v);
    for (const v of r.idempotencyKey ?? []) headers.append("Idempotency-Key", v);
    for (const [k, v] of r.headers ?? []) headers.append(k, v);
  } catch {
    return undefined;
  }
  const hasBody = r.body?.bytes !== undefined && r.method !== "GET" && r.method !== "HEAD";
  const bytes = hasBody ? (r.body?.bytes ?? new Uint8Array()) : new Uint8Array();
  try {
    const probe = new Request(url, { method: r.method, headers, ...(hasBody ? { body: bytes } : {}) });
    if (sign) {
      for (const [k, v] of await sign({
        method: probe.method,
        target: requestTarget(probe.url),
        body: bytes,
        idempotencyKey: probe.headers.get("Idempotency-Key") ?? undefined,
      })) {
        headers.set(k, v);
      }
    }
    return new Request(url, { method: r.method, headers, ...(hasBody ? { body: bytes } : {}) });
  } catch {
    return undefined;
  }
}

/** A correct Coalition-Signature for the request as the server sees it. */
export function partnerSigner(credentials: PartnerCredentials, jti: string) {
  return async (seen: { method: string; target: string; body: Uint8Array; idempotencyKey: string | undefined }) => {
    const signature = await signRequest(credentials, { ...seen, jti });
    return [["Coalition-Signature", signature]] as [string, string][];
  };
}

// ---------------------------------------------------------------------------------------------
// Contract checks
// ---------------------------------------------------------------------------------------------

/** partner-api.md §1: the error type every status must carry. */
export function typesForStatus(status: number): string[] {
  if (status === 401) return ["authentication_error"];
  if (status === 403) return ["permission_error"];
  if (status === 422) return ["invalid_request", "risk_declined"];
  if (status === 429) return ["rate_limited"];
  if (status >= 500) return ["api_error"];
  return ["invalid_request"];
}

export interface Answer {
  status: number;
  text: string;
  headers: Headers;
  json: any;
}

export async function send(request: Request): Promise<Answer> {
  const response = await workerFetch(request);
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, text, headers: response.headers, json };
}

/**
 * Never a 5xx; every non-2xx answer in the contract's shape, with the type its status calls for,
 * and a code of the error table at the table's status (risk declines name their rule instead).
 */
export function expectContractAnswer(answer: Answer, method: string, context: string): void {
  const where = `${context}\n→ ${answer.status} ${answer.text.slice(0, 500)}`;
  expect(answer.status, `5xx: ${where}`).toBeLessThan(500);
  if (answer.status < 400) return;
  if (method === "HEAD") return; // a HEAD answer has no body to check
  expect(answer.headers.get("Content-Type") ?? "", `content type: ${where}`).toMatch(/^application\/json/);
  const error = answer.json?.error;
  expect(error, `error shape: ${where}`).toBeTypeOf("object");
  expect(
    typeof error.type === "string" && typeof error.code === "string" && typeof error.message === "string",
    `shape: ${where}`,
  ).toBe(true);
  expect(error.code.length, `empty code: ${where}`).toBeGreaterThan(0);
  expect(typesForStatus(answer.status), `type for status: ${where}`).toContain(error.type);
  if (error.param !== undefined) expect(typeof error.param, `param: ${where}`).toBe("string");
  if (error.type !== "risk_declined") {
    const known = (ERROR_CODES as Record<string, { status: number }>)[error.code];
    expect(known?.status, `code ${error.code} at the status of the error table: ${where}`).toBe(answer.status);
  }
}

/** fast-check parameters: bounded runs; the seed and path of a failure are in its message. */
export function fuzzParameters(numRuns: number): fc.Parameters<unknown> {
  return { numRuns, endOnFailure: false };
}

/**
 * Runs one property per item (every endpoint gets its own runs, so each is covered) and fails
 * once at the end with every failing item's report: its counterexample, seed and path (rerun one
 * with `fc.assert(property, { seed, path })`). A failure on one endpoint does not hide another's.
 */
export async function checkEach<T>(
  items: readonly T[],
  name: (item: T) => string,
  property: (item: T) => fc.IAsyncProperty<any>,
  numRuns: (item: T) => number,
): Promise<void> {
  const failures: string[] = [];
  for (const item of items) {
    const details = await fc.check(property(item), fuzzParameters(numRuns(item)));
    if (details.failed) {
      const report = fc.defaultReportMessage(details) ?? "failed";
      failures.push(`${name(item)}: seed ${details.seed}, path "${details.counterexamplePath}"\n${report.slice(0, 3_000)}`);
    }
  }
  expect(failures, failures.join("\n\n")).toEqual([]);
}

// ---------------------------------------------------------------------------------------------
// One endpoint's requests
// ---------------------------------------------------------------------------------------------

/** What the fuzzers know about the exchange under test, so mutations start from requests that work. */
export interface FuzzTargets {
  /**
   * Real values of path parameters by name (member_ref, id, …), the last one a value that names
   * nothing (it is left out of the requests that focus on something else); junk is mixed in.
   */
  pools: Record<string, readonly string[]>;
  /** Valid query parameter values by name. */
  query: Record<string, string>;
  /** Valid bodies by "METHOD /path/template" (several: each is a starting point for mutations). */
  templates: Record<string, unknown[]>;
  /** Valid values by property name, for bodies of endpoints without a template. */
  hints: Record<string, unknown>;
}

export function baseBodies(ep: Endpoint, doc: ApiDoc, targets: FuzzTargets): unknown[] {
  const templates = targets.templates[`${ep.method} ${ep.path}`];
  if (templates?.length) return templates;
  return [ep.body ? exampleFromSchema(ep.body.schema, doc, targets.hints) : {}];
}

/** The path with its parameters from the pools (real values, and junk unless `junk` is false). */
export function pathArb(
  template: string,
  pools: Record<string, readonly string[]>,
  opts: { junk?: boolean } = {},
): fc.Arbitrary<string> {
  const parts = template.split(/(\{[^}]+\})/).filter((p) => p !== "");
  const param = (name: string) => {
    const pool = pools[name] ?? [];
    return opts.junk === false && pool.length > 0 ? fc.constantFrom(...pool).map(pctEncode) : segmentArb(pool);
  };
  return fc
    .tuple(...parts.map((part) => (/^\{.+\}$/.test(part) ? param(part.slice(1, -1)) : fc.constant(part))))
    .map((ps) => ps.join(""));
}

/** Extra headers a client might send; none of them may change the outcome. */
const extraHeaders: fc.Arbitrary<[string, string][]> = fc.array(
  fc.constantFrom<[string, string]>(
    ["Accept", "text/html"],
    ["Accept", "application/xml"],
    ["Accept-Encoding", "gzip, br"],
    ["Origin", "https://evil.example"],
    ["X-Forwarded-For", "1.2.3.4, ::1"],
    ["X-HTTP-Method-Override", "DELETE"],
    ["Expect", "100-continue"],
    ["Range", "bytes=0-1"],
    ["If-None-Match", "*"],
    ["Idempotent-Replayed", "true"],
    ["Request-Id", "req_forged"],
    ["Cookie", "a=b"],
  ),
  { maxLength: 2 },
);

/** The part of a request a fuzzed request attacks; the other parts stay valid (except in chaos). */
export type Focus = "body" | "path" | "query" | "headers" | "chaos";

/**
 * Requests to one endpoint (with `method`, by default the endpoint's own). Each request has a
 * focus: its body, path, query or headers are fuzzed while the rest stays valid, so a fault gets
 * past the checks in front of it (a junk body behind a junk path only ever tests the path
 * check); one request in six is chaos, everything fuzzed at once.
 */
export function endpointRequestArb(
  ep: Endpoint,
  doc: ApiDoc,
  targets: FuzzTargets,
  method = ep.method,
): fc.Arbitrary<FuzzRequest> {
  const withBody = method !== "GET" && method !== "HEAD";
  const fuzzedBody = withBody
    ? ep.body || method === ep.method
      ? fc.constantFrom(...baseBodies(ep, doc, targets)).chain(bodyArb)
      : bodyArb({})
    : fc.constant(undefined);
  const validBody = withBody
    ? fc.constantFrom(...baseBodies(ep, doc, targets)).map((b) => ({ bytes: utf8(toJsonText(b)), label: "valid template" }))
    : fc.constant(undefined);
  const fuzzedKey =
    method === "POST"
      ? idempotencyKeyArb()
      : fc.oneof({ arbitrary: fc.constant(undefined), weight: 3 }, { arbitrary: idempotencyKeyArb(), weight: 1 });
  const validKey =
    method === "POST" ? fc.stringMatching(/^[A-Za-z0-9_-]{8,40}$/).map((k) => [`idk_${k}`]) : fc.constant(undefined);
  const validPools = Object.fromEntries(Object.entries(targets.pools).map(([k, v]) => [k, v.slice(0, -1)]));
  const parts = (focus: Focus) =>
    fc.record({
      focus: fc.constant(focus),
      path:
        focus === "path" || focus === "chaos" ? pathArb(ep.path, targets.pools) : pathArb(ep.path, validPools, { junk: false }),
      query:
        focus === "query" || focus === "chaos"
          ? queryArb(ep.query, targets.query)
          : fc.constant(validQuery(ep.query, targets.query)),
      body: focus === "body" || focus === "chaos" ? fuzzedBody : validBody,
      contentType:
        focus === "headers" || focus === "chaos"
          ? withBody
            ? contentTypeArb
            : fc.constant(undefined)
          : fc.constant<string[] | undefined>(withBody ? ["application/json"] : undefined),
      idempotencyKey: focus === "headers" || focus === "chaos" ? fuzzedKey : validKey,
      headers: focus === "headers" || focus === "chaos" ? extraHeaders : fc.constant([] as [string, string][]),
    });
  const focuses: { arbitrary: ReturnType<typeof parts>; weight: number }[] = [
    { arbitrary: parts("body"), weight: withBody ? 8 : 0 },
    { arbitrary: parts("path"), weight: ep.pathParams.length > 0 ? 2 : 0 },
    { arbitrary: parts("query"), weight: ep.query.length > 0 ? 4 : 1 },
    { arbitrary: parts("headers"), weight: 2 },
    { arbitrary: parts("chaos"), weight: 2 },
  ];
  return fc.oneof(...focuses.filter((f) => f.weight > 0)).map(({ path, query, body, contentType, idempotencyKey, headers }) =>
    printable({
      method,
      target: path + query,
      ...(body ? { body } : {}),
      ...(contentType ? { contentType } : {}),
      ...(idempotencyKey ? { idempotencyKey } : {}),
      headers,
    }),
  );
}

/** The query string of the known valid values of an endpoint's parameters. */
export function validQuery(params: readonly QueryParam[], valid: Record<string, string>): string {
  const parts = params.filter((p) => valid[p.name] !== undefined).map((p) => `${p.name}=${valid[p.name]}`);
  return parts.length > 0 ? `?${parts.join("&")}` : "";
}

/** Makes fast-check print a request as its one-line description (bodies can be 256 KiB). */
export function printable(r: FuzzRequest): FuzzRequest {
  return Object.assign(r, { [fc.toStringMethod]: () => describeRequest(r) });
}

// ---------------------------------------------------------------------------------------------
// A small exchange to fuzz against
// ---------------------------------------------------------------------------------------------

export interface FuzzWorld {
  partner: TestPartner;
  other: TestPartner;
  ref: string;
  memberId: string;
  otherRef: string;
  earnId: string;
  holdId: string;
  burnId: string;
  otherTxnId: string;
  spareKid: string;
  partnerTargets: FuzzTargets;
  operatorTargets: FuzzTargets;
}

/**
 * Two partners with rate cards, a member with points, a hold, a burn and an earn, and another
 * partner's member and transaction: path parameters name real objects (and objects the caller
 * may not see), so fuzzed requests get past "not found" into the code behind it.
 */
export async function fuzzWorld(): Promise<FuzzWorld> {
  const partner = await partnerWithCard();
  const other = await partnerWithCard();
  const { ref, memberId } = await enrol(partner);
  const { ref: otherRef } = await enrol(other);
  const earned = expectOk(await earn(partner, ref, 100_000));
  const held = expectOk(await burn(partner, ref, 100, { capture: false }));
  const burned = expectOk(await burn(partner, ref, 100));
  const otherEarn = expectOk(await earn(other, otherRef, 100));
  const spare = await addKey(partner.id, `${partner.id}-spare`);
  const { publicJwk } = await newKeyPair();
  const partnerTargets: FuzzTargets = {
    pools: {
      member_ref: [ref, otherRef, "never-enrolled"],
      id: [earned.transaction.id, held.transaction.id, burned.transaction.id, otherEarn.transaction.id, "txn_unknown"],
    },
    query: { unit: "CNY", value: "1.00", limit: "10" },
    templates: {
      "PUT /v1/members/{member_ref}": [{ context: CONTEXT }, { link_code: "ABCD-EFGH-JKLM", context: { ip: "2001:db8::1" } }],
      "POST /v1/members/{member_ref}/link-codes": [{}],
      "POST /v1/earn": [
        { member_ref: ref, points: 10, order_ref: "o-1", context: CONTEXT },
        { member_ref: ref, amount: { value: "58.00", unit: "CNY" }, occurred_at: new Date().toISOString(), context: CONTEXT },
      ],
      "POST /v1/burns": [
        { member_ref: ref, points: 1, capture: false, order_ref: "o-2", context: CONTEXT },
        { member_ref: ref, amount: { value: "0.05", unit: "CNY" }, context: CONTEXT },
      ],
      "POST /v1/burns/{id}/capture": [{ points: 1 }, {}],
      "POST /v1/burns/{id}/void": [{}],
      "POST /v1/transactions/{id}/reversals": [{ points: 1, reason: "fuzz" }, {}],
    },
    hints: { member_ref: ref, context: CONTEXT, ip: CONTEXT.ip, unit: "CNY", value: "1.00", points: 1, reason: "fuzz" },
  };
  const operatorTargets: FuzzTargets = {
    pools: {
      id: [partner.id, "no-such-partner"],
      kid: [spare.kid, "no-such-kid"],
      member_id: [memberId, "mbr_unknown"],
      transaction_id: [earned.transaction.id, "txn_unknown"],
      name: ["fuzz-seed", "no-such-seed"],
    },
    query: { limit: "10" },
    templates: {
      "POST /admin/v1/partners": [
        { id: "fuzz-new", name: "Fuzz", funding: { mode: "postpaid", credit_limit: { value: "100.00", unit: "CNY" } } },
        { id: "fuzz-pre", name: "Fuzz", funding: { mode: "prepaid", balance: { value: "5.00", unit: "CNY" } }, pending_days: 1 },
      ],
      "PATCH /admin/v1/partners/{id}": [
        { name: "Fuzz renamed" },
        { funding: { mode: "postpaid", credit_limit: { value: "9.00", unit: "CNY" } } },
      ],
      "POST /admin/v1/partners/{id}/keys": [{ kid: "fuzz-k2", public_jwk: publicJwk }],
      "POST /admin/v1/partners/{id}/payments": [{ amount: { value: "10.00", unit: "CNY" }, reference: "fuzz" }],
      "POST /admin/v1/partners/{id}/payouts": [{ amount: { value: "1.00", unit: "CNY" }, reference: "fuzz" }],
      "PUT /admin/v1/seeds/{name}": [{ detail: { by: "fuzz" } }, {}],
      "POST /admin/v1/partners/{id}/rate-cards": [DEFAULT_CARD],
      "POST /admin/v1/members/{member_id}/adjustments": [
        { points: 5, reason: "fuzz" },
        { points: -1, reason: "fuzz" },
      ],
      "PUT /admin/v1/risk-rules": [{ rules: [] }],
      "POST /admin/v1/reviews/{transaction_id}": [{ decision: "reject" }],
      "POST /admin/v1/settlements/close": [{}],
    },
    hints: { points: 5, reason: "fuzz", unit: "CNY", value: "1.00", decision: "reject" },
  };
  return {
    partner,
    other,
    ref,
    memberId,
    otherRef,
    earnId: earned.transaction.id,
    holdId: held.transaction.id,
    burnId: burned.transaction.id,
    otherTxnId: otherEarn.transaction.id,
    spareKid: spare.kid,
    partnerTargets,
    operatorTargets,
  };
}
