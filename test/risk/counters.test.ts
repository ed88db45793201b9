import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { runBatch, sql } from "../../src/db/sql-template";
import type { RiskRequest } from "../../src/risk/evaluate";
import { compileRuleSet, type RiskRule } from "../../src/risk/rules";
import { declinedBy, planRisk } from "../../src/risk/sql";
import { pruneRiskCounters } from "../../src/risk/store";
import { runScheduledJobs } from "../support/jobs";

/**
 * The counters straight against D1 (no HTTP), at simulated times: the sliding window's
 * behaviour over time, constant rows per check however long the history, and pruning.
 */

const db = () => env.DB;
const HOUR_MS = 3_600_000;

const RULES: RiskRule[] = [
  {
    id: "member-hourly",
    action: "deny",
    applies_to: "burn",
    subject: "member",
    window_seconds: 3600,
    max_count: 3,
    max_points: 1000,
  },
  { id: "device-members", action: "deny", applies_to: "burn", subject: "device", window_seconds: 3600, max_distinct_members: 2 },
];
const set = compileRuleSet(RULES);

/** One checked request at `now`: the risk statements alone, in one batch. Declined or not, and the D1 rows it touched. */
async function check(memberId: string, now: number, points = 1, deviceId = "dev-1", rules = set) {
  const req: RiskRequest = {
    kind: "burn",
    partnerId: "p",
    memberAgeMs: 1e12,
    hasMember: true,
    points,
    ip: "10.9.9.9",
    deviceId,
    now,
  };
  const plan = planRisk(rules, req, { member: sql`${memberId}` });
  try {
    const results = await runBatch(db(), plan.before);
    return {
      declined: undefined,
      read: results.reduce((n, r) => n + (r.meta.rows_read ?? 0), 0),
      written: results.reduce((n, r) => n + (r.meta.rows_written ?? 0), 0),
    };
  } catch (error) {
    const rule = declinedBy(plan, error);
    if (!rule) throw error;
    return { declined: rule.id, read: 0, written: 0 };
  }
}

describe("bucketed counters", () => {
  it("the window slides: a count frees up once its bucket is out of the window (at most W + W/10 later)", async () => {
    const t0 = 1_000 * HOUR_MS;
    for (let i = 0; i < 3; i++) expect((await check("m-slide", t0 + i)).declined).toBeUndefined();
    expect((await check("m-slide", t0 + 10)).declined).toBe("member-hourly");
    // Still inside the window, or in its last over-counted bucket: declined.
    expect((await check("m-slide", t0 + HOUR_MS)).declined).toBe("member-hourly");
    // One hour and one bucket (6 minutes) later the first three are out of every window.
    expect((await check("m-slide", t0 + HOUR_MS + 360_000)).declined).toBeUndefined();
  });

  it("points per window and distinct members per device", async () => {
    const t0 = 2_000 * HOUR_MS;
    expect((await check("m-points", t0, 999)).declined).toBeUndefined();
    expect((await check("m-points", t0 + 1, 1)).declined).toBeUndefined();
    expect((await check("m-points", t0 + 2, 1)).declined).toBe("member-hourly");
    expect((await check("d-a", t0, 1, "dev-distinct")).declined).toBeUndefined();
    expect((await check("d-b", t0, 1, "dev-distinct")).declined).toBeUndefined();
    expect((await check("d-a", t0 + 5, 1, "dev-distinct")).declined).toBeUndefined();
    expect((await check("d-c", t0 + 6, 1, "dev-distinct")).declined).toBe("device-members");
    // d-a and d-b touched the device last at t0 + 5 and t0: an hour and a bucket after, d-c is the first again.
    expect((await check("d-c", t0 + HOUR_MS + 360_000 + 5, 1, "dev-distinct")).declined).toBeUndefined();
  });

  it("rows read and written per check stay constant as the history grows", async () => {
    const t0 = 3_000 * HOUR_MS;
    const generous = compileRuleSet(
      RULES.map((r) => ({ ...r, max_count: 1000, max_points: 1_000_000, max_distinct_members: 1000 })),
    );
    const rows: { read: number; written: number }[] = [];
    // 300 checks, one every 4 minutes: 20 hours of history for two members on one device.
    for (let i = 0; i < 300; i++) {
      const r = await check(`m-${i % 2}`, t0 + i * 240_000, 1, "dev-history", generous);
      expect(r.declined).toBeUndefined();
      rows.push(r);
    }
    const steady = rows.slice(50);
    const maxRead = Math.max(...steady.map((r) => r.read));
    const maxWritten = Math.max(...steady.map((r) => r.written));
    // The last checks touch no more rows than those after the first couple of windows.
    expect(Math.max(...rows.slice(250).map((r) => r.read))).toBeLessThanOrEqual(
      Math.max(...rows.slice(50, 100).map((r) => r.read)),
    );
    expect(maxRead).toBeLessThan(100);
    expect(maxWritten).toBeLessThan(20);
  });

  it("the scheduled job prunes buckets that are in no window any more, and only those", async () => {
    const now = Date.now();
    await db().batch([
      db().prepare("DELETE FROM risk_counters"),
      db().prepare("DELETE FROM risk_members"),
      db()
        .prepare("INSERT INTO risk_counters VALUES ('k', 's', 1, 1, 1, 0, ?1), ('k', 's', 2, 1, 1, 0, ?2)")
        .bind(now - 1, now + HOUR_MS),
      db()
        .prepare("INSERT INTO risk_members VALUES ('k', 's', 'm1', 1, ?1), ('k', 's', 'm2', 2, ?2)")
        .bind(now - 1, now + HOUR_MS),
    ]);
    await runScheduledJobs(now);
    expect((await db().prepare("SELECT bucket FROM risk_counters").all()).results).toEqual([{ bucket: 2 }]);
    expect((await db().prepare("SELECT member_id FROM risk_members").all()).results).toEqual([{ member_id: "m2" }]);
    expect(await pruneRiskCounters(db(), now)).toEqual({ counters: 0, members: 0 });
  });
});
