import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { copySchedule } from "../../src/settlement/across-shards";
import { closePeriods } from "../../src/settlement/close";
import type { SignedReport } from "../../src/settlement/report-types";
import { ShardWriteError } from "../../src/shards/fan-out";
import { closeNow, nextSecond, reportStatement, settleClockAtNoon } from "../settlement/support";
import { failingBatches } from "../support/d1-calls";
import { operator, type TestPartner } from "../support/exchange";
import { burn, earn, enrol, expectOk, link, partnerWithCard } from "../support/ledger";

/**
 * Issue 11 §4 at N = 2 (the `sharded` project binds DB and SHARD_1): a close cuts the period on
 * every shard, sums every shard's aggregates, and pages statement lines across shards; a close
 * whose cut fails on one shard is finished by the next. Member writes are not routed by bucket
 * yet (docs/design/shards.md step 2), so shard 1's ledger rows are written here with the SQL a
 * booking writes (a transaction, its lot, a consumption), and its settlement triggers do the rest.
 */

const shard1 = (): D1Database => {
  const db = (env as unknown as Record<string, D1Database | undefined>).SHARD_1;
  if (!db) throw new Error("this file runs in the sharded project (DB + SHARD_1)");
  return db;
};

let A: TestPartner;
let B: TestPartner;
let seq = 0;

/** An earn of `points` by `issuer` and a burn of `spent` of them at `redeemer`, booked on shard 1 at `at`. */
async function bookOnShard1(issuer: TestPartner, redeemer: TestPartner, points: number, spent: number, at: number) {
  const n = ++seq;
  const member = `mbr_fff_shardone${String(n).padStart(8, "0")}`;
  const [earnId, burnId] = [`txn_s1earn${n}`, `txn_s1burn${n}`];
  const db = shard1();
  const statements = [
    db.prepare("INSERT INTO members (id, created_at, created_by) VALUES (?1, ?2, ?3)").bind(member, at, issuer.id),
    db
      .prepare(
        `INSERT INTO transactions (id, type, status, partner_id, member_id, points, direction, issue_price_micros, occurred_at, booked_at)
         VALUES (?1, 'earn', 'posted', ?2, ?3, ?4, 1, 10000, ?5, ?5)`,
      )
      .bind(earnId, issuer.id, member, points, at),
    db
      .prepare(
        `INSERT INTO lots (id, member_id, issuer_id, txn_id, issue_price_micros, points, remaining, available_at, expires_at, created_at)
         VALUES (?1, ?2, ?3, ?4, 10000, ?5, ?5, ?6, ?7, ?6)`,
      )
      .bind(n, member, issuer.id, earnId, points, at, at + 365 * 86_400_000),
  ];
  if (spent > 0) {
    statements.push(
      db
        .prepare(
          `INSERT INTO transactions (id, type, status, partner_id, member_id, points, direction, redeem_price_micros, occurred_at, booked_at)
           VALUES (?1, 'burn', 'posted', ?2, ?3, ?4, -1, 8000, ?5, ?5)`,
        )
        .bind(burnId, redeemer.id, member, spent, at),
      db
        .prepare(
          `INSERT INTO lot_movements (txn_id, n, lot_id, kind, points, issuer_id, redeemer_id, issue_price_micros, redeem_price_micros, at)
           VALUES (?1, 1, ?2, 'consume', ?3, ?4, ?5, 10000, 8000, ?6)`,
        )
        .bind(burnId, n, spent, issuer.id, redeemer.id, at),
    );
  }
  await db.batch(statements);
  return { earnId, burnId };
}

let first: { report: SignedReport };
let shard1Burn: string;

beforeAll(async () => {
  await settleClockAtNoon();
  A = await partnerWithCard({ card: { issue_price: "0.01", redeem_price: "0.008" } });
  B = await partnerWithCard({ card: { issue_price: "0.01", redeem_price: "0.008" } });
  const m = await enrol(A);
  const atB = await link(A, m.ref, B);
  expectOk(await earn(A, m.ref, 500), 201); // shard 0
  expectOk(await burn(B, atB, 200), 201); // shard 0
  shard1Burn = (await bookOnShard1(A, B, 300, 100, Date.now())).burnId;
  first = await closeNow();
});

