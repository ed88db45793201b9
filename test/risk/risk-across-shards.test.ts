import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { first, raw, runBatch, type Sql, sql } from "../../src/db/sql-template";
import type { ApiError } from "../../src/http/errors";
import { memberOfRef } from "../../src/ledger/member";
import { insertTransaction, newTransactionId } from "../../src/ledger/transactions";
import { ledgerRiskCheckAcrossShards } from "../../src/risk/check";
import { planEnrolmentAcrossShards } from "../../src/risk/enrol";
import { compileRuleSet, type RiskRule, type RuleSet } from "../../src/risk/rules";
import type { MainDecision } from "../../src/risk/split";
import { failingBatches } from "../support/d1-calls";
import { createPartner } from "../support/exchange";
import { newRef } from "../support/ledger";
import today from "./fixtures/unsplit-plan.json";
import { freshDevice, freshIp } from "./support";
import { unsplitStatements } from "./unsplit-cases";

/**
 * The risk rules across shards (docs/design/shards.md "Risk windows across members"), with DB as
 * main and SHARD_1 as a member's shard (the `sharded` project). Each request runs as the router
 * will run it: the split plan's `main` statements in main's batch (after the router's own round-1
 * statements, a stand-in here), then the member's shard batch built from main's decision. A
 * decline is stored with its risk event on the member's shard, as `onFailure` gives it.
 */

const main = (): D1Database => env.DB;
const shard1 = (): D1Database => {
  const db = (env as unknown as Record<string, D1Database | undefined>).SHARD_1;
  if (!db) throw new Error("this file runs in the sharded project (DB + SHARD_1)");
  return db;
};
const DAY_MS = 86_400_000;

let partner: string;
let other: string;

beforeAll(async () => {
  // Created through the operator API, so the catalogue copy puts them on SHARD_1 as well (member_links needs them).
  partner = (await createPartner()).id;
  other = (await createPartner()).id;
});

interface Member {
  db: D1Database;
  partnerId: string;
  ref: string;
  id: string;
}

let members = 0;
/** A member on `db`, linked to `partnerId`, created `ageMs` ago. */
async function memberOn(db: D1Database, ageMs = 30 * DAY_MS, partnerId = partner): Promise<Member> {
  const id = `mbr_0ab_across${String(++members).padStart(10, "0")}`;
  const ref = newRef("x");
  await runBatch(db, [
    sql`INSERT INTO members (id, created_at, created_by) VALUES (${id}, ${Date.now() - ageMs}, ${partnerId})`,
    sql`INSERT INTO member_links (partner_id, member_ref, member_id, created_at) VALUES (${partnerId}, ${ref}, ${id}, ${Date.now()})`,
  ]);
  return { db, partnerId, ref, id };
}

/** The same member reached through another partner's ref. */
async function linkAt(m: Member, partnerId: string): Promise<Member> {
  const ref = newRef("y");
  await runBatch(m.db, [
    sql`INSERT INTO member_links (partner_id, member_ref, member_id, created_at) VALUES (${partnerId}, ${ref}, ${m.id}, ${Date.now()})`,
  ]);
  return { ...m, partnerId, ref };
}

type Outcome = { status: string; txnId: string } | { declined: string; where: "main" | "shard"; error: ApiError };

interface EarnOptions {
  points?: number;
  ip?: string;
  device?: string;
  memberKey?: string;
  memberAgeMs?: number;
  /** The shard's database as the router reaches it (a failing one, for fault injection). */
  shardDb?: D1Database;
}

/** A stored decline: the router writes the outcome and its risk event on the member's shard. */
async function stored(
  failure: { error: ApiError; statements: Sql[] } | undefined,
  error: unknown,
  where: "main" | "shard",
  m: Member,
): Promise<Outcome> {
  if (!failure) throw error;
  await runBatch(m.db, failure.statements);
  return { declined: failure.error.code, where, error: failure.error };
}

