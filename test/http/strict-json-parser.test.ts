import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/http/errors";
import { requireUtf8Charset } from "../../src/http/json-body";
import { denotesExactly, MAX_DEPTH, parseJsonBody, parseStrictJson } from "../../src/http/strict-json";
import { decodeUtf8, firstInvalidUtf8 } from "../../src/http/utf8";

/**
 * The strict JSON parser of request bodies (src/http/strict-json.ts, issue 9 part 2), as pure
 * functions. It must agree with JSON.parse on every JSON text that means one thing, and refuse,
 * as `invalid_body` with a message that says what is wrong, every text whose bytes and parsed
 * value could differ. Each `it` below fails if its refusal is removed from the parser.
 */

const utf8 = (s: string) => new TextEncoder().encode(s);

/** The ApiError a parse throws (fails the test when it parses). */
function refusal(parse: () => unknown): ApiError {
  try {
    parse();
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error("parsed, expected a refusal");
}

function expectRefused(text: string, message: string | RegExp, param?: string): void {
  const error = refusal(() => parseStrictJson(text));
  expect(error.code, text).toBe("invalid_body");
  expect(error.status).toBe(400);
  expect(error.message, text).toMatch(message);
  expect(error.param, text).toBe(param);
}

/** A JSON value that means one thing: no NUL, no lone surrogate, no __proto__, no lossy integer. */
function unambiguous(v: unknown): boolean {
  if (typeof v === "string") return !v.includes("\u0000") && !/[\ud800-\udfff]/u.test(v);
  if (typeof v === "number") return !Number.isInteger(v) || Number.isSafeInteger(v);
  if (Array.isArray(v)) return v.every(unambiguous);
  if (v !== null && typeof v === "object") {
    return Object.entries(v).every(([k, x]) => k !== "__proto__" && unambiguous(k) && unambiguous(x));
  }
  return true;
}

const jsonValue = fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.jsonValue({ maxDepth: 3, stringUnit: "grapheme" }));

describe("strict JSON: agrees with JSON.parse where the text means one thing", () => {
  it("parses JSON.stringify of any unambiguous value to what JSON.parse gives", () => {
    fc.assert(
      fc.property(jsonValue.filter(unambiguous), fc.boolean(), (value, pretty) => {
        const text = pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value);
        expect(parseStrictJson(text)).toStrictEqual(JSON.parse(text));
      }),
      { numRuns: 500 },
    );
  });

  it("never accepts what JSON.parse refuses, and never differs from it when it accepts", () => {
    const alphabet = fc.constantFrom(...'{}[]:,"\\/0123456789.eE+-tfnrulasbu \t\n\r\u0000\u0001\ud800\ufeffé😀'.split(""));
    const junk = fc.oneof(
      fc.string({ unit: alphabet, maxLength: 30 }),
      fc.string({ maxLength: 20 }),
      jsonValue.map((v) => JSON.stringify(v)),
      // Valid JSON with one character dropped, doubled or replaced.
      fc
        .tuple(
          jsonValue.map((v) => JSON.stringify(v)),
          fc.nat(),
          fc.constantFrom("", "x", ",", '"', "\\", "}", "]", "-", "0"),
        )
        .map(([t, i, c]) => t.slice(0, i % (t.length + 1)) + c + t.slice((i % (t.length + 1)) + 1)),
    );
    fc.assert(
      fc.property(junk, (text) => {
        let expected: unknown;
        let jsonParseOk = true;
        try {
          expected = JSON.parse(text);
        } catch {
          jsonParseOk = false;
        }
        let strict: unknown;
        try {
          strict = parseStrictJson(text);
        } catch (e) {
          expect(e, text).toBeInstanceOf(ApiError);
          expect((e as ApiError).code).toBe("invalid_body");
          return;
        }
        expect(jsonParseOk, `accepted what JSON.parse refuses: ${JSON.stringify(text)}`).toBe(true);
        expect(strict).toStrictEqual(expected);
      }),
      { numRuns: 3_000 },
    );
  });

  it("keeps members JSON.parse keeps: constructor, toString, empty and escaped names", () => {
    const parsed = parseStrictJson('{"constructor":1,"toString":2,"":3,"a\\"b":4,"\\u00e9":5,"hasOwnProperty":6}') as Record<
      string,
      number
    >;
    expect(parsed).toStrictEqual(JSON.parse('{"constructor":1,"toString":2,"":3,"a\\"b":4,"\\u00e9":5,"hasOwnProperty":6}'));
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
  });

  it("accepts surrogate pairs, escaped or not, and the BOM character inside a string", () => {
    expect(parseStrictJson('"\\ud83d\\ude00 😀 \\uFEFF"')).toBe("😀 😀 \ufeff");
  });

  it("accepts integers written exactly however they are spelled", () => {
    for (const [token, value] of [
      ["9007199254740992", 2 ** 53],
      ["18446744073709551616", 2 ** 64],
      ["1e3", 1000],
      ["1.0", 1],
      ["100e-2", 1],
      ["1000000000000", 1e12],
      ["-0", -0],
      ["0e99999", 0],
      ["-12.5e1", -125],
    ] as const) {
      expect(parseStrictJson(token), token).toBe(value);
    }
  });
});

