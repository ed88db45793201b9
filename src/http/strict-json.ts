import { ApiError } from "./errors";
import { decodeUtf8, firstInvalidUtf8, utf8Length } from "./utf8";

/**
 * Request bodies are strict JSON (partner-api.md §1): what a handler sees is exactly what the
 * body's bytes say (the bytes the signature's `bh` and the idempotency hash cover), or the body
 * is refused with `400 invalid_body`; the server never guesses. TextDecoder and JSON.parse guess
 * in several places, each refused here:
 *  - bytes that are not UTF-8 (decoded to U+FFFD, so what is stored is not what was signed);
 *  - a leading byte order mark (TextDecoder drops it silently);
 *  - a member named twice, compared after unescaping (`{"points":1,"p\u006fints":9}`): JSON.parse
 *    keeps the last;
 *  - a `\uD800`-style escape of a lone surrogate: valid JSON text, but not a Unicode string, so
 *    it cannot be stored as UTF-8 (SQLite keeps broken bytes, responses show U+FFFD);
 *  - `\u0000`: SQLite's text functions stop at NUL (length('a' || char(0) || 'b') is 1), so SQL
 *    would see less than was sent;
 *  - a number that reads as an integer other than the one written (`12345678901234567891`,
 *    `1.0000000000000001`): a double cannot hold it, and the request would book another amount;
 *  - a member named `__proto__`: JavaScript objects give that name a meaning of its own (zod and
 *    spreads may drop it or treat it as a prototype), so the value seen could differ from the text;
 *  - nesting deeper than MAX_DEPTH (no body needs it; it bounds the parser's recursion).
 * Every number field of the API is an integer, so a fraction (`0.1`) is left for the schemas to
 * refuse in their own words.
 */

export const MAX_DEPTH = 64;

type Path = (string | number)[];

/** The strictly parsed value of a JSON body's raw bytes, or ApiError invalid_body. */
export function parseJsonBody(bytes: Uint8Array): unknown {
  const text = decodeUtf8(bytes);
  if (text === undefined) {
    throw new ApiError("invalid_body", `the body is not valid UTF-8 (byte offset ${firstInvalidUtf8(bytes)})`);
  }
  if (text.startsWith("\ufeff")) {
    throw new ApiError("invalid_body", "the body starts with a byte order mark (EF BB BF); send UTF-8 JSON without one");
  }
  return parseStrictJson(text);
}

/** The strictly parsed value of a JSON text, or ApiError invalid_body. */
export function parseStrictJson(text: string): unknown {
  return new StrictParser(text).document();
}

/** `path` as an error's `param` ("rules.0.id"), undefined at the top. */
function paramOf(path: Path): string | undefined {
  return path.length > 0 ? path.join(".") : undefined;
}

/** An error about the value at `path`, worded like the schema errors ("points: …"). */
function invalidAt(path: Path, what: string): ApiError {
  const param = paramOf(path);
  return new ApiError("invalid_body", `${param ?? "body"}: ${what}`, param);
}

const SPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);
const SIMPLE_ESCAPES = new Map([
  [0x22, '"'],
  [0x5c, "\\"],
  [0x2f, "/"],
  [0x62, "\b"],
  [0x66, "\f"],
  [0x6e, "\n"],
  [0x72, "\r"],
  [0x74, "\t"],
]);
const LITERALS: [string, unknown][] = [
  ["true", true],
  ["false", false],
  ["null", null],
];

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isHigh = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff;

/** A recursive-descent parser of RFC 8259 JSON with the refusals listed above. */
class StrictParser {
  private pos = 0;
  /** Where the value being parsed sits in the document, for `param`. */
  private readonly path: Path = [];

  constructor(private readonly text: string) {}

  document(): unknown {
    this.skipSpace();
    if (this.pos === this.text.length) throw new ApiError("invalid_body", "the body is empty: a JSON value is required");
    const value = this.value(0);
    this.skipSpace();
    if (this.pos < this.text.length) throw this.syntax("unexpected data after the JSON value");
    return value;
  }

