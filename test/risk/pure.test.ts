import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applicableRules, counterKey, countersOf, type RiskRequest } from "../../src/risk/evaluate";
import { cidrContains, formatIp, type Ip, ipSubjectKey, normalizedIp, normalizeIp, parseCidr, parseIp } from "../../src/risk/ip";
import { compileRuleSet, type RiskRule, RiskRuleSetSchema, ruleProblems, ruleSetProblems } from "../../src/risk/rules";
import { declinedBy } from "../../src/risk/sql";
import { BUCKETS_PER_WINDOW, bucketExpiresAt, bucketOf, maxOvercountMs, windowBuckets, windowSpec } from "../../src/risk/window";

/** The pure parts of src/risk: IPs and CIDRs, window math, rule validation, which rules apply. */

const RUNS = { numRuns: 300 };
const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const v4 = bytes(4).map((b): Ip => ({ version: 4, bytes: b }));
const v6 = bytes(16).map((b): Ip => ({ version: 6, bytes: b }));

function toBigInt(b: Uint8Array): bigint {
  return b.reduce((n, x) => (n << 8n) | BigInt(x), 0n);
}

/** Full, uncompressed IPv6 text with leading zeros: a second spelling of the same address. */
function fullV6(b: Uint8Array): string {
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push((((b[i] ?? 0) << 8) | (b[i + 1] ?? 0)).toString(16).padStart(4, "0"));
  return words.join(":");
}

describe("IP parsing and normalisation", () => {
  it("parses the text forms context.ip accepts, and refuses the others", () => {
    expect(parseIp("203.0.113.7")).toEqual({ version: 4, bytes: new Uint8Array([203, 0, 113, 7]) });
    expect(formatIp(parseIp("2001:DB8:0:0:0:0:0:1")!)).toBe("2001:db8::1");
    expect(formatIp(parseIp("::")!)).toBe("::");
    expect(formatIp(parseIp("1:0:0:2:0:0:0:3")!)).toBe("1:0:0:2::3");
    expect(formatIp(parseIp("1:0:2:3:4:5:6:7")!)).toBe("1:0:2:3:4:5:6:7");
    expect(formatIp(parseIp("64:ff9b::192.0.2.33")!)).toBe("64:ff9b::c000:221");
    for (const bad of [
      "",
      "1.2.3",
      "1.2.3.4.5",
      "01.2.3.4",
      "256.1.1.1",
      "1:2:3:4:5:6:7",
      "1::2::3",
      ":1::",
      "1:::2",
      "1.2.3.4::",
      "fe80::1%eth0",
      "[::1]",
      "12345::",
      "1:2:3:4:5:6:7:8:9",
      "::1.2.3.4:5",
      "1::2:3:4:5:6:7:8",
    ]) {
      expect(parseIp(bad), bad).toBeUndefined();
    }
  });

  it("accepts every IPv4 dotted quad and IPv6 text form, and refuses IPv4's extended forms", () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (s) => {
        expect(parseIp(s), s).toBeDefined();
      }),
      { numRuns: 1000 },
    );
    // Octal, hex and shortened IPv4 (e.g. 0x7f.1, 127.1) are not what a partner means by an IP.
    for (const s of ["0x7f.0.0.1", "127.1", "010.0.0.1", "1.2.3", "256.0.0.1", "1.2.3.4.5"])
      expect(parseIp(s), s).toBeUndefined();
  });

  it("formats IPv6 canonically (RFC 5952) and parses its own output and the full spelling back", () => {
    fc.assert(
      fc.property(v6, (ip) => {
        const text = formatIp(ip);
        expect(text).toBe(text.toLowerCase());
        expect(text).not.toMatch(/(^|:)0[0-9a-f]/);
        expect(parseIp(text)?.bytes).toEqual(ip.bytes);
        expect(parseIp(fullV6(ip.bytes))?.bytes).toEqual(ip.bytes);
      }),
      RUNS,
    );
  });

  it("an IPv4-mapped IPv6 address is its IPv4 address, in both spellings", () => {
    fc.assert(
      fc.property(v4, (ip) => {
        const dotted = formatIp(ip);
        const hex = `::ffff:${(((ip.bytes[0] ?? 0) << 8) | (ip.bytes[1] ?? 0)).toString(16)}:${(((ip.bytes[2] ?? 0) << 8) | (ip.bytes[3] ?? 0)).toString(16)}`;
        for (const s of [`::ffff:${dotted}`, `::FFFF:${dotted}`, hex, `0:0:0:0:0:ffff:${dotted}`]) {
          expect(normalizedIp(s)).toEqual(ip);
          expect(ipSubjectKey(s)).toBe(dotted);
        }
        // Not mapped: IPv4-compatible (::a.b.c.d) stays IPv6.
        expect(normalizedIp(`::${dotted}`)?.version).toBe(6);
      }),
      RUNS,
    );
  });

  it("IPv6 addresses are counted per /64: same prefix, same key; another prefix, another key", () => {
    fc.assert(
      fc.property(v6, bytes(8), (ip, low) => {
        fc.pre(!(ip.bytes.subarray(0, 10).every((b) => b === 0) && ip.bytes[10] === 0xff && ip.bytes[11] === 0xff));
        const other = new Uint8Array(ip.bytes);
        other.set(low, 8);
        expect(ipSubjectKey(formatIp({ version: 6, bytes: other }))).toBe(ipSubjectKey(formatIp(ip)));
        expect(ipSubjectKey(formatIp(ip))).toMatch(/\/64$/);
        const flipped = new Uint8Array(ip.bytes);
        flipped[7] = (flipped[7] ?? 0) ^ 1;
        expect(ipSubjectKey(formatIp({ version: 6, bytes: flipped }))).not.toBe(ipSubjectKey(formatIp(ip)));
      }),
      RUNS,
    );
    expect(ipSubjectKey("2001:db8:0:1:aaaa::1")).toBe("2001:db8:0:1::/64");
    expect(ipSubjectKey("2001:db8:0:1:bbbb:cccc:dddd:eeee")).toBe("2001:db8:0:1::/64");
  });

  it("normalising is idempotent", () => {
    fc.assert(
      fc.property(fc.oneof(v4, v6), (ip) => {
        const once = normalizeIp(ip);
        expect(normalizeIp(once)).toEqual(once);
      }),
      RUNS,
    );
  });
});