/** An earn of `m` checked across shards: main's batch, then the shard's (a transaction row stands for the ledger's statements). */
async function earn(rules: RuleSet, m: Member, o: EarnOptions = {}): Promise<Outcome> {
  const now = Date.now();
  const txnId = newTransactionId(undefined);
  const member = memberOfRef(m.partnerId, m.ref);
  const points = o.points ?? 10;
  const ip = o.ip ?? "203.0.113.50";
  const context = o.device === undefined ? { ip } : { ip, device_id: o.device };
  const split = ledgerRiskCheckAcrossShards(rules, {
    kind: "earn",
    partnerId: m.partnerId,
    txnId,
    member,
    memberRef: m.ref,
    points,
    context,
    now,
    requestId: `req_${txnId}`,
    memberKey: o.memberKey,
    memberAgeMs: o.memberAgeMs,
  });
  let decision: MainDecision;
  try {
    const results = await runBatch(main(), [sql`SELECT 1 AS round_one`, ...split.main]);
    decision = split.decision(results.slice(1));
  } catch (error) {
    return stored(split.onFailure(error), error, "main", m);
  }
  const check = split.shard(decision);
  const txn = insertTransaction(
    {
      id: txnId,
      type: "earn",
      status: "posted",
      partnerId: m.partnerId,
      member,
      points,
      direction: 1,
      issuePriceMicros: 10_000,
      occurredAt: now,
      bookedAt: now,
      contextIp: ip,
      contextDevice: o.device ?? null,
    },
    check.status("posted"),
  );
  try {
    await runBatch(o.shardDb ?? m.db, check.wrap([txn]));
  } catch (error) {
    return stored(check.onFailure(error), error, "shard", m);
  }
  const row = await first<{ status: string }>(m.db, sql`SELECT status FROM transactions WHERE id = ${txnId}`);
  return { status: row?.status ?? "missing", txnId };
}

const passed = (outcomes: Outcome[]) => outcomes.filter((o) => "status" in o).length;
const declinedBy = (outcomes: Outcome[]) => outcomes.flatMap((o) => ("declined" in o ? [o.declined] : []));

async function count(db: D1Database, query: Sql): Promise<number> {
  return (await first<{ n: number }>(db, query))?.n ?? 0;
}

/** The window count of a subject's counters in `db` (every counter and bucket of it). */
function counted(db: D1Database, subject: string, metric: "count" | "points" | "members" = "count"): Promise<number> {
  return count(db, sql`SELECT COALESCE(SUM(${raw(metric)}), 0) AS n FROM risk_counters WHERE subject = ${subject}`);
}

function rules(...list: RiskRule[]): RuleSet {
  return compileRuleSet(list);
}

describe("at N = 1 (not split)", () => {
  it("the plan's statements are today's, byte for byte (recorded before the split plan existed)", () => {
    expect(unsplitStatements()).toEqual(today);
  });
});