  private value(depth: number): unknown {
    const c = this.text.charCodeAt(this.pos);
    if (c === 0x7b) return this.object(depth + 1);
    if (c === 0x5b) return this.array(depth + 1);
    if (c === 0x22) return this.string("value");
    if (c === 0x2d || isDigit(c)) return this.number();
    for (const [word, literal] of LITERALS) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return literal;
      }
    }
    throw this.syntax(`unexpected ${this.unexpected()}`);
  }

  private object(depth: number): Record<string, unknown> {
    this.enter(depth);
    const out: Record<string, unknown> = {};
    this.pos++;
    this.skipSpace();
    if (this.eat(0x7d)) return out;
    for (;;) {
      if (this.text.charCodeAt(this.pos) !== 0x22) throw this.syntax(`expected a member name, found ${this.unexpected()}`);
      const name = this.memberName(out);
      this.skipSpace();
      if (!this.eat(0x3a)) throw this.syntax(`expected ":", found ${this.unexpected()}`);
      this.skipSpace();
      this.path.push(name);
      out[name] = this.value(depth);
      this.path.pop();
      this.skipSpace();
      if (this.eat(0x7d)) return out;
      if (!this.eat(0x2c)) throw this.syntax(`expected "," or "}", found ${this.unexpected()}`);
      this.skipSpace();
    }
  }

  /** A member name, refused when `out` has it already or when it is `__proto__`. */
  private memberName(out: Record<string, unknown>): string {
    const name = this.string("name");
    const param = paramOf([...this.path, name]);
    if (name === "__proto__") {
      throw new ApiError("invalid_body", `the member "${param}" is not allowed: __proto__ is reserved in JavaScript`, param);
    }
    if (Object.hasOwn(out, name)) throw new ApiError("invalid_body", `the member "${param}" appears twice`, param);
    return name;
  }

  private array(depth: number): unknown[] {
    this.enter(depth);
    const out: unknown[] = [];
    this.pos++;
    this.skipSpace();
    if (this.eat(0x5d)) return out;
    for (;;) {
      this.path.push(out.length);
      out.push(this.value(depth));
      this.path.pop();
      this.skipSpace();
      if (this.eat(0x5d)) return out;
      if (!this.eat(0x2c)) throw this.syntax(`expected "," or "]", found ${this.unexpected()}`);
      this.skipSpace();
    }
  }

  private enter(depth: number): void {
    if (depth > MAX_DEPTH) throw invalidAt(this.path, `nested deeper than ${MAX_DEPTH} arrays and objects`);
  }

  /** A string from its opening quote; `kind` words the errors (a member name has no path of its own). */
  private string(kind: "name" | "value"): string {
    this.pos++;
    let out = "";
    let chunk = this.pos;
    for (;;) {
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x22) {
        out += this.text.slice(chunk, this.pos++);
        return out;
      }
      if (c === 0x5c) {
        out += this.text.slice(chunk, this.pos) + this.escape(kind);
        chunk = this.pos;
      } else if (Number.isNaN(c)) {
        throw this.syntax("unterminated string");
      } else if (c < 0x20) {
        throw this.syntax(`control character U+${hex4(c)} in a string (escape it)`);
      } else if (isHigh(c) && isLow(this.text.charCodeAt(this.pos + 1))) {
        this.pos += 2;
      } else if (isHigh(c) || isLow(c)) {
        // Only a text that did not come from UTF-8 bytes can hold one.
        throw this.stringError(kind, `a lone surrogate U+${hex4(c)}, which is not a Unicode character`);
      } else {
        this.pos++;
      }
    }
  }

  /** The character(s) of the escape at `pos` (a backslash), refusing NUL and lone surrogates. */
  private escape(kind: "name" | "value"): string {
    const simple = SIMPLE_ESCAPES.get(this.text.charCodeAt(this.pos + 1));
    if (simple !== undefined) {
      this.pos += 2;
      return simple;
    }
    if (this.text.charCodeAt(this.pos + 1) !== 0x75) throw this.syntax("invalid escape in a string");
    const unit = this.hexAt(this.pos + 2);
    this.pos += 6;
    if (unit === 0) throw this.stringError(kind, "the NUL character \\u0000, which no text field may hold");
    if (isLow(unit)) throw this.loneSurrogate(kind, unit);
    if (!isHigh(unit)) return String.fromCharCode(unit);
    const low = this.text.startsWith("\\u", this.pos) ? this.hexAt(this.pos + 2) : -1;
    if (!isLow(low)) throw this.loneSurrogate(kind, unit);
    this.pos += 6;
    return String.fromCharCode(unit, low);
  }

  private hexAt(at: number): number {
    const digits = this.text.slice(at, at + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(digits)) {
      this.pos = at;
      throw this.syntax("\\u must be followed by 4 hex digits");
    }
    return Number.parseInt(digits, 16);
  }

  private loneSurrogate(kind: "name" | "value", unit: number): ApiError {
    return this.stringError(
      kind,
      `the escape \\u${hex4(unit).toLowerCase()} of a lone surrogate, which is not a Unicode character`,
    );
  }

  private stringError(kind: "name" | "value", what: string): ApiError {
    return invalidAt(this.path, kind === "name" ? `a member name contains ${what}` : `the string contains ${what}`);
  }

  private number(): number {
    const start = this.pos;
    this.eat(0x2d);
    if (!this.eat(0x30)) {
      if (!isDigit(this.text.charCodeAt(this.pos))) throw this.syntax(`expected a digit, found ${this.unexpected()}`);
      this.digits();
    }
    if (this.eat(0x2e)) this.requiredDigits("after the decimal point");
    const e = this.text.charCodeAt(this.pos);
    if (e === 0x65 || e === 0x45) {
      this.pos++;
      if (!this.eat(0x2b)) this.eat(0x2d);
      this.requiredDigits("in the exponent");
    }
    const token = this.text.slice(start, this.pos);
    const value = Number(token);
    if (!Number.isFinite(value)) throw invalidAt(this.path, `the number ${shortToken(token)} is out of range`);
    if (Number.isInteger(value) && !denotesExactly(token, value)) {
      throw invalidAt(this.path, `the number ${shortToken(token)} cannot be represented exactly (it would read as ${value})`);
    }
    return value;
  }

  private requiredDigits(where: string): void {
    if (!isDigit(this.text.charCodeAt(this.pos))) throw this.syntax(`expected a digit ${where}, found ${this.unexpected()}`);
    this.digits();
  }

  private digits(): void {
    while (isDigit(this.text.charCodeAt(this.pos))) this.pos++;
  }

  private skipSpace(): void {
    while (SPACE.has(this.text.charCodeAt(this.pos))) this.pos++;
  }

  private eat(c: number): boolean {
    if (this.text.charCodeAt(this.pos) !== c) return false;
    this.pos++;
    return true;
  }

  private unexpected(): string {
    const c = this.text.codePointAt(this.pos);
    return c === undefined ? "the end of the body" : JSON.stringify(String.fromCodePoint(c));
  }

  /** A syntax error at `pos`, located by byte offset (what a partner's hex dump shows). */
  private syntax(what: string): ApiError {
    const offset = utf8Length(this.text.slice(0, this.pos));
    return new ApiError("invalid_body", `the body is not valid JSON: ${what} at byte offset ${offset}`);
  }
}

function hex4(c: number): string {
  return c.toString(16).toUpperCase().padStart(4, "0");
}

function shortToken(token: string): string {
  return token.length <= 40 ? token : `${token.slice(0, 20)}…(${token.length} characters)`;
}

/**
 * Whether a JSON number token denotes exactly `value`, an integer-valued double it parsed to:
 * false when rounding changed it (more than 2^53, or a fraction too small for a double to keep).
 */
export function denotesExactly(token: string, value: number): boolean {
  const m = /^-?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(token);
  if (!m) return false;
  const fraction = m[2] ?? "";
  const digits = `${m[1]}${fraction}`.replace(/^0+/, "");
  if (digits === "") return true; // a zero, which ±0 holds exactly
  const significant = digits.replace(/0+$/, "");
  const exponent = Number(m[3] ?? "0") - fraction.length + (digits.length - significant.length);
  // A fraction left over, or more digits than any finite double has: not that integer.
  if (exponent < 0 || significant.length + exponent > 310) return false;
  return BigInt(significant) * 10n ** BigInt(exponent) === BigInt(Math.abs(value));
}