describe("CIDR ranges", () => {
  it("parses ranges, refuses host bits and bad prefixes, maps ::ffff:0:0/96+ to IPv4", () => {
    expect(parseCidr("203.0.113.0/24")).toEqual({ version: 4, bytes: new Uint8Array([203, 0, 113, 0]), prefix: 24 });
    expect(parseCidr("203.0.113.7")?.prefix).toBe(32);
    expect(parseCidr("2001:db8::/32")?.prefix).toBe(32);
    expect(parseCidr("::/0")?.prefix).toBe(0);
    expect(parseCidr("::ffff:203.0.113.0/120")).toEqual({ version: 4, bytes: new Uint8Array([203, 0, 113, 0]), prefix: 24 });
    for (const bad of [
      "203.0.113.7/24",
      "203.0.113.0/33",
      "203.0.113.0/024",
      "203.0.113.0/",
      "2001:db8::1/32",
      "2001:db8::/129",
      "x/8",
      "1.2.3.0/-1",
    ]) {
      expect(parseCidr(bad), bad).toBeUndefined();
    }
  });

  it("contains exactly the addresses whose first `prefix` bits equal the network's", () => {
    const range = fc.oneof(fc.tuple(v4, fc.integer({ min: 0, max: 32 })), fc.tuple(v6, fc.integer({ min: 0, max: 128 })));
    fc.assert(
      fc.property(range, fc.boolean(), bytes(16), ([net, prefix], near, noise) => {
        const bits = net.bytes.length * 8;
        const mask = prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix);
        const netInt = toBigInt(net.bytes) & mask;
        const netBytes = new Uint8Array(net.bytes.length);
        for (let i = 0; i < netBytes.length; i++) netBytes[i] = Number((netInt >> BigInt(8 * (netBytes.length - 1 - i))) & 0xffn);
        const cidr = parseCidr(`${formatIp({ version: net.version, bytes: netBytes })}/${prefix}`);
        if (!cidr) throw new Error("a masked network must parse");
        // An address near the network (same prefix, random host bits) or anywhere.
        const random = toBigInt(noise.subarray(0, net.bytes.length));
        const addrInt = near ? netInt | (random & ~mask & ((1n << BigInt(bits)) - 1n)) : random;
        const addr = new Uint8Array(net.bytes.length);
        for (let i = 0; i < addr.length; i++) addr[i] = Number((addrInt >> BigInt(8 * (addr.length - 1 - i))) & 0xffn);
        const ip = normalizeIp({ version: net.version, bytes: addr });
        const expected = ip.version === cidr.version && (toBigInt(ip.bytes) & mask) === netInt && cidr.version === net.version;
        expect(cidrContains(cidr, ip)).toBe(expected);
      }),
      { numRuns: 1000 },
    );
  });

  it("an IPv4 range never matches an IPv6 address and vice versa", () => {
    expect(cidrContains(parseCidr("0.0.0.0/0")!, parseIp("::1")!)).toBe(false);
    expect(cidrContains(parseCidr("::/0")!, parseIp("1.2.3.4")!)).toBe(false);
    expect(cidrContains(parseCidr("203.0.113.0/24")!, normalizedIp("::ffff:203.0.113.9")!)).toBe(true);
  });
});