describe("a device's and an IP's windows span the members of every shard", () => {
  it("concurrent earns of one device on members of both shards pass max_count exactly; the rest are declined by its rule", async () => {
    const device = freshDevice();
    const set = rules({
      id: "device-3",
      action: "deny",
      applies_to: "earn",
      subject: "device",
      window_seconds: 3600,
      max_count: 3,
    });
    const [a, b] = [await memberOn(main()), await memberOn(shard1())];
    const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => earn(set, i % 2 ? b : a, { device })));
    expect(passed(outcomes)).toBe(3);
    expect(declinedBy(outcomes)).toEqual(Array(7).fill("device-3"));
    // Counted in main only; shard 1 holds no device counter, and its declines are in its event log.
    expect(await counted(main(), device)).toBe(3);
    expect(await counted(shard1(), device)).toBe(0);
    const events = sql`SELECT COUNT(*) AS n FROM risk_events WHERE device_id = ${device} AND action = 'deny' AND rule_id = 'device-3'`;
    expect((await count(main(), events)) + (await count(shard1(), events))).toBe(7);
  });

  it("concurrent earns from one IP on both shards never pass max_points", async () => {
    const ip = freshIp();
    const set = rules({
      id: "ip-points",
      action: "deny",
      applies_to: "earn",
      subject: "ip",
      window_seconds: 3600,
      max_points: 100,
    });
    const [a, b] = [await memberOn(main()), await memberOn(shard1())];
    const outcomes = await Promise.all(Array.from({ length: 8 }, (_, i) => earn(set, i % 2 ? b : a, { ip, points: 30 })));
    expect(passed(outcomes)).toBe(3);
    expect(new Set(declinedBy(outcomes))).toEqual(new Set(["ip-points"]));
    expect(await counted(main(), ip, "points")).toBe(90);
  });

  it("concurrent earns of new members on both shards pass max_distinct_members exactly; a counted member passes again", async () => {
    const device = freshDevice();
    const set = rules({
      id: "device-members",
      action: "deny",
      applies_to: "earn",
      subject: "device",
      window_seconds: 3600,
      max_distinct_members: 2,
    });
    const all = [
      ...(await Promise.all([1, 2, 3].map(() => memberOn(main())))),
      ...(await Promise.all([1, 2, 3].map(() => memberOn(shard1())))),
    ];
    const outcomes = await Promise.all(all.map((m) => earn(set, m, { device })));
    expect(passed(outcomes)).toBe(2);
    expect(declinedBy(outcomes)).toEqual(Array(4).fill("device-members"));
    const admitted = all.filter((_, i) => "status" in (outcomes[i] as Outcome));
    for (const m of admitted) expect(await earn(set, m, { device })).toMatchObject({ status: "posted" });
    expect(await counted(main(), device, "members")).toBe(2);
  });

  it("distinct members: memberKey counts one member reached through two partners once; partner + ref counts it twice (strict)", async () => {
    const set = rules({
      id: "ip-members",
      action: "deny",
      applies_to: "earn",
      subject: "ip",
      window_seconds: 3600,
      max_distinct_members: 1,
    });
    const m = await memberOn(shard1());
    const atOther = await linkAt(m, other);
    const byId = freshIp();
    expect(await earn(set, m, { ip: byId, memberKey: m.id })).toMatchObject({ status: "posted" });
    expect(await earn(set, atOther, { ip: byId, memberKey: m.id })).toMatchObject({ status: "posted" });
    const byRef = freshIp();
    expect(await earn(set, m, { ip: byRef })).toMatchObject({ status: "posted" });
    expect(await earn(set, atOther, { ip: byRef })).toMatchObject({ declined: "ip-members", where: "main" });
  });

  it("inclusive: exactly max_count passes, the next is declined in main with the rule's id, the 422 and its event on the member's shard", async () => {
    const device = freshDevice();
    const set = rules(
      { id: "member-wide", action: "deny", applies_to: "earn", subject: "member", window_seconds: 3600, max_count: 100 },
      { id: "device-2", action: "deny", applies_to: "earn", subject: "device", window_seconds: 3600, max_count: 2 },
    );
    const m = await memberOn(shard1());
    expect(await earn(set, m, { device })).toMatchObject({ status: "posted" });
    expect(await earn(set, m, { device })).toMatchObject({ status: "posted" });
    const third = await earn(set, m, { device });
    expect(third).toMatchObject({ declined: "device-2", where: "main" });
    const error = (third as { error: ApiError }).error;
    expect({ status: error.status, type: error.type, code: error.code }).toEqual({
      status: 422,
      type: "risk_declined",
      code: "device-2",
    });
    // The decline rolled main's batch back: its increment is not kept.
    expect(await counted(main(), device)).toBe(2);
    expect(
      await first(
        shard1(),
        sql`SELECT rule_id, action, member_id, member_ref, points FROM risk_events WHERE device_id = ${device}`,
      ),
    ).toEqual({ rule_id: "device-2", action: "deny", member_id: m.id, member_ref: m.ref, points: 10 });
    // The member's own window is counted on its shard, never in main.
    expect(await counted(shard1(), m.id)).toBe(2);
    expect(await counted(main(), m.id)).toBe(0);
  });
});

