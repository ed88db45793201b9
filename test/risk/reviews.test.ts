import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { operator, type TestPartner } from "../support/exchange";
import { checkInvariants } from "../support/invariants";
import { runScheduledJobs } from "../support/jobs";
import { balance, partnerWithCard, sql, type TxnResult } from "../support/ledger";
import { burnAt, earnAt, enrolled, freshIp, setRules, statusOf } from "./support";

/**
 * Transactions in review (economics.md "Ledger"): an earn's points show as pending, a burn's as
 * held, until the operator approves or rejects, or the 7-day timeout rejects them.
 */

const REVIEW_RULES = [
  { id: "earn-review-100", action: "review", applies_to: "earn", subject: "transaction", max_points: 100 },
  { id: "burn-review-100", action: "review", applies_to: "burn", subject: "transaction", max_points: 100 },
];

beforeEach(async () => {
  await setRules(REVIEW_RULES);
});

afterEach(async () => {
  await checkInvariants();
});

let keys = 0;
function decide(txnId: string, decision: "approve" | "reject", key = `review-${Date.now()}-${keys++}`) {
  return operator("POST", `/reviews/${txnId}`, { decision }, { idempotencyKey: key });
}

async function inReview(r: { ok: boolean; text: string }): Promise<string> {
  expect(statusOf(r as any)).toBe("review");
  return (JSON.parse(r.text) as TxnResult).transaction.id;
}

async function partnerRow(id: string) {
  return (await sql<{ exposure_micros: number; prepaid_balance_micros: number }>("SELECT * FROM partners WHERE id = ?1", id))[0]!;
}

async function txn(p: TestPartner, id: string) {
  const r = await p.client.get<{ transaction: Record<string, unknown> }>(`/v1/transactions/${id}`);
  if (!r.ok) throw new Error(r.text);
  return r.data.transaction;
}

describe("a review earn", () => {
  it("shows as pending, not available, draws no funding; approval posts it, makes it available and draws the funding", async () => {
    const p = await partnerWithCard();
    const m = await enrolled(p);
    const before = await partnerRow(p.id);
    const id = await inReview(await earnAt(p, m.ref, 500, { ip: freshIp(), device_id: "d-review" }));
    expect((await balance(p, m.ref)).points).toEqual({ available: 0, pending: 500, held: 0 });
    expect(await sql("SELECT id FROM lots WHERE txn_id = ?1", id)).toEqual([]);
    expect((await partnerRow(p.id)).exposure_micros).toBe(before.exposure_micros);

    const queue = await operator("GET", `/reviews?partner_id=${p.id}`, undefined, { tokenOptions: { scope: "read" } });
    expect(queue.status, queue.text).toBe(200);
    expect(queue.body.data).toEqual([
      expect.objectContaining({
        transaction: expect.objectContaining({ id, status: "review", points: 500, type: "earn" }),
        rule_id: "earn-review-100",
        context: { ip: expect.any(String), device_id: "d-review" },
        decide_by: expect.stringMatching(/Z$/),
      }),
    ]);

    const key = `approve-${id}`;
    const approved = await decide(id, "approve", key);
    expect(approved.status, approved.text).toBe(200);
    expect(approved.body.transaction).toMatchObject({ id, status: "posted", points: 500 });
    expect((await balance(p, m.ref)).points).toEqual({ available: 500, pending: 0, held: 0 });
    expect((await partnerRow(p.id)).exposure_micros).toBe(before.exposure_micros + 500 * 10_000);
    expect(await txn(p, id)).toMatchObject({ status: "posted" });

    const replay = await decide(id, "approve", key);
    expect(replay.text).toBe(approved.text);
    expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
    const twice = await decide(id, "reject");
    expect({ status: twice.status, code: twice.body.error.code }).toEqual({ status: 409, code: "review_not_open" });
    const audit = await operator("GET", "/audit?action=review.approve");
    expect(audit.body.data[0]).toMatchObject({ target: id, detail: { type: "earn", points: 500, rule_id: "earn-review-100" } });
    expect((await operator("GET", `/reviews?partner_id=${p.id}`)).body.data).toEqual([]);
  });

  it("approved at a partner with pending days, it is pending until its release", async () => {
    const p = await partnerWithCard({ pending_days: 7 });
    const m = await enrolled(p);
    const id = await inReview(await earnAt(p, m.ref, 300, { ip: freshIp() }));
    const approved = await decide(id, "approve");
    expect(approved.body.transaction).toMatchObject({ status: "pending", available_at: expect.any(String) });
    expect((await balance(p, m.ref)).points).toEqual({ available: 0, pending: 300, held: 0 });
  });

  it("rejected, it is gone: nothing pending, no lot, no funding", async () => {
    const p = await partnerWithCard();
    const m = await enrolled(p);
    const before = await partnerRow(p.id);
    const id = await inReview(await earnAt(p, m.ref, 500, { ip: freshIp() }));
    const rejected = await decide(id, "reject");
    expect(rejected.status, rejected.text).toBe(200);
    expect(rejected.body.transaction).toMatchObject({ id, status: "rejected" });
    expect((await balance(p, m.ref)).points).toEqual({ available: 0, pending: 0, held: 0 });
    expect(await sql("SELECT id FROM lots WHERE txn_id = ?1", id)).toEqual([]);
    expect(await partnerRow(p.id)).toEqual(before);
    expect(await txn(p, id)).toMatchObject({ status: "rejected" });
  });

  it("an approval the partner's funding no longer covers is refused and the review stays open", async () => {
    const p = await partnerWithCard({ funding: { mode: "prepaid", balance: { value: "1.00", unit: "CNY" } } });
    const m = await enrolled(p);
    const id = await inReview(await earnAt(p, m.ref, 200, { ip: freshIp() })); // 2.00 CNY at 0.010
    const refused = await decide(id, "approve");
    expect({ status: refused.status, code: refused.body.error.code }).toEqual({ status: 422, code: "partner_funds_exhausted" });
    expect(await txn(p, id)).toMatchObject({ status: "review" });
    expect((await decide(id, "reject")).status).toBe(200);
  });
});

