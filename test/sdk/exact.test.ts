import canonicalizeReference from "canonicalize";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalize } from "../../packages/partner-sdk/src/canonical";
import * as sdk from "../../packages/partner-sdk/src/decimal";
import * as exchange from "../../src/rates/decimal";

/**
 * The SDK carries its own JCS and exact decimals (it may depend on jose only); they must agree
 * with what the exchange digests and rounds with, or a genuine statement would fail to verify.
 */

describe("partner SDK: its own JCS and decimals agree with the exchange's", () => {
  it("canonical JSON equals the canonicalize package (RFC 8785) on any JSON value", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(canonicalize(value)).toBe(canonicalizeReference(value));
      }),
      { numRuns: 500 },
    );
    // UTF-16 code unit order, not code point order (RFC 8785 §3.2.3).
    expect(canonicalize({ "\u{1F600}": 1, "\uFB33": 2, a: [1e21, 0.1, -0] })).toBe(
      canonicalizeReference({ "\u{1F600}": 1, "\uFB33": 2, a: [1e21, 0.1, -0] }),
    );
  });

  it("parse, add, multiply, round half-even and format as src/rates/decimal does", () => {
    const text = fc
      .tuple(fc.boolean(), fc.bigInt({ min: 0n, max: 10n ** 20n }), fc.integer({ min: 0, max: 12 }))
      .map(([negative, units, scale]) => exchange.formatDecimal(exchange.decimal(negative ? -units : units, scale)));
    fc.assert(
      fc.property(text, text, fc.integer({ min: 0, max: 4 }), (a, b, scale) => {
        const ours = sdk.roundHalfEven(sdk.add(sdk.mul(sdk.parseDecimal(a), sdk.parseDecimal(b)), sdk.parseDecimal(a)), scale);
        const opts = { allowNegative: true, maxScale: 18 };
        const x = exchange.parseDecimal(a, opts);
        const theirs = exchange.roundHalfEven(exchange.add(exchange.mul(x, exchange.parseDecimal(b, opts)), x), scale);
        expect(sdk.formatDecimal(ours, scale)).toBe(exchange.formatDecimal(theirs, scale));
        expect(sdk.formatDecimal(sdk.sub(ours, sdk.parseDecimal(a)))).toBe(exchange.formatDecimal(exchange.sub(theirs, x)));
      }),
      { numRuns: 500 },
    );
  });
});
