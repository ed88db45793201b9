import { afterEach, describe, expect, it } from "vitest";
import { checkInvariants } from "../support/invariants";
import { runScheduledJobs } from "../support/jobs";
import { accountBalance, balance, burn, earn, enrol, expectOk, partnerWithCard, sql } from "../support/ledger";
import {
  type Balance,
  capture,
  DAY_MS,
  expectError,
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

async function breakage(): Promise<number> {
  return accountBalance("breakage");
}

async function expiryTransactions(memberId: string) {
  return sql<{ id: string; type: string; status: string; points: number; partner_id: string }>(
    "SELECT id, type, status, points, partner_id FROM transactions WHERE member_id = ? AND type = 'expiry' ORDER BY booked_at, id",
    memberId,
  );
}

describe("lot expiry", () => {
  it("sets a lot's expiry to the end of the UTC month 24 months after booking", async () => {
    const p = await partnerWithCard();
    const { ref } = await enrol(p);
    const e = expectOk(await earn(p, ref, 10), 201);
    const booked = (await txnRow(e.transaction.id)).booked_at;
    const d = new Date(booked);
    expect((await lotOf(e.transaction.id)).expires_at).toBe(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 25, 1) - 1000);
  });

  it("takes a lot past its expiry out of available at once, and the job moves it to breakage", async () => {
    const p = await partnerWithCard();
    const { ref, memberId } = await enrol(p);
    const old = expectOk(await earn(p, ref, 100), 201).transaction.id;
    expectOk(await earn(p, ref, 50), 201);
    const breakageBefore = await breakage();
    await sql("UPDATE lots SET expires_at = ? WHERE txn_id = ?", Date.now() - 1000, old);

    // Before any job: not spendable, not in available, not listed as expiring.
    const b = (await balance(p, ref)) as Balance;
    expect(b.points).toEqual({ available: 50, pending: 0, held: 0 });
    expect(b.expiring).toEqual([]);
    expectError(await burn(p, ref, 51), 422, "insufficient_points");
    expect((await lotOf(old)).remaining).toBe(100);

    await runScheduledJobs();
    const expired = await expiryTransactions(memberId);
    expect(expired).toEqual([
      { id: expect.stringMatching(/^txn_/), type: "expiry", status: "posted", points: 100, partner_id: p.id },
    ]);
    expect(await lotOf(old)).toMatchObject({ remaining: 0, expired: 100 });
    expect(await breakage()).toBe(breakageBefore + 100);
    expect(await sql("SELECT kind, points FROM lot_movements WHERE txn_id = ?", expired[0]!.id)).toEqual([
      { kind: "expire", points: 100 },
    ]);
    expect((await balance(p, ref)).points).toEqual({ available: 50, pending: 0, held: 0 });

    // The job is idempotent.
    await runScheduledJobs();
    expect(await expiryTransactions(memberId)).toHaveLength(1);
    expect(await breakage()).toBe(breakageBefore + 100);
    expect(expectOk(await burn(p, ref, 50), 201).balance.points.available).toBe(0);
  });

  it("lists points expiring within 90 days, soonest first, grouped by expiry", async () => {
    const p = await partnerWithCard();
    const { ref } = await enrol(p);
    const ids: string[] = [];
    for (const points of [30, 5, 20, 40, 7]) ids.push(expectOk(await earn(p, ref, points), 201).transaction.id);
    const base = Math.floor(Date.now() / 1000) * 1000;
    const in40 = base + 40 * DAY_MS;
    const in10 = base + 10 * DAY_MS;
    const in100 = base + 100 * DAY_MS;
    await sql("UPDATE lots SET expires_at = ? WHERE txn_id = ?", in40, ids[0]);
    await sql("UPDATE lots SET expires_at = ? WHERE txn_id = ?", in10, ids[1]);
    await sql("UPDATE lots SET expires_at = ? WHERE txn_id = ?", in10, ids[2]);
    await sql("UPDATE lots SET expires_at = ? WHERE txn_id = ?", in100, ids[3]);
    // ids[4] keeps its default expiry (about two years away).
    const b = (await balance(p, ref)) as Balance;
    expect(b.points.available).toBe(102);
    expect(b.expiring).toEqual([
      { points: 25, expires_at: rfc3339(in10) },
      { points: 30, expires_at: rfc3339(in40) },
    ]);
    // A burn takes the soonest-expiring points first, so the list shrinks from the front.
    expectOk(await burn(p, ref, 27), 201);
    expect(((await balance(p, ref)) as Balance).expiring).toEqual([{ points: 28, expires_at: rfc3339(in40) }]);
  });

  it("does not expire points reserved by a hold; released onto an expired lot they expire at once", async () => {
    const p = await partnerWithCard();
    const { ref, memberId } = await enrol(p);
    const e = expectOk(await earn(p, ref, 100), 201).transaction.id;
    const h1 = expectOk(await hold(p, ref, 40), 201).transaction.id;
    await sql("UPDATE lots SET expires_at = ? WHERE txn_id = ?", Date.now() - 1000, e);
    expect((await balance(p, ref)).points).toEqual({ available: 0, pending: 0, held: 40 });

    await runScheduledJobs();
    expect((await expiryTransactions(memberId)).map((t) => t.points)).toEqual([60]);
    expect((await txnRow(h1)).status).toBe("held");

    // Capturing part of the hold consumes the reserved points; the rest goes back to the expired lot.
    const c = expectOk(await capture(p, h1, 30), 200);
    expect(c.balance.points).toEqual({ available: 0, pending: 0, held: 0 });
    expect((await lotOf(e)).remaining).toBe(10);
    await runScheduledJobs();
    expect((await expiryTransactions(memberId)).map((t) => t.points)).toEqual([60, 10]);
    expect(await lotOf(e)).toMatchObject({ remaining: 0, expired: 70 });
  });

  it("restores a reversed burn onto an expired lot as expired points", async () => {
    const p = await partnerWithCard();
    const { ref, memberId } = await enrol(p);
    const e = expectOk(await earn(p, ref, 100), 201).transaction.id;
    const b = expectOk(await burn(p, ref, 30), 201).transaction.id;
    await sql("UPDATE lots SET expires_at = ? WHERE txn_id = ?", Date.now() - 1000, e);
    await runScheduledJobs();
    const r = expectOk(await reverse(p, b), 201);
    expect(r.balance.points.available).toBe(0);
    await runScheduledJobs();
    expect((await expiryTransactions(memberId)).map((t) => t.points)).toEqual([70, 30]);
    expect(await lotOf(e)).toMatchObject({ remaining: 0, expired: 100 });
  });

  it("does not repay debt with points restored onto an expired lot", async () => {
    const p = await partnerWithCard();
    const { ref, memberId } = await enrol(p);
    const e1 = expectOk(await earn(p, ref, 100), 201).transaction.id;
    const e2 = expectOk(await earn(p, ref, 50), 201).transaction.id;
    // e1 expires first, so the burn consumes it first.
    await sql("UPDATE lots SET expires_at = ? WHERE txn_id = ?", Date.now() + 10 * DAY_MS, e1);
    const b = expectOk(await burn(p, ref, 150), 201).transaction.id;
    // e2's points were spent: reversing it leaves a debt of 50.
    expect(expectOk(await reverse(p, e2), 201).balance.points.available).toBe(-50);
    // e1's lot reaches its expiry (nothing left in it to expire).
    await sql("UPDATE lots SET expires_at = ? WHERE txn_id = ?", Date.now() - 1000, e1);
    // Reversing 100 of the burn restores 50 onto e2's live lot, then 50 onto e1's expired lot:
    // only the live points reach the member and repay the debt; the others expire at once.
    const r = expectOk(await reverse(p, b, 100), 201);
    expect(r.balance.points.available).toBe(0);
    expect((await memberRow(memberId)).debt_points).toBe(0);
    await runScheduledJobs();
    expect((await expiryTransactions(memberId)).map((t) => t.points)).toEqual([50]);
    expect((await balance(p, ref)).points.available).toBe(0);
  });

  it("voids an expired hold in the job and gives the points back with their expiry", async () => {
    const p = await partnerWithCard();
    const { ref } = await enrol(p);
    const e = expectOk(await earn(p, ref, 100), 201).transaction.id;
    const h = expectOk(await hold(p, ref, 40), 201).transaction.id;
    const other = expectOk(await hold(p, ref, 10), 201).transaction.id;
    await sql("UPDATE transactions SET expires_at = ? WHERE id = ?", Date.now() - 1000, h);
    await runScheduledJobs();
    expect((await txnRow(h)).status).toBe("voided");
    expect((await txnRow(other)).status).toBe("held");
    expect((await lotOf(e)).remaining).toBe(90);
    expect((await balance(p, ref)).points).toEqual({ available: 90, pending: 0, held: 10 });
    expectOk(await voidHold(p, other), 200);
  });
});