describe("strict JSON: a member named twice is refused", () => {
  it("at the top, with the path of the member (the issue's reproduction)", () => {
    expectRefused('{"points":1,"points":1000000}', 'the member "points" appears twice', "points");
  });

  it("when both values are the same: the server does not compare values to guess", () => {
    expectRefused('{"points":1,"points":1}', /appears twice/, "points");
  });

  it("spelled differently but equal after unescaping", () => {
    expectRefused('{"points":1,"p\\u006fints":2}', 'the member "points" appears twice', "points");
    expectRefused('{"a/b":1,"a\\/b":2}', /appears twice/, "a/b");
    expectRefused('{"\\u00e9":1,"é":2}', /appears twice/, "é");
  });

  it("at any depth, in arrays of objects too (risk rules)", () => {
    expectRefused('{"context":{"ip":"1.2.3.4","ip":"5.6.7.8"}}', 'the member "context.ip" appears twice', "context.ip");
    expectRefused(
      '{"rules":[{"id":"a"},{"id":"b","action":"deny","id":"c"}]}',
      'the member "rules.1.id" appears twice',
      "rules.1.id",
    );
  });

  it("any object text with a duplicated name, at any depth, is refused", () => {
    const name = fc.oneof(fc.constantFrom("points", "id", "", "a b"), fc.string({ maxLength: 6 }));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(name, jsonValue.filter(unambiguous)), { maxLength: 4 }),
        name.filter((n) => unambiguous(n) && n !== "__proto__"),
        fc.tuple(jsonValue.filter(unambiguous), jsonValue.filter(unambiguous)),
        fc.nat({ max: 3 }),
        fc.boolean(),
        (others, dup, [first, second], nesting, escapeIt) => {
          // Every UTF-16 unit as a \u escape: the name JSON.parse reads is the same.
          const escaped = dup
            .split("")
            .map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
            .join("");
          const spelled = escapeIt ? `"${escaped}"` : JSON.stringify(dup);
          const distinct = new Map(others.filter(([k]) => k !== dup && k !== "__proto__" && unambiguous(k)));
          const members = [...distinct].map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
          const object = `{${[`${JSON.stringify(dup)}:${JSON.stringify(first)}`, ...members, `${spelled}:${JSON.stringify(second)}`].join(",")}}`;
          let text = object;
          const path: string[] = [];
          for (let i = 0; i < nesting; i++) {
            text = i % 2 === 0 ? `[${text}]` : `{"n":${text}}`;
            path.unshift(i % 2 === 0 ? "0" : "n");
          }
          const error = refusal(() => parseStrictJson(text));
          expect(error.message).toMatch(/appears twice/);
          expect(error.param ?? "").toBe([...path, dup].join("."));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("strict JSON: strings are Unicode text", () => {
  it("refuses the escape of a lone surrogate, with the string's path", () => {
    for (const s of ["\\ud800", "a\\udbffb", "\\udc00", "\\udfff\\ud800", "\\ud800\\u0041", "\\ud800\\ud800", "x\\ud83d"]) {
      expectRefused(
        `{"order_ref":"${s}"}`,
        /^order_ref: the string contains the escape \\u[0-9a-f]{4} of a lone surrogate/,
        "order_ref",
      );
    }
    expectRefused('{"rules":[{"block":["\\ud800"]}]}', /lone surrogate/, "rules.0.block.0");
  });

  it("refuses a lone surrogate in a member name, and a raw one in a JS string", () => {
    expectRefused('{"context":{"\\udc00":1}}', /^context: a member name contains the escape \\udc00/, "context");
    expectRefused('{"a":"x\ud800"}', /lone surrogate U\+D800/, "a");
  });

  it("refuses NUL, escaped (raw control characters are not JSON at all)", () => {
    expectRefused('{"order_ref":"a\\u0000b"}', "order_ref: the string contains the NUL character \\u0000", "order_ref");
    expectRefused('{"a\\u0000":1}', /a member name contains the NUL character/);
    expectRefused('{"a":"x\u0000"}', /control character U\+0000 in a string/);
    expectRefused('{"a":"x\ny"}', /control character U\+000A in a string/);
  });
});

describe("strict JSON: numbers mean the integer written", () => {
  it("refuses integers a double cannot hold, with the path", () => {
    for (const token of [
      "12345678901234567891",
      "9007199254740993",
      "-9007199254740993",
      "1.0000000000000001",
      "1e-400",
      "1e300",
    ]) {
      expectRefused(
        `{"points":${token}}`,
        new RegExp(`^points: the number ${token.replace(/[.+-]/g, "\\$&")} cannot be represented exactly`),
        "points",
      );
    }
  });

  it("refuses numbers out of a double's range", () => {
    expectRefused('{"points":1e309}', "points: the number 1e309 is out of range", "points");
    expectRefused(`[-${"9".repeat(400)}]`, /^0: the number -9{19}…\(401 characters\) is out of range/, "0");
  });

  it("accepts an integer token exactly when a double holds it", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 25n), max: 10n ** 25n }), (n) => {
        const exact = BigInt(Number(n)) === n;
        if (exact) expect(parseStrictJson(n.toString())).toBe(Number(n));
        else expectRefused(n.toString(), /cannot be represented exactly/);
      }),
      { numRuns: 500 },
    );
  });

  it("denotesExactly: decimal spellings of integer-valued doubles", () => {
    expect(denotesExactly("1000000000000.000000000000", 1e12)).toBe(true);
    expect(denotesExactly("0.1e1", 1)).toBe(true);
    expect(denotesExactly("0.00", 0)).toBe(true);
    expect(denotesExactly("10.5e-1", 1)).toBe(false);
    expect(denotesExactly("1e-99999999999999999999", 0)).toBe(false);
    expect(denotesExactly("1e99999999999999999999", 1)).toBe(false);
  });
});