describe("bucketed windows", () => {
  it("a window of W is 10 buckets of W/10; the sum reads 11 buckets", () => {
    const spec = windowSpec(3600);
    expect(spec).toEqual({ windowMs: 3_600_000, bucketMs: 360_000 });
    const { first, last } = windowBuckets(spec, 10_000_000);
    expect(last - first + 1).toBe(BUCKETS_PER_WINDOW + 1);
    expect(maxOvercountMs(spec)).toBe(360_000);
  });

  it("never leaves out an event inside the window, and counts none older than W + W/10", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2_592_000 }),
        fc.integer({ min: 0, max: 4_000_000_000_000 }),
        fc.integer({ min: 0, max: 3_000_000_000 }),
        (seconds, now, ago) => {
          const spec = windowSpec(seconds);
          const t = now - ago;
          const { first, last } = windowBuckets(spec, now);
          const counted = bucketOf(spec, t) >= first && bucketOf(spec, t) <= last;
          if (ago <= spec.windowMs) expect(counted).toBe(true);
          if (counted) expect(ago).toBeLessThan(spec.windowMs + spec.bucketMs);
          // A bucket is pruned only once it is in no window.
          if (counted) expect(bucketExpiresAt(spec, bucketOf(spec, t))).toBeGreaterThan(now);
        },
      ),
      RUNS,
    );
  });
});

const rule = (r: Partial<RiskRule>): RiskRule =>
  ({ id: "r", action: "deny", applies_to: "earn", subject: "member", ...r }) as RiskRule;