describe("a review burn", () => {
  async function funded() {
    const p = await partnerWithCard();
    const m = await enrolled(p);
    expect(statusOf(await earnAt(p, m.ref, 100, { ip: freshIp() }))).toBe("posted");
    expect(statusOf(await earnAt(p, m.ref, 100, { ip: freshIp() }))).toBe("posted");
    return { p, m };
  }

  it("holds its points; approval posts it", async () => {
    const { p, m } = await funded();
    const id = await inReview(await burnAt(p, m.ref, 150, { ip: freshIp() }));
    expect((await balance(p, m.ref)).points).toEqual({ available: 50, pending: 0, held: 150 });
    const approved = await decide(id, "approve");
    expect(approved.status, approved.text).toBe(200);
    expect(approved.body.transaction).toMatchObject({ id, status: "posted", points: 150 });
    expect((await balance(p, m.ref)).points).toEqual({ available: 50, pending: 0, held: 0 });
    expect(await sql("SELECT SUM(points) AS n FROM lot_movements WHERE txn_id = ?1 AND kind = 'capture'", id)).toEqual([
      { n: 150 },
    ]);
  });

  it("rejected, its points are released", async () => {
    const { p, m } = await funded();
    const id = await inReview(await burnAt(p, m.ref, 150, { ip: freshIp() }));
    const rejected = await decide(id, "reject");
    expect(rejected.body.transaction).toMatchObject({ id, status: "voided" });
    expect((await balance(p, m.ref)).points).toEqual({ available: 200, pending: 0, held: 0 });
    expect(statusOf(await burnAt(p, m.ref, 100, { ip: freshIp() }))).toBe("posted");
  });

  it("a hold (capture: false) in review becomes an open hold when approved, which the partner can capture", async () => {
    const { p, m } = await funded();
    const id = await inReview(await burnAt(p, m.ref, 120, { ip: freshIp() }, { capture: false }));
    const approved = await decide(id, "approve");
    expect(approved.body.transaction).toMatchObject({ id, status: "held", expires_at: expect.any(String) });
    expect((await balance(p, m.ref)).points).toEqual({ available: 80, pending: 0, held: 120 });
    const captured = await p.client.post<TxnResult>(`/v1/burns/${id}/capture`, {});
    expect(captured.status, captured.text).toBe(200);
    expect((await balance(p, m.ref)).points).toEqual({ available: 80, pending: 0, held: 0 });
  });

  it("cannot be captured or voided by the partner while in review", async () => {
    const { p, m } = await funded();
    const id = await inReview(await burnAt(p, m.ref, 120, { ip: freshIp() }, { capture: false }));
    const captured = await p.client.post(`/v1/burns/${id}/capture`, {});
    expect(captured.status).toBe(409);
    expect((await decide(id, "reject")).status).toBe(200);
  });
});

