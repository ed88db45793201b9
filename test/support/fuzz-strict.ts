import fc from "fast-check";
import { expect } from "vitest";
import {
  type ApiDoc,
  baseBodies,
  type Endpoint,
  type FuzzRequest,
  type FuzzTargets,
  getAt,
  isPlainObject,
  type Path,
  pathArb,
  printable,
  propertyPaths,
  RawJson,
  setAt,
  toJsonText,
  validQuery,
} from "./fuzz";

/**
 * Bodies that break exactly one rule of strict JSON (issue 9 part 2, src/http/strict-json.ts)
 * and are otherwise one of an endpoint's valid templates: invalid UTF-8 inside a string, a BOM,
 * a member named twice (at any depth, in arrays of objects, spelled with escapes), a lone
 * surrogate or NUL escape, an integer a double cannot hold, a `__proto__` member, nesting past
 * the limit, a non-UTF-8 charset. Each comes with the error it must answer: `400 invalid_body`
 * with this message and `param`. Without the strict parser most of them would be accepted
 * (a BOM, invalid UTF-8 in an order_ref, a duplicate) or refused for another reason.
 */

export interface StrictExpectation {
  kind: string;
  message: RegExp;
  /** The error's param; undefined when the body as a whole is at fault. */
  param: string | undefined;
}

export interface StrictCase {
  bytes: Uint8Array;
  label: string;
  contentType: string[];
  expected: StrictExpectation;
}

const utf8 = (s: string) => new TextEncoder().encode(s);
const JSON_TYPE = ["application/json"];
const MARKER = "@@not-utf8@@";

/** Ill-formed UTF-8: bad bytes, overlong forms, CESU-8 surrogates, past U+10FFFF, truncated, Latin-1. */
const BAD_UTF8: [string, number[]][] = [
  ["0xff", [0xff]],
  ["0xfe", [0xfe]],
  ["overlong NUL", [0xc0, 0x80]],
  ["overlong DEL", [0xc1, 0xbf]],
  ["overlong 3-byte", [0xe0, 0x80, 0xaf]],
  ["CESU high surrogate", [0xed, 0xa0, 0x80]],
  ["CESU low surrogate", [0xed, 0xbf, 0xbf]],
  ["past U+10FFFF", [0xf4, 0x90, 0x80, 0x80]],
  ["5-byte lead", [0xf8, 0x88, 0x80, 0x80, 0x80]],
  ["lone continuation", [0x80]],
  ["truncated 3-byte", [0xe2, 0x82]],
  ["Latin-1 é", [0xe9]],
];

