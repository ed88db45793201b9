import { afterEach, describe, expect, it } from "vitest";
import { checkInvariants } from "../support/invariants";
import { runScheduledJobs } from "../support/jobs";
import { accountBalance, balance, burn, earn, enrol, expectOk, link, partnerWithCard, sql } from "../support/ledger";
import {
  capture,
  DAY_MS,
  expectError,
  getTransaction,
  hold,
  lotOf,
  memberRow,
  reverse,
  rfc3339,
  txnRow,
  voidHold,
} from "../support/ledger-flows";

afterEach(async () => {
  await checkInvariants();
});

async function memberWith(points: number) {
  const p = await partnerWithCard();
  const { ref, memberId } = await enrol(p);
  const e = expectOk(await earn(p, ref, points), 201);
  return { p, ref, memberId, earnId: e.transaction.id };
}

describe("earn reversals", () => {
  it("reverses a whole earn, then answers 409 nothing_to_reverse", async () => {
    const { p, memberId, earnId } = await memberWith(100);
    const r = expectOk(
      await p.client.post<{ transaction: Record<string, unknown>; balance: { points: Record<string, number> } }>(
        `/v1/transactions/${earnId}/reversals`,
        { reason: "order cancelled" },
      ),
      201,
    );
    expect(r.transaction).toMatchObject({
      type: "reversal",
      status: "posted",
      points: 100,
      member_id: memberId,
      original_transaction_id: earnId,
      partner: { id: p.id },
    });
    expect(r.balance.points).toEqual({ available: 0, pending: 0, held: 0 });
    expect((await lotOf(earnId)).remaining).toBe(0);
    expectError(await reverse(p, earnId), 409, "nothing_to_reverse");
    expectError(await reverse(p, earnId, 1), 409, "nothing_to_reverse");
    // The reversal is a transaction of its own; the earn is unchanged.
    expect(expectOk(await getTransaction(p, r.transaction.id as string)).transaction.type).toBe("reversal");
    expect(expectOk(await getTransaction(p, earnId)).transaction).toMatchObject({ type: "earn", status: "posted", points: 100 });
  });

  it("reverses an earn in parts until nothing is left", async () => {
    const { p, ref, earnId } = await memberWith(100);
    expect(expectOk(await reverse(p, earnId, 30), 201).balance.points.available).toBe(70);
    expect(expectOk(await reverse(p, earnId, 50), 201).balance.points.available).toBe(20);
    expectError(await reverse(p, earnId, 21), 409, "nothing_to_reverse");
    const rest = expectOk(await reverse(p, earnId), 201);
    expect(rest.transaction.points).toBe(20);
    expect(rest.balance.points.available).toBe(0);
    expectError(await reverse(p, earnId), 409, "nothing_to_reverse");
    expect((await balance(p, ref)).points.available).toBe(0);
  });

  it("turns spent points into debt that later earns repay first, and brings it back when the repaying earn is reversed", async () => {
    const { p, ref, memberId, earnId } = await memberWith(100);
    expectOk(await burn(p, ref, 80), 201);
    const r = expectOk(await reverse(p, earnId), 201);
    expect(r.transaction.points).toBe(100);
    expect(r.balance.points.available).toBe(-80);
    expect((await memberRow(memberId)).debt_points).toBe(80);

    // Negative available: nothing can be burned.
    expectError(await burn(p, ref, 1), 422, "insufficient_points");

    const e2 = expectOk(await earn(p, ref, 50), 201);
    expect(e2.balance.points.available).toBe(-30);
    expect((await memberRow(memberId)).debt_points).toBe(30);
    expect((await lotOf(e2.transaction.id)).remaining).toBe(0);

    const e3 = expectOk(await earn(p, ref, 100), 201);
    expect(e3.balance.points.available).toBe(70);
    expect((await memberRow(memberId)).debt_points).toBe(0);
    expect((await lotOf(e3.transaction.id)).remaining).toBe(70);

    // Reversing e3 takes back its 70 and brings back the 30 of debt it repaid.
    const back = expectOk(await reverse(p, e3.transaction.id), 201);
    expect(back.balance.points.available).toBe(-30);
    expect((await memberRow(memberId)).debt_points).toBe(30);
    expect((await lotOf(e3.transaction.id)).remaining).toBe(0);
  });

  it("repays debt from points restored by a burn reversal", async () => {
    const { p, ref, memberId, earnId } = await memberWith(100);
    const b = expectOk(await burn(p, ref, 60), 201);
    expect(expectOk(await reverse(p, earnId), 201).balance.points.available).toBe(-60);
    const r = expectOk(await reverse(p, b.transaction.id, 40), 201);
    expect(r.balance.points.available).toBe(-20);
    expect((await memberRow(memberId)).debt_points).toBe(20);
  });

  it("takes back expired points out of breakage", async () => {
    const { p, ref, earnId } = await memberWith(100);
    await sql("UPDATE lots SET expires_at = ? WHERE txn_id = ?", Date.now() - 1000, earnId);
    await runScheduledJobs();
    expect((await lotOf(earnId)).expired).toBe(100);
    const r = expectOk(await reverse(p, earnId), 201);
    expect(r.balance.points.available).toBe(0);
    expect((await lotOf(earnId)).expired).toBe(0);
    expect(await accountBalance("breakage")).toBe(0);
    expect((await balance(p, ref)).points.available).toBe(0);
  });
});