describe("the review queue", () => {
  it("lists oldest first, pages, filters by type; unknown and decided transactions answer 404 and 409", async () => {
    const p = await partnerWithCard();
    const m = await enrolled(p);
    expect(statusOf(await earnAt(p, m.ref, 100, { ip: freshIp() }))).toBe("posted");
    expect(statusOf(await earnAt(p, m.ref, 100, { ip: freshIp() }))).toBe("posted");
    const ids = [
      await inReview(await earnAt(p, m.ref, 101, { ip: freshIp() })),
      await inReview(await earnAt(p, m.ref, 102, { ip: freshIp() })),
      await inReview(await burnAt(p, m.ref, 101, { ip: freshIp() })),
    ];
    const first = await operator("GET", `/reviews?partner_id=${p.id}&limit=2`);
    expect(first.body.data.map((r: any) => r.transaction.id)).toEqual(ids.slice(0, 2));
    const second = await operator("GET", `/reviews?partner_id=${p.id}&limit=2&cursor=${first.body.next_cursor}`);
    expect(second.body.data.map((r: any) => r.transaction.id)).toEqual(ids.slice(2));
    expect(second.body.next_cursor).toBeNull();
    const burns = await operator("GET", `/reviews?partner_id=${p.id}&type=burn`);
    expect(burns.body.data.map((r: any) => r.transaction.id)).toEqual([ids[2]]);

    const unknown = await decide("txn_doesnotexist", "approve");
    expect({ status: unknown.status, code: unknown.body.error.code }).toEqual({ status: 404, code: "review_not_found" });
    const posted = (
      await sql<{ id: string }>("SELECT id FROM transactions WHERE member_id = ?1 AND status = 'posted'", m.memberId)
    )[0]!;
    const notOpen = await decide(posted.id, "approve");
    expect({ status: notOpen.status, code: notOpen.body.error.code }).toEqual({ status: 409, code: "review_not_open" });
    const noKey = await operator("POST", `/reviews/${ids[0]}`, { decision: "approve" });
    expect({ status: noKey.status, code: noKey.body.error.code }).toEqual({ status: 400, code: "idempotency_key_missing" });
    for (const id of ids) expect((await decide(id, "reject")).status).toBe(200);
  });
});

describe("the 7-day timeout", () => {
  it("the scheduled job rejects reviews older than 7 days (releasing a burn's points); a timed-out review can no longer be approved", async () => {
    const p = await partnerWithCard();
    const m = await enrolled(p);
    expect(statusOf(await earnAt(p, m.ref, 100, { ip: freshIp() }))).toBe("posted");
    expect(statusOf(await earnAt(p, m.ref, 100, { ip: freshIp() }))).toBe("posted");
    const oldEarn = await inReview(await earnAt(p, m.ref, 400, { ip: freshIp() }));
    const oldBurn = await inReview(await burnAt(p, m.ref, 150, { ip: freshIp() }));
    const fresh = await inReview(await earnAt(p, m.ref, 300, { ip: freshIp() }));
    const eightDaysAgo = Date.now() - 8 * 86_400_000;
    await sql("UPDATE transactions SET booked_at = ?1 WHERE id IN (?2, ?3)", eightDaysAgo, oldEarn, oldBurn);

    const late = await decide(oldEarn, "approve");
    expect({ status: late.status, code: late.body.error.code }).toEqual({ status: 409, code: "review_not_open" });
    expect((await balance(p, m.ref)).points).toEqual({ available: 50, pending: 700, held: 150 });

    await runScheduledJobs();
    expect(await txn(p, oldEarn)).toMatchObject({ status: "rejected" });
    expect(await txn(p, oldBurn)).toMatchObject({ status: "voided" });
    expect(await txn(p, fresh)).toMatchObject({ status: "review" });
    expect((await balance(p, m.ref)).points).toEqual({ available: 200, pending: 300, held: 0 });
    await runScheduledJobs();
    expect((await decide(fresh, "approve")).status).toBe(200);
  });
});