describe("rule validation", () => {
  it("accepts the contract's shapes and the block lists", () => {
    const ok: RiskRule[] = [
      rule({ window_seconds: 3600, max_count: 10 }),
      rule({ applies_to: "burn", window_seconds: 60, max_points: 5000, max_count: 3 }),
      rule({ subject: "transaction", max_points: 50_000 }),
      rule({ subject: "device", window_seconds: 86_400, max_distinct_members: 3 }),
      rule({ applies_to: "enroll", subject: "ip", window_seconds: 3600, max_distinct_members: 20, member_age_below_seconds: 60 }),
      rule({ applies_to: "enroll", subject: "device", window_seconds: 3600, max_count: 5 }),
      rule({ subject: "ip", block: ["203.0.113.0/24", "2001:db8::/32", "198.51.100.7"] }),
      rule({ applies_to: "burn", subject: "device", action: "review", block: ["d-123"] }),
    ];
    for (const r of ok) expect(ruleProblems(r), JSON.stringify(r)).toEqual([]);
  });

  it("refuses what cannot mean anything", () => {
    const bad: [Partial<RiskRule>, string][] = [
      [{ window_seconds: 3600 }, "max_count"],
      [{ max_count: 3 }, "window_seconds"],
      [{ subject: "transaction", max_count: 3 }, "max_count"],
      [{ subject: "transaction" }, "max_points"],
      [{ subject: "transaction", max_points: 5, window_seconds: 60 }, "window_seconds"],
      [{ window_seconds: 60, max_distinct_members: 3 }, "max_distinct_members"],
      [{ applies_to: "enroll", subject: "ip", window_seconds: 60, max_points: 3 }, "max_points"],
      [{ applies_to: "enroll", subject: "member", window_seconds: 60, max_count: 3 }, "subject"],
      [{ applies_to: "enroll", action: "review", subject: "ip", window_seconds: 60, max_count: 3 }, "action"],
      [{ subject: "member", block: ["x"] }, "subject"],
      [{ subject: "ip", block: ["203.0.113.7/24"] }, "block"],
      [{ subject: "ip", block: ["not-an-ip"] }, "block"],
      [{ subject: "ip", block: ["1.2.3.4", "1.2.3.4"] }, "block"],
      [{ subject: "device", block: ["d"], window_seconds: 60 }, "window_seconds"],
      [{ subject: "device", block: ["d"], max_count: 1 }, "max_count"],
    ];
    for (const [r, field] of bad) {
      const problems = ruleProblems(rule(r));
      expect(problems.length, JSON.stringify(r)).toBeGreaterThan(0);
      expect(problems[0]?.path[0], JSON.stringify(r)).toBe(field);
    }
  });

  it("refuses duplicate ids, too many rules, bad ids and unknown fields", () => {
    const a = rule({ id: "a", window_seconds: 60, max_count: 1 });
    expect(ruleSetProblems([a, a])).toEqual([{ path: [1, "id"], message: "rule id a appears twice" }]);
    const many = Array.from({ length: 101 }, (_, i) => ({ ...a, id: `r-${i}` }));
    expect(RiskRuleSetSchema.safeParse({ rules: many }).success).toBe(false);
    expect(RiskRuleSetSchema.safeParse({ rules: many.slice(0, 100) }).success).toBe(true);
    for (const id of ["", "-a", "A", "a_b", "a".repeat(65)])
      expect(RiskRuleSetSchema.safeParse({ rules: [{ ...a, id }] }).success, id).toBe(false);
    expect(RiskRuleSetSchema.safeParse({ rules: [{ ...a, max_count: 0 }] }).success).toBe(false);
    expect(RiskRuleSetSchema.safeParse({ rules: [{ ...a, window_seconds: 2_592_001 }] }).success).toBe(false);
    expect(RiskRuleSetSchema.safeParse({ rules: [{ ...a, extra: 1 }] }).success).toBe(false);
  });
});