describe("review rules on a device or an IP are decided in main", () => {
  it("an IP review rule that trips in main sends the shard's transaction to review, with that rule recorded", async () => {
    const ip = freshIp();
    const set = rules(
      { id: "member-review", action: "review", applies_to: "earn", subject: "member", window_seconds: 3600, max_count: 100 },
      { id: "ip-review", action: "review", applies_to: "earn", subject: "ip", window_seconds: 3600, max_count: 1 },
    );
    // The IP's first earn is another member's, on the other shard: only main sees both.
    expect(await earn(set, await memberOn(main()), { ip })).toMatchObject({ status: "posted" });
    const m = await memberOn(shard1());
    const second = await earn(set, m, { ip });
    expect(second).toMatchObject({ status: "review" });
    const txnId = (second as { txnId: string }).txnId;
    expect(await first(shard1(), sql`SELECT risk_rule_id FROM transactions WHERE id = ${txnId}`)).toEqual({
      risk_rule_id: "ip-review",
    });
    expect(
      await first(shard1(), sql`SELECT rule_id, action, member_id FROM risk_events WHERE transaction_id = ${txnId}`),
    ).toEqual({
      rule_id: "ip-review",
      action: "review",
      member_id: m.id,
    });
  });

  it("among review rules the first in rule-set order is recorded, a member rule decided in the shard included", async () => {
    const ip = freshIp();
    const set = rules(
      { id: "member-first", action: "review", applies_to: "earn", subject: "member", window_seconds: 3600, max_count: 1 },
      { id: "ip-second", action: "review", applies_to: "earn", subject: "ip", window_seconds: 3600, max_count: 1 },
    );
    const m = await memberOn(shard1());
    await earn(set, m, { ip });
    const second = (await earn(set, m, { ip })) as { txnId: string };
    expect(await first(shard1(), sql`SELECT status, risk_rule_id FROM transactions WHERE id = ${second.txnId}`)).toEqual({
      status: "review",
      risk_rule_id: "member-first",
    });
  });
});

describe("reservations: main's counts only err strict", () => {
  it("a shard batch that fails after main's increment keeps the count: the next request is declined", async () => {
    const device = freshDevice();
    const set = rules({
      id: "device-1",
      action: "deny",
      applies_to: "earn",
      subject: "device",
      window_seconds: 3600,
      max_count: 1,
    });
    const m = await memberOn(shard1());
    await expect(earn(set, m, { device, shardDb: failingBatches(shard1()) })).rejects.toThrow("unreachable");
    expect(await count(shard1(), sql`SELECT COUNT(*) AS n FROM transactions WHERE context_device = ${device}`)).toBe(0);
    expect(await counted(main(), device)).toBe(1);
    expect(await earn(set, m, { device })).toMatchObject({ declined: "device-1", where: "main" });
  });

  it("a decline by a member rule in the shard keeps main's device increment", async () => {
    const device = freshDevice();
    const set = rules(
      { id: "member-1", action: "deny", applies_to: "earn", subject: "member", window_seconds: 3600, max_count: 1 },
      { id: "device-9", action: "deny", applies_to: "earn", subject: "device", window_seconds: 3600, max_count: 9 },
    );
    const m = await memberOn(shard1());
    expect(await earn(set, m, { device })).toMatchObject({ status: "posted" });
    expect(await earn(set, m, { device })).toMatchObject({ declined: "member-1", where: "shard" });
    expect(await counted(main(), device)).toBe(2);
    expect(await counted(shard1(), m.id)).toBe(1);
  });
});

describe("what main decides", () => {
  it("a sure decline (one transaction over max_points) is decided in main and reserves nothing", async () => {
    const device = freshDevice();
    const set = rules(
      { id: "device-9", action: "deny", applies_to: "earn", subject: "device", window_seconds: 3600, max_count: 9 },
      { id: "single-max", action: "deny", applies_to: "earn", subject: "transaction", max_points: 100 },
    );
    const m = await memberOn(shard1());
    expect(await earn(set, m, { device, points: 101 })).toMatchObject({ declined: "single-max", where: "main" });
    expect(await counted(main(), device)).toBe(0);
    expect(await earn(set, m, { device, points: 100 })).toMatchObject({ status: "posted" });
    expect(await counted(main(), device)).toBe(1);
  });

  it("with rules on the member alone main has nothing to do (the router can skip it)", () => {
    const set = rules({
      id: "member-1",
      action: "deny",
      applies_to: "earn",
      subject: "member",
      window_seconds: 3600,
      max_count: 1,
    });
    const check = ledgerRiskCheckAcrossShards(set, {
      kind: "earn",
      partnerId: "p-one",
      txnId: "txn_1",
      member: memberOfRef("p-one", "r"),
      memberRef: "r",
      points: 1,
      context: { ip: "203.0.113.1", device_id: "d" },
      now: Date.now(),
      requestId: "req_1",
    });
    expect(check.main).toEqual([]);
    expect(check.shard(check.decision([])).wrap([]).length).toBeGreaterThan(0);
  });
});