describe("earn reversals and holds", () => {
  it("makes points reserved by an open hold debt", async () => {
    const { p, ref, memberId, earnId } = await memberWith(100);
    const h = expectOk(await hold(p, ref, 40), 201).transaction.id;
    const r = expectOk(await reverse(p, earnId), 201);
    expect(r.balance.points).toEqual({ available: -40, pending: 0, held: 40 });
    expect((await memberRow(memberId)).debt_points).toBe(40);
    // Capturing the hold spends the reserved points; the debt stays.
    expectOk(await capture(p, h), 200);
    expect((await balance(p, ref)).points).toEqual({ available: -40, pending: 0, held: 0 });
  });

  it("takes back the points of a hold past its expiry (released at its timestamp), without debt", async () => {
    const { p, ref, memberId, earnId } = await memberWith(100);
    const h = expectOk(await hold(p, ref, 40), 201).transaction.id;
    await sql("UPDATE transactions SET expires_at = ? WHERE id = ?", Date.now() - 1000, h);
    // The hold is no longer open as seen by any request: its 40 points are unreserved.
    expect((await balance(p, ref)).points).toEqual({ available: 100, pending: 0, held: 0 });
    const r = expectOk(await reverse(p, earnId), 201);
    expect(r.balance.points).toEqual({ available: 0, pending: 0, held: 0 });
    expect((await memberRow(memberId)).debt_points).toBe(0);
    expect(
      (
        await sql<{ n: number }>(
          "SELECT COALESCE(SUM(points), 0) AS n FROM lot_movements WHERE txn_id = ? AND kind = 'take_back'",
          r.transaction.id,
        )
      )[0]?.n,
    ).toBe(100);
    await runScheduledJobs();
    expect((await txnRow(h)).status).toBe("voided");
    expect((await balance(p, ref)).points).toEqual({ available: 0, pending: 0, held: 0 });
    expect((await memberRow(memberId)).debt_points).toBe(0);
  });
});