describe("a close over two shards", () => {
  it("sums both shards: issues and redemptions booked on shard 1 are in the statements and the matrix", () => {
    expect(reportStatement(first.report, A.id).points).toMatchObject({ issued: 800 });
    expect(reportStatement(first.report, B.id).points).toMatchObject({ redeemed: 300 });
    expect(first.report.matrix.find((m) => m.issuer === A.id && m.redeemer === B.id)).toMatchObject({ points: 300 });
    expect(first.report.exact.receivable).toBe("2.40"); // 300 × 0.008
  });

  it("cuts the period on shard 1 too: a booking whose clock was read before the close settles after it", async () => {
    const [row] = (
      await shard1()
        .prepare("SELECT end_at FROM settlement_periods WHERE id = ?1")
        .bind(first.report.id)
        .all<{ end_at: number }>()
    ).results;
    const end = Date.parse(first.report.period.end);
    expect(row?.end_at).toBe(end);
    const late = await bookOnShard1(A, B, 40, 0, end - 1000);
    const entry = await shard1()
      .prepare("SELECT at FROM settlement_entries WHERE txn_id = ?1")
      .bind(late.earnId)
      .first<{ at: number }>();
    expect(entry?.at).toBe(end);
    // The open period's metrics read shard 1 as well.
    const metrics = await operator("GET", "/metrics?periods=1");
    expect(metrics.status, metrics.text).toBe(200);
    expect(metrics.body.periods[0]).toMatchObject({ open: true, issued: 40 });
  });

  it("pages a partner's statement lines across both shards in one order", async () => {
    type Line = { id: string; transaction_id: string; settled_at: string };
    type Page = { data: Line[]; next_cursor: string | null };
    const pages: Line[][] = [];
    let cursor: string | null = null;
    do {
      const r: { ok: boolean; status: number; text: string; data?: Page } = await B.client.get<Page>(
        `/v1/settlements/${first.report.id}/lines?limit=1${cursor ? `&cursor=${cursor}` : ""}`,
      );
      const body: Page = expectOk(r, 200);
      pages.push(body.data);
      cursor = body.next_cursor;
    } while (cursor !== null && pages.length < 20);
    const lines = pages.flat();
    expect(lines.map((l) => l.transaction_id)).toContain(shard1Burn);
    expect(lines).toHaveLength(2); // B's burn on shard 0 and the one on shard 1
    const all = expectOk(await B.client.get<{ data: unknown[] }>(`/v1/settlements/${first.report.id}/lines?limit=100`), 200);
    expect(all.data).toEqual(lines);
  });

  it("a close whose cut fails on shard 1 stores nothing; the next close cuts there and stores the report", async () => {
    await bookOnShard1(A, B, 60, 10, Date.now());
    await nextSecond();
    const periodEnd = Math.floor(Date.now() / 1000) * 1000;
    const failing = failingBatches(shard1(), "shard 1 is unreachable");
    const brokenEnv = { ...(env as Env), SHARD_1: failing } as Env;
    await expect(closePeriods(brokenEnv, { now: periodEnd, by: "test", periodEnd })).rejects.toBeInstanceOf(ShardWriteError);
    const claimed = await env.DB.prepare(
      "SELECT p.id, (SELECT COUNT(*) FROM settlement_reports r WHERE r.id = p.id) AS stored FROM settlement_periods p WHERE end_at = ?1",
    )
      .bind(periodEnd)
      .first<{ id: string; stored: number }>();
    expect(claimed).toMatchObject({ stored: 0 });
    const onShard1 = await shard1()
      .prepare("SELECT COUNT(*) AS n FROM settlement_periods WHERE end_at = ?1")
      .bind(periodEnd)
      .first();
    expect(onShard1).toEqual({ n: 0 });

    const r = await operator("POST", "/settlements/close", { period_end: new Date(periodEnd).toISOString() });
    expect(r.status, r.text).toBe(200);
    const [report] = r.body.data as SignedReport[];
    expect(report?.id).toBe(claimed?.id);
    // 40 (the late booking) + 60 issued on shard 1; 10 redeemed there.
    expect(reportStatement(report as SignedReport, A.id).points).toMatchObject({ issued: 100 });
    expect(reportStatement(report as SignedReport, B.id).points).toMatchObject({ redeemed: 10 });
    expect(
      await shard1().prepare("SELECT COUNT(*) AS n FROM settlement_periods WHERE end_at = ?1").bind(periodEnd).first(),
    ).toEqual({
      n: 1,
    });
  });

  it("a schedule copy that fails does not fail the change it follows; the next close copies it before its cut", async () => {
    const unreachable = failingBatches(shard1(), "shard 1 is unreachable");
    await expect(copySchedule({ ...(env as Env), SHARD_1: unreachable } as Env)).resolves.toBeUndefined();
    await shard1().prepare("UPDATE settlement_config SET grace_seconds = 1").run(); // a shard that missed a change
    await nextSecond();
    const r = await operator("POST", "/settlements/close", { period_end: new Date().toISOString() });
    expect(r.status, r.text).toBe(200);
    const grace = (db: D1Database) => db.prepare("SELECT grace_seconds AS g FROM settlement_config").first("g");
    expect(await grace(shard1())).toBe(await grace(env.DB));
  });

  it("the schedule is main's on every shard, origin included; a copy older than a shard's changes nothing", async () => {
    const schedule = (db: D1Database) =>
      db.prepare("SELECT period, utc_offset_minutes, grace_seconds, origin, version FROM settlement_config").first();
    expect((await operator("PUT", "/settlement-config", { grace_seconds: 600 })).status).toBe(200);
    const main = await schedule(env.DB);
    expect(main).toMatchObject({ grace_seconds: 600 });
    expect(await schedule(shard1())).toEqual(main);
    // Shard 1 already holds a later change than the copy this PUT sends (as if copies crossed).
    await shard1().prepare("UPDATE settlement_config SET version = version + 5, grace_seconds = 700").run();
    expect((await operator("PUT", "/settlement-config", { grace_seconds: 650 })).status).toBe(200);
    expect(await schedule(shard1())).toMatchObject({ grace_seconds: 700 });
  });
});