describe("strict JSON: other refusals", () => {
  it("refuses a member named __proto__, however it is spelled", () => {
    expectRefused(
      '{"__proto__":{"points":5}}',
      'the member "__proto__" is not allowed: __proto__ is reserved in JavaScript',
      "__proto__",
    );
    expectRefused('{"public_jwk":{"kty":"OKP","__pr\\u006fto__":{}}}', /not allowed/, "public_jwk.__proto__");
  });

  it(`refuses nesting deeper than ${MAX_DEPTH}, and a very deep body without overflowing the stack`, () => {
    const nest = (n: number) => `${"[".repeat(n)}1${"]".repeat(n)}`;
    expect(parseStrictJson(nest(MAX_DEPTH))).toBeDefined();
    expectRefused(
      nest(MAX_DEPTH + 1),
      `${"0.".repeat(MAX_DEPTH).slice(0, -1)}: nested deeper than 64 arrays and objects`,
      "0.".repeat(MAX_DEPTH).slice(0, -1),
    );
    const deep = refusal(() => parseStrictJson(`${'{"a":'.repeat(30_000)}1${"}".repeat(30_000)}`));
    expect(deep.message).toMatch(/^(a\.){63}a: nested deeper than 64 arrays and objects$/);
  });

  it("says where a syntax error is, as a byte offset", () => {
    expectRefused('{"a":1,}', 'the body is not valid JSON: expected a member name, found "}" at byte offset 7');
    expectRefused('{"é":tru}', 'the body is not valid JSON: unexpected "t" at byte offset 6');
    expectRefused('{"a":1} {"a":2}', "the body is not valid JSON: unexpected data after the JSON value at byte offset 8");
    expectRefused('"abc', "the body is not valid JSON: unterminated string at byte offset 4");
    expectRefused("01", "the body is not valid JSON: unexpected data after the JSON value at byte offset 1");
    expectRefused(" \n", "the body is empty: a JSON value is required");
  });
});