describe("burn reversals", () => {
  it("restores the consumed lots with their original expiry, last consumed first", async () => {
    const p = await partnerWithCard();
    const { ref } = await enrol(p);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(expectOk(await earn(p, ref, 100), 201).transaction.id);
    const base = Math.floor(Date.now() / 1000) * 1000 + 60 * DAY_MS;
    const expiries = [base + DAY_MS, base + 2 * DAY_MS, base + 3 * DAY_MS];
    for (let i = 0; i < 3; i++) await sql("UPDATE lots SET expires_at = ? WHERE txn_id = ?", expiries[i], ids[i]);

    const b = expectOk(await burn(p, ref, 250), 201);
    const lots = async () => {
      const out: { remaining: number; expires_at: number }[] = [];
      for (const id of ids) {
        const l = await lotOf(id);
        out.push({ remaining: l.remaining, expires_at: l.expires_at });
      }
      return out;
    };
    expect(await lots()).toEqual([
      { remaining: 0, expires_at: expiries[0] },
      { remaining: 0, expires_at: expiries[1] },
      { remaining: 50, expires_at: expiries[2] },
    ]);

    // 120 back: the last consumed lot (50 of the third) first, then 70 of the second.
    const r1 = expectOk(await reverse(p, b.transaction.id, 120), 201);
    expect(r1.balance.points.available).toBe(170);
    expect(await lots()).toEqual([
      { remaining: 0, expires_at: expiries[0] },
      { remaining: 70, expires_at: expiries[1] },
      { remaining: 100, expires_at: expiries[2] },
    ]);
    const restores = await sql<{ lot_id: number; points: number }>(
      "SELECT lot_id, points FROM lot_movements WHERE txn_id = ? AND kind = 'restore' ORDER BY n",
      r1.transaction.id,
    );
    expect(restores).toEqual([
      { lot_id: (await lotOf(ids[2]!)).id, points: 50 },
      { lot_id: (await lotOf(ids[1]!)).id, points: 70 },
    ]);

    const r2 = expectOk(await reverse(p, b.transaction.id), 201);
    expect(r2.transaction.points).toBe(130);
    expect(await lots()).toEqual([
      { remaining: 100, expires_at: expiries[0] },
      { remaining: 100, expires_at: expiries[1] },
      { remaining: 100, expires_at: expiries[2] },
    ]);
    expect(r2.balance.points.available).toBe(300);
    expectError(await reverse(p, b.transaction.id), 409, "nothing_to_reverse");
    // The expiring list shows the restored lots with their own expiries.
    expect((await balance(p, ref)).expiring).toEqual(expiries.map((at) => ({ points: 100, expires_at: rfc3339(at) })));
  });

  it("reverses the captured part of a hold only", async () => {
    const { p, ref } = await memberWith(100);
    const h = expectOk(await hold(p, ref, 40), 201).transaction.id;
    expectOk(await capture(p, h, 25), 200);
    expectError(await reverse(p, h, 26), 409, "nothing_to_reverse");
    expect(expectOk(await reverse(p, h), 201).transaction.points).toBe(25);
    expect((await balance(p, ref)).points.available).toBe(100);
  });

  it("answers 409 nothing_to_reverse for a hold still held or voided", async () => {
    const { p, ref } = await memberWith(100);
    const held = expectOk(await hold(p, ref, 40), 201).transaction.id;
    expectError(await reverse(p, held), 409, "nothing_to_reverse");
    const voided = expectOk(await hold(p, ref, 10), 201).transaction.id;
    expectOk(await voidHold(p, voided), 200);
    expectError(await reverse(p, voided), 409, "nothing_to_reverse");
    expect((await balance(p, ref)).points).toEqual({ available: 60, pending: 0, held: 40 });
  });
});

describe("whose transactions", () => {
  it("answers 404 transaction_not_found for another partner's transaction, even of a shared member", async () => {
    const a = await partnerWithCard();
    const b = await partnerWithCard();
    const { ref } = await enrol(a);
    const refB = await link(a, ref, b);
    const e = expectOk(await earn(a, ref, 100), 201).transaction.id;
    expectError(await reverse(b, e), 404, "transaction_not_found");
    expectError(await getTransaction(b, e), 404, "transaction_not_found");
    expectError(await reverse(b, "txn_unknown"), 404, "transaction_not_found");
    expect((await balance(b, refB)).points.available).toBe(100);
  });
});