describe("which rules apply", () => {
  const req: RiskRequest = {
    kind: "earn",
    partnerId: "p1",
    memberAgeMs: 10_000,
    hasMember: true,
    points: 100,
    ip: "203.0.113.7",
    now: 1_000_000,
  };
  const set = compileRuleSet([
    rule({ id: "other-kind", applies_to: "burn", window_seconds: 60, max_count: 1 }),
    rule({ id: "other-partner", partner_id: "p2", window_seconds: 60, max_count: 1 }),
    rule({ id: "young-only", member_age_below_seconds: 5, window_seconds: 60, max_count: 1 }),
    rule({ id: "needs-device", subject: "device", window_seconds: 60, max_count: 1 }),
    rule({ id: "small-txn", subject: "transaction", max_points: 1000 }),
    rule({ id: "big-txn", subject: "transaction", max_points: 99 }),
    rule({ id: "mine", partner_id: "p1", subject: "ip", window_seconds: 60, max_count: 1, max_distinct_members: 2 }),
    rule({ id: "blocked", subject: "ip", block: ["203.0.113.0/24"] }),
    rule({ id: "not-blocked", subject: "ip", block: ["2001:db8::/32"] }),
  ]);

  it("by kind, partner, member age and subject; decided rules that cannot trip are left out", () => {
    expect(applicableRules(set, req).map((r) => r.rule.id)).toEqual(["big-txn", "mine", "blocked"]);
    expect(applicableRules(set, { ...req, memberAgeMs: 4_999, deviceId: "d" }).map((r) => r.rule.id)).toEqual([
      "young-only",
      "needs-device",
      "big-txn",
      "mine",
      "blocked",
    ]);
  });

  it("rules that count the same events share one counter; distinct members tracked where a rule asks", () => {
    const rules = applicableRules(set, req);
    const counters = countersOf(rules);
    expect(counters).toEqual([
      { counter: { key: counterKey(set.rules[6]!.rule), subject: "203.0.113.7", spec: windowSpec(60) }, distinct: true },
    ]);
    expect(counterKey(rule({ window_seconds: 60, max_count: 1 }))).toBe(
      counterKey(rule({ action: "review", window_seconds: 60, max_points: 9 })),
    );
    expect(counterKey(rule({ window_seconds: 60, max_count: 1 }))).not.toBe(
      counterKey(rule({ window_seconds: 61, max_count: 1 })),
    );
    expect(counterKey(rule({ window_seconds: 60, max_count: 1 }))).not.toBe(
      counterKey(rule({ partner_id: "p1", window_seconds: 60, max_count: 1 })),
    );
  });

  it("maps the guard's constraint back to the deny rule at that position", () => {
    const plan = { rules: applicableRules(set, req) };
    expect(declinedBy(plan, new Error("D1_ERROR: CHECK constraint failed: risk_rule_7: SQLITE_CONSTRAINT"))?.id).toBe("blocked");
    expect(declinedBy(plan, new Error("CHECK constraint failed: risk_rule_70"))).toBeUndefined();
    expect(declinedBy(plan, new Error("CHECK constraint failed: insufficient_points"))).toBeUndefined();
  });

  it("a rule on the member's age, when only the batch knows the member, applies on a condition the SQL checks", () => {
    const { memberAgeMs: _age, ...unknownAge } = req;
    const rules = applicableRules(set, unknownAge);
    expect(rules.map((r) => r.rule.id)).toEqual(["young-only", "big-txn", "mine", "blocked"]);
    expect(rules[0]?.memberYoungerThanMs).toBe(5_000);
    expect(rules[1]?.memberYoungerThanMs).toBeUndefined();
  });
});

describe("bench support", () => {
  it("the bench rule set is valid, and riskPlanCost is constant in the history and counts what an earn checks", async () => {
    const { BENCH_EARN_RULES, riskPlanCost } = await import("../../src/risk/index");
    const { DEMO_RISK_RULES } = await import("../../scripts/seed/demo-coalition");
    expect(RiskRuleSetSchema.safeParse({ rules: BENCH_EARN_RULES }).success).toBe(true);
    const earn: RiskRequest = {
      kind: "earn",
      partnerId: "p",
      memberAgeMs: 0,
      hasMember: true,
      points: 58,
      ip: "2001:db8::1",
      deviceId: "d",
      now: 1,
    };
    expect(riskPlanCost(compileRuleSet(BENCH_EARN_RULES), earn)).toEqual({
      rules: 3,
      windowChecks: 5,
      counters: 3,
      distinctCounters: 1,
      maxCounterRowsRead: 6 * 11 + 2,
    });
    // The demo defaults check nothing in the batch for an ordinary earn (the single-earn maximum is decided before it).
    expect(riskPlanCost(compileRuleSet(DEMO_RISK_RULES as unknown as RiskRule[]), earn).windowChecks).toBe(0);
  });
});