describe("strict JSON bodies: bytes", () => {
  it("refuses bytes that are not UTF-8, naming the first bad byte", () => {
    const cases: [number[], number][] = [
      [[0x22, 0xff, 0x22], 1],
      [[0x22, 0xc0, 0x80, 0x22], 1], // overlong NUL
      [[0x22, 0xe0, 0x80, 0xaf, 0x22], 1], // overlong "/"
      [[0x22, 0xed, 0xa0, 0x80, 0x22], 1], // a UTF-16 surrogate in CESU-8
      [[0x22, 0xf4, 0x90, 0x80, 0x80, 0x22], 1], // past U+10FFFF
      [[0x22, 0x61, 0xe2, 0x82, 0x22], 2], // truncated sequence
      [[0x22, 0x80, 0x22], 1], // a lone continuation byte
      [[0x22, 0xc3, 0xa9, 0xc3], 3], // truncated at the end
    ];
    for (const [bytes, offset] of cases) {
      const error = refusal(() => parseJsonBody(new Uint8Array(bytes)));
      expect(error.code).toBe("invalid_body");
      expect(error.message).toBe(`the body is not valid UTF-8 (byte offset ${offset})`);
    }
  });

  it("refuses a leading byte order mark (TextDecoder would drop it silently)", () => {
    const error = refusal(() => parseJsonBody(new Uint8Array([0xef, 0xbb, 0xbf, ...utf8('{"points":1}')])));
    expect(error.message).toBe("the body starts with a byte order mark (EF BB BF); send UTF-8 JSON without one");
    expect(decodeUtf8(new Uint8Array([0xef, 0xbb, 0xbf, 0x31]))).toBe("\ufeff1");
  });

  it("firstInvalidUtf8 agrees with the fatal TextDecoder on any bytes", () => {
    const sequences = fc.oneof(
      fc.uint8Array({ maxLength: 12 }),
      fc.string({ unit: "grapheme", maxLength: 8 }).map(utf8),
      fc
        .constantFrom([0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0xf0, 0x9f, 0x98])
        .map((b) => new Uint8Array(b)),
    );
    fc.assert(
      fc.property(fc.array(sequences, { maxLength: 5 }), (parts) => {
        const bytes = new Uint8Array(parts.flatMap((p) => [...p]));
        const decoded = decodeUtf8(bytes);
        const bad = firstInvalidUtf8(bytes);
        expect(bad === -1, Array.from(bytes).join(",")).toBe(decoded !== undefined);
        // Everything before the bad byte decodes; the bad byte starts no sequence.
        if (bad > 0) expect(decodeUtf8(bytes.slice(0, bad))).toBeDefined();
      }),
      { numRuns: 2_000 },
    );
  });

  it("parses valid UTF-8 JSON bytes to what JSON.parse gives", () => {
    fc.assert(
      fc.property(jsonValue.filter(unambiguous), (value) => {
        const text = JSON.stringify(value);
        expect(parseJsonBody(utf8(text))).toStrictEqual(JSON.parse(text));
      }),
    );
  });
});

describe("strict JSON bodies: the Content-Type's charset", () => {
  it("accepts none, utf-8 and utf8 in any case", () => {
    for (const ct of [
      undefined,
      "application/json",
      "application/json; charset=utf-8",
      "application/json;charset=UTF8",
      'application/json; charset="UTF-8"',
    ]) {
      expect(() => requireUtf8Charset(ct), ct).not.toThrow();
    }
  });

  it("refuses any other charset: the body would be read as something it is not", () => {
    for (const ct of [
      "application/json; charset=latin1",
      "application/json; charset=utf-16",
      "application/json; charset=",
      'application/json; charset="iso-8859-1"',
    ]) {
      const error = refusal(() => requireUtf8Charset(ct));
      expect(error.code, ct).toBe("invalid_body");
      expect(error.message, ct).toMatch(/^the body must be UTF-8 JSON, and the Content-Type says charset=/);
    }
  });
});