describe("member_age_below_seconds on a device rule", () => {
  const young = (max: number): RiskRule => ({
    id: "device-young",
    action: "deny",
    applies_to: "earn",
    subject: "device",
    window_seconds: 3600,
    max_count: max,
    member_age_below_seconds: 86_400,
  });

  it("without a known age main counts every member as young; the shard declines only a young member", async () => {
    const device = freshDevice();
    const set = rules(young(1));
    const old = await memberOn(shard1(), 30 * DAY_MS);
    const fresh = await memberOn(shard1(), 60_000);
    expect(await earn(set, old, { device })).toMatchObject({ status: "posted" });
    // The old member's earn was counted (strict), so the young member's first is over the limit: declined in its shard.
    expect(await earn(set, fresh, { device })).toMatchObject({ declined: "device-young", where: "shard" });
    expect(await earn(set, old, { device })).toMatchObject({ status: "posted" });
    expect(await counted(main(), device)).toBe(3);
  });

  it("a review rule on the age of an IP's members, age unknown: main reports it tripped, the shard reviews only a young member", async () => {
    const ip = freshIp();
    const set = rules({ ...young(1), id: "ip-young-review", action: "review", subject: "ip" });
    const old = await memberOn(shard1(), 30 * DAY_MS);
    const fresh = await memberOn(shard1(), 60_000);
    expect(await earn(set, old, { ip })).toMatchObject({ status: "posted" });
    expect(await earn(set, old, { ip })).toMatchObject({ status: "posted" });
    const reviewed = (await earn(set, fresh, { ip })) as { txnId: string };
    expect(await first(shard1(), sql`SELECT status, risk_rule_id FROM transactions WHERE id = ${reviewed.txnId}`)).toEqual({
      status: "review",
      risk_rule_id: "ip-young-review",
    });
  });

  it("with a known age main decides: an old member is not counted, a young one is declined in main", async () => {
    const device = freshDevice();
    const set = rules(young(1));
    const old = await memberOn(shard1(), 30 * DAY_MS);
    const fresh = await memberOn(shard1(), 60_000);
    expect(await earn(set, old, { device, memberAgeMs: 30 * DAY_MS })).toMatchObject({ status: "posted" });
    expect(await counted(main(), device)).toBe(0);
    expect(await earn(set, fresh, { device, memberAgeMs: 60_000 })).toMatchObject({ status: "posted" });
    expect(await earn(set, fresh, { device, memberAgeMs: 61_000 })).toMatchObject({ declined: "device-young", where: "main" });
  });
});

describe("enrolment's bulk sign-up rules", () => {
  it("concurrent enrolments from one device, landing on both shards, pass max_count exactly", async () => {
    const device = freshDevice();
    const set = rules({
      id: "enrol-device",
      action: "deny",
      applies_to: "enroll",
      subject: "device",
      window_seconds: 3600,
      max_count: 3,
    });
    const ctx = { catalogue: { rules: set } } as unknown as Parameters<typeof planEnrolmentAcrossShards>[2];
    const enrol = async (db: D1Database, i: number) => {
      const req = { partnerId: partner, memberRef: newRef("e"), context: { ip: freshIp(), deviceId: device }, now: Date.now() };
      const plan = planEnrolmentAcrossShards(
        { ...req, newMemberId: `mbr_0cd_enrol${String(i).padStart(11, "0")}` },
        `req_e${i}`,
        ctx,
      );
      let decision: MainDecision;
      try {
        decision = plan.decision(await runBatch(main(), plan.main));
      } catch (error) {
        const failure = plan.onFailure(error);
        if (!failure) throw error;
        await runBatch(db, failure.statements);
        return failure.error.code;
      }
      const shard = plan.shard(decision);
      return shard.outcome(await runBatch(db, shard.statements)).created ? "created" : "existing";
    };
    const outcomes = await Promise.all(Array.from({ length: 8 }, (_, i) => enrol(i % 2 ? shard1() : main(), i)));
    expect(outcomes.filter((o) => o === "created")).toHaveLength(3);
    expect(outcomes.filter((o) => o === "enrol-device")).toHaveLength(5);
    const events = sql`SELECT COUNT(*) AS n FROM risk_events WHERE device_id = ${device} AND applies_to = 'enroll'`;
    expect((await count(main(), events)) + (await count(shard1(), events))).toBe(5);
  });
});