function paramOf(path: Path): string | undefined {
  return path.length > 0 ? path.join(".") : undefined;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function textCase(value: unknown, label: string, expected: StrictExpectation): StrictCase {
  return { bytes: utf8(toJsonText(value)), label, contentType: JSON_TYPE, expected };
}

/** Every UTF-16 unit of `name` as a \u escape, or only its first: the same name after unescaping. */
function spellings(name: string): string[] {
  const hex = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  const all = `"${name.split("").map(hex).join("")}"`;
  return name.length === 0
    ? ['""']
    : [JSON.stringify(name), all, `"${hex(name[0] ?? "")}${JSON.stringify(name.slice(1)).slice(1)}`];
}

/** A member of an object of `base` named a second time, with the same or another value. */
function duplicateArb(base: unknown, members: Path[]): fc.Arbitrary<StrictCase> {
  if (members.length === 0) {
    const message = /^the member "points" appears twice$/;
    return fc.constant(
      textCase(new RawJson('{"points":1,"points":1}'), "duplicate in {}", { kind: "duplicate", message, param: "points" }),
    );
  }
  return fc.tuple(fc.constantFrom(...members), fc.nat(), fc.boolean()).map(([path, n, same]) => {
    const name = String(path[path.length - 1]);
    const spelled = spellings(name)[n % spellings(name).length] ?? JSON.stringify(name);
    const value = getAt(base, path);
    const second = same ? value : typeof value === "number" ? 1_000_000 : typeof value === "string" ? `${value}-2` : value;
    const raw = new RawJson(`${toJsonText(value)},${spelled}:${toJsonText(second)}`);
    const param = path.join(".");
    return textCase(setAt(base, path, raw), `duplicate ${spelled} at ${param} (${same ? "same" : "other"} value)`, {
      kind: "duplicate",
      message: new RegExp(`^the member "${escapeRe(param)}" appears twice$`),
      param,
    });
  });
}

/** Bytes that are not UTF-8 inside a string value (or a new one at the top when there is none). */
function badUtf8Arb(base: unknown, strings: Path[]): fc.Arbitrary<StrictCase> {
  const targets = strings.length > 0 ? strings : [["order_ref"]];
  return fc.tuple(fc.constantFrom(...targets), fc.constantFrom(...BAD_UTF8)).map(([path, [label, raw]]) => {
    const old = getAt(base, path);
    const text = toJsonText(setAt(base, path, `${typeof old === "string" ? old : ""}${MARKER}`));
    const at = text.indexOf(MARKER);
    const head = utf8(text.slice(0, at));
    const bytes = new Uint8Array([...head, ...raw, ...utf8(text.slice(at + MARKER.length))]);
    const message = new RegExp(`^the body is not valid UTF-8 \\(byte offset ${head.length}\\)$`);
    return {
      bytes,
      label: `${label} in ${path.join(".")}`,
      contentType: JSON_TYPE,
      expected: { kind: "utf-8", message, param: undefined },
    };
  });
}

function loneSurrogateArb(base: unknown, strings: Path[]): fc.Arbitrary<StrictCase> {
  const targets = strings.length > 0 ? strings : [["order_ref"]];
  const escapes = fc.constantFrom("\\ud800", "\\udbff", "\\udc00", "\\udfff", "\\udfff\\ud800", "\\ud83dx", "\\ud800\\u0041");
  return fc.tuple(fc.constantFrom(...targets), escapes).map(([path, lone]) => {
    const param = paramOf(path);
    return textCase(setAt(base, path, new RawJson(`"x${lone}"`)), `lone surrogate ${lone} in ${param}`, {
      kind: "lone surrogate",
      message: new RegExp(`^${escapeRe(param ?? "body")}: the string contains the escape \\\\u[0-9a-f]{4} of a lone surrogate`),
      param,
    });
  });
}

function nulArb(base: unknown, strings: Path[]): fc.Arbitrary<StrictCase> {
  const targets = strings.length > 0 ? strings : [["order_ref"]];
  return fc.constantFrom(...targets).map((path) => {
    const old = getAt(base, path);
    const param = paramOf(path);
    return textCase(setAt(base, path, `${typeof old === "string" ? old : ""}\u0000`), `NUL in ${param}`, {
      kind: "NUL",
      message: new RegExp(`^${escapeRe(param ?? "body")}: the string contains the NUL character`),
      param,
    });
  });
}

/** An integer token that reads as another integer, in place of a number of the template. */
function lossyNumberArb(base: unknown, numbers: Path[]): fc.Arbitrary<StrictCase> | undefined {
  if (numbers.length === 0) return undefined;
  return fc.tuple(fc.constantFrom(...numbers), fc.nat()).map(([path, n]) => {
    const value = getAt(base, path) as number;
    // Each reads as an integer other than the one written (the last two as `value` itself).
    const tokens = [
      "9007199254740993",
      "12345678901234567891",
      `${value}.0000000000000000001`,
      `${value}000000000000000000001e-21`,
    ];
    const token = tokens[n % tokens.length] ?? "9007199254740993";
    const param = paramOf(path);
    return textCase(setAt(base, path, new RawJson(token)), `lossy ${token.slice(0, 30)} at ${param}`, {
      kind: "lossy number",
      message: new RegExp(`^${escapeRe(param ?? "body")}: the number .* cannot be represented exactly`),
      param,
    });
  });
}

/** A `__proto__` member in an object of the template (after one of its members, or alone). */
function protoArb(base: unknown, objects: Path[]): fc.Arbitrary<StrictCase> {
  return fc.tuple(fc.constantFrom(...objects), fc.boolean()).map(([path, escaped]) => {
    const node = getAt(base, path) as Record<string, unknown>;
    const name = escaped ? '"__pr\\u006fto__"' : '"__proto__"';
    const first = Object.keys(node)[0];
    const patched =
      first === undefined
        ? setAt(base, path, new RawJson(`{${name}:{}}`))
        : setAt(base, [...path, first], new RawJson(`${toJsonText(node[first])},${name}:{"points":5}`));
    const param = [...path, "__proto__"].join(".");
    return textCase(patched, `__proto__ in ${paramOf(path) ?? "the body"}`, {
      kind: "__proto__",
      message: new RegExp(`^the member "${escapeRe(param)}" is not allowed`),
      param,
    });
  });
}

function deepArb(base: unknown, paths: Path[]): fc.Arbitrary<StrictCase> {
  return fc.constantFrom(...(paths.length > 0 ? paths : [["deep"]])).map((path) => {
    const deep = new RawJson(`${"[".repeat(70)}${"]".repeat(70)}`);
    return textCase(setAt(base, path, deep), `70 arrays deep at ${path.join(".")}`, {
      kind: "depth",
      message: /nested deeper than 64 arrays and objects$/,
      // The array that is one too many sits inside the template's containers and 64 − that many of its own.
      param: [...path, ...Array(64 - path.length).fill(0)].join("."),
    });
  });
}

/** One strict-JSON violation of the valid body `base`. */
export function strictViolationArb(base: unknown): fc.Arbitrary<StrictCase> {
  const paths = propertyPaths(base);
  const members = paths.filter((p) => typeof p[p.length - 1] === "string");
  const objects: Path[] = [[], ...paths.filter((p) => isPlainObject(getAt(base, p)))];
  const strings = paths.filter((p) => typeof getAt(base, p) === "string");
  const numbers = paths.filter((p) => typeof getAt(base, p) === "number");
  const valid = toJsonText(base);
  const bom: StrictCase = {
    bytes: new Uint8Array([0xef, 0xbb, 0xbf, ...utf8(valid)]),
    label: "leading BOM",
    contentType: JSON_TYPE,
    expected: { kind: "BOM", message: /^the body starts with a byte order mark/, param: undefined },
  };
  const charset = fc.constantFrom("iso-8859-1", "latin1", "utf-16", "windows-1252").map(
    (cs): StrictCase => ({
      bytes: utf8(valid),
      label: `charset=${cs}`,
      contentType: [`application/json; charset=${cs}`],
      expected: { kind: "charset", message: new RegExp(`the Content-Type says charset=${cs}$`), param: undefined },
    }),
  );
  const options = [
    duplicateArb(base, members),
    badUtf8Arb(base, strings),
    fc.constant(bom),
    loneSurrogateArb(base, strings),
    nulArb(base, strings),
    lossyNumberArb(base, numbers),
    protoArb(base, objects),
    deepArb(base, paths),
    charset,
  ].filter((a): a is fc.Arbitrary<StrictCase> => a !== undefined);
  return fc.oneof(...options);
}

/**
 * A request to `ep` that is valid in every part (path, query, Idempotency-Key) but its body,
 * which breaks one strict-JSON rule: it must answer exactly `expected`.
 */
export function strictRequestArb(
  ep: Endpoint,
  doc: ApiDoc,
  targets: FuzzTargets,
): fc.Arbitrary<{ request: FuzzRequest; expected: StrictExpectation }> {
  const validPools = Object.fromEntries(Object.entries(targets.pools).map(([k, v]) => [k, v.slice(0, -1)]));
  const key = ep.method === "POST" ? fc.stringMatching(/^[A-Za-z0-9_-]{8,40}$/).map((k) => [`idk_${k}`]) : fc.constant(undefined);
  return fc
    .tuple(
      pathArb(ep.path, validPools, { junk: false }),
      fc.constantFrom(...baseBodies(ep, doc, targets)).chain(strictViolationArb),
      key,
    )
    .map(([path, body, idempotencyKey]) => ({
      request: printable({
        method: ep.method,
        target: path + validQuery(ep.query, targets.query),
        body: { bytes: body.bytes, label: `strict: ${body.label}` },
        contentType: body.contentType,
        ...(idempotencyKey ? { idempotencyKey } : {}),
      }),
      expected: body.expected,
    }));
}

/** The answer a strict-JSON violation must get: 400 invalid_body, its message and param. */
export function expectStrictRefusal(
  answer: { status: number; text: string; json: any },
  expected: StrictExpectation,
  context: string,
): void {
  const where = `${context}\n→ ${answer.status} ${answer.text.slice(0, 300)}`;
  expect(answer.status, where).toBe(400);
  expect(answer.json?.error?.code, where).toBe("invalid_body");
  expect(answer.json?.error?.message, where).toMatch(expected.message);
  expect(answer.json?.error?.param, where).toBe(expected.param);
}

/** Every kind of violation strictViolationArb draws (a run should meet them all). */
export const STRICT_KINDS = [
  "BOM",
  "NUL",
  "__proto__",
  "charset",
  "depth",
  "duplicate",
  "lone surrogate",
  "lossy number",
  "utf-8",
];
