import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { checkInvariants } from "../support/invariants";
import { runScheduledJobs } from "../support/jobs";
import { balance, burn, CONTEXT, earn, enrol, expectOk, link, partnerWithCard, sql } from "../support/ledger";
import {
  capture,
  countTransactions,
  DAY_MS,
  expectError,
  getTransaction,
  hold,
  lotOf,
  txnRow,
  voidHold,
} from "../support/ledger-flows";

afterEach(async () => {
  await checkInvariants();
});

async function memberWith(points: number, opts: Parameters<typeof partnerWithCard>[0] = {}) {
  const p = await partnerWithCard(opts);
  const { ref, memberId } = await enrol(p);
  const e = expectOk(await earn(p, ref, points), 201);
  return { p, ref, memberId, earnId: e.transaction.id };
}

async function movements(txnId: string) {
  return sql<{
    kind: string;
    points: number;
    issuer_id: string;
    redeemer_id: string | null;
    issue_price_micros: number;
    lot_id: number;
  }>(
    "SELECT kind, points, issuer_id, redeemer_id, issue_price_micros, lot_id FROM lot_movements WHERE txn_id = ? ORDER BY n",
    txnId,
  );
}

describe("burns", () => {
  it("burns by points and leaves the rest available", async () => {
    const { p, ref } = await memberWith(300);
    const r = expectOk(await burn(p, ref, 120, { order_ref: "B-1" }), 201);
    expect(r.transaction).toMatchObject({ type: "burn", status: "posted", points: 120, order_ref: "B-1" });
    expect(r.balance.points).toEqual({ available: 180, pending: 0, held: 0 });
    expect((await balance(p, ref)).points.available).toBe(180);
  });

  it("burns by amount, rounding the points needed up", async () => {
    const { p, ref } = await memberWith(300);
    const r = expectOk(
      await p.client.post<{ transaction: Record<string, unknown>; balance: { points: { available: number } } }>("/v1/burns", {
        member_ref: ref,
        amount: { value: "1.001", unit: "CNY" },
        context: CONTEXT,
      }),
      201,
    );
    expect(r.transaction).toMatchObject({ points: 101, amount: { value: "1.001", unit: "CNY" }, rate: "0.01", status: "posted" });
    expect(r.balance.points.available).toBe(199);
    // A unit this partner does not redeem.
    const other = await p.client.post("/v1/burns", { member_ref: ref, amount: { value: "1.00", unit: "USD" }, context: CONTEXT });
    expectError(other, 422, "unknown_unit");
    expect((await balance(p, ref)).points.available).toBe(199);
  });

  it("consumes lots FIFO by expiry, then by age, across issuers", async () => {
    const a = await partnerWithCard({ card: { issue_price: "0.010" } });
    const b = await partnerWithCard({ card: { issue_price: "0.020", redeem_price: "0.015" } });
    const { ref: refA } = await enrol(a);
    const refB = await link(a, refA, b);
    const a1 = expectOk(await earn(a, refA, 30), 201).transaction.id;
    const b1 = expectOk(await earn(b, refB, 30), 201).transaction.id;

    // Same expiry (same booking month): the older lot first.
    const first = expectOk(await burn(a, refA, 40), 201);
    expect(await movements(first.transaction.id)).toEqual([
      {
        kind: "consume",
        points: 30,
        issuer_id: a.id,
        redeemer_id: a.id,
        issue_price_micros: 10_000,
        lot_id: (await lotOf(a1)).id,
      },
      {
        kind: "consume",
        points: 10,
        issuer_id: b.id,
        redeemer_id: a.id,
        issue_price_micros: 20_000,
        lot_id: (await lotOf(b1)).id,
      },
    ]);

    // A newer lot that expires sooner goes first.
    const a2 = expectOk(await earn(a, refA, 100), 201).transaction.id;
    const b2 = expectOk(await earn(b, refB, 100), 201).transaction.id;
    const soon = Date.now() + 30 * DAY_MS;
    await sql("UPDATE lots SET expires_at = ? WHERE txn_id = ?", soon, b2);
    // Remaining: b1 20 (default expiry), a2 100 (default expiry), b2 100 (expires soonest).
    const second = expectOk(await burn(b, refB, 150), 201);
    expect(await movements(second.transaction.id)).toEqual([
      {
        kind: "consume",
        points: 100,
        issuer_id: b.id,
        redeemer_id: b.id,
        issue_price_micros: 20_000,
        lot_id: (await lotOf(b2)).id,
      },
      {
        kind: "consume",
        points: 20,
        issuer_id: b.id,
        redeemer_id: b.id,
        issue_price_micros: 20_000,
        lot_id: (await lotOf(b1)).id,
      },
      {
        kind: "consume",
        points: 30,
        issuer_id: a.id,
        redeemer_id: b.id,
        issue_price_micros: 10_000,
        lot_id: (await lotOf(a2)).id,
      },
    ]);
    expect((await lotOf(a2)).remaining).toBe(70);
    expect((await balance(a, refA)).points.available).toBe(70);
  });

  it("answers 422 insufficient_points and changes nothing", async () => {
    const { p, ref, memberId, earnId } = await memberWith(100);
    const before = {
      txns: await countTransactions(memberId),
      transfers: await sql("SELECT COUNT(*) AS n FROM transfers"),
      movements: await sql("SELECT COUNT(*) AS n FROM lot_movements"),
      balance: (await balance(p, ref)).points,
    };
    expectError(await burn(p, ref, 101), 422, "insufficient_points");
    expectError(await hold(p, ref, 101), 422, "insufficient_points");
    expect({
      txns: await countTransactions(memberId),
      transfers: await sql("SELECT COUNT(*) AS n FROM transfers"),
      movements: await sql("SELECT COUNT(*) AS n FROM lot_movements"),
      balance: (await balance(p, ref)).points,
    }).toEqual(before);
    expect((await lotOf(earnId)).remaining).toBe(100);
    // Exactly the available points can be burned.
    expect(expectOk(await burn(p, ref, 100), 201).balance.points.available).toBe(0);
  });
});

describe("holds", () => {
  it("places a hold that reserves points until now + hold_ttl_seconds", async () => {
    const { p, ref } = await memberWith(100, { hold_ttl_seconds: 600 });
    const h = expectOk(await hold(p, ref, 40), 201);
    expect(h.transaction).toMatchObject({ type: "burn", status: "held", points: 40 });
    expect(h.balance.points).toEqual({ available: 60, pending: 0, held: 40 });
    const row = await txnRow(h.transaction.id);
    expect(row.expires_at! - row.booked_at).toBe(600_000);
    expect(Date.parse(h.transaction.expires_at as string) - Date.parse(h.transaction.created_at as string)).toBe(600_000);
    // Held points are not spendable.
    expectError(await burn(p, ref, 61), 422, "insufficient_points");
  });

  it("uses a 15-minute hold TTL by default", async () => {
    const { p, ref } = await memberWith(100);
    const h = expectOk(await hold(p, ref, 10), 201);
    const row = await txnRow(h.transaction.id);
    expect(row.expires_at! - row.booked_at).toBe(900_000);
  });

  it("captures a hold in full", async () => {
    const { p, ref } = await memberWith(100);
    const h = expectOk(await hold(p, ref, 40), 201);
    const c = expectOk(await capture(p, h.transaction.id), 200);
    expect(c.transaction).toMatchObject({ id: h.transaction.id, status: "posted", points: 40 });
    expect(c.balance.points).toEqual({ available: 60, pending: 0, held: 0 });
    const captured = (await movements(h.transaction.id)).filter((m) => m.kind === "capture");
    expect(captured.reduce((s, m) => s + m.points, 0)).toBe(40);
  });

  it("captures part of a hold and releases the rest", async () => {
    const { p, ref, earnId } = await memberWith(100);
    const h = expectOk(await hold(p, ref, 40), 201);
    const c = expectOk(await capture(p, h.transaction.id, 25), 200);
    expect(c.transaction).toMatchObject({ id: h.transaction.id, status: "posted", captured_points: 25 });
    expect(c.balance.points).toEqual({ available: 75, pending: 0, held: 0 });
    expect((await lotOf(earnId)).remaining).toBe(75);
    expect((await txnRow(h.transaction.id)).captured_points).toBe(25);
    // Capturing more than held is refused.
    const h2 = expectOk(await hold(p, ref, 10), 201);
    const tooMuch = await capture(p, h2.transaction.id, 11);
    expect(tooMuch.status).toBe(400);
  });

  it("voids a hold and gives the points back", async () => {
    const { p, ref, earnId } = await memberWith(100);
    const h = expectOk(await hold(p, ref, 40), 201);
    const v = expectOk(await voidHold(p, h.transaction.id), 200);
    expect(v.transaction).toMatchObject({ id: h.transaction.id, status: "voided" });
    expect(v.balance.points).toEqual({ available: 100, pending: 0, held: 0 });
    expect((await lotOf(earnId)).remaining).toBe(100);
  });

  it("answers 409 hold_not_open to capture after void, void after capture and a second capture", async () => {
    const { p, ref } = await memberWith(100);
    const voided = expectOk(await hold(p, ref, 10), 201).transaction.id;
    expectOk(await voidHold(p, voided), 200);
    expectError(await capture(p, voided), 409, "hold_not_open");
    expectError(await voidHold(p, voided), 409, "hold_not_open");

    const captured = expectOk(await hold(p, ref, 10), 201).transaction.id;
    expectOk(await capture(p, captured), 200);
    expectError(await voidHold(p, captured), 409, "hold_not_open");
    expectError(await capture(p, captured), 409, "hold_not_open");

    // A posted burn is not a hold either.
    const posted = expectOk(await burn(p, ref, 10), 201).transaction.id;
    expectError(await capture(p, posted), 409, "hold_not_open");
    expect((await balance(p, ref)).points).toEqual({ available: 80, pending: 0, held: 0 });
  });

  it("answers 404 transaction_not_found for another partner's hold", async () => {
    const { p, ref } = await memberWith(100);
    const other = await partnerWithCard();
    const h = expectOk(await hold(p, ref, 10), 201).transaction.id;
    expectError(await capture(other, h), 404, "transaction_not_found");
    expectError(await voidHold(other, h), 404, "transaction_not_found");
    expect((await txnRow(h)).status).toBe("held");
  });

  it("treats a hold past its expiry as voided before any job runs, then the job voids it", async () => {
    const { p, ref, earnId } = await memberWith(100);
    const h = expectOk(await hold(p, ref, 40), 201).transaction.id;
    await env.DB.prepare("UPDATE transactions SET expires_at = ? WHERE id = ?")
      .bind(Date.now() - 1000, h)
      .run();

    expectError(await capture(p, h), 409, "hold_not_open");
    expectError(await voidHold(p, h), 409, "hold_not_open");
    expect(expectOk(await getTransaction(p, h)).transaction.status).toBe("voided");
    expect((await balance(p, ref)).points).toEqual({ available: 100, pending: 0, held: 0 });
    expect((await txnRow(h)).status).toBe("held");

    await runScheduledJobs();
    expect((await txnRow(h)).status).toBe("voided");
    expect((await lotOf(earnId)).remaining).toBe(100);
    expect((await movements(h)).filter((m) => m.kind === "release").reduce((s, m) => s + m.points, 0)).toBe(40);
    expect((await balance(p, ref)).points).toEqual({ available: 100, pending: 0, held: 0 });
    expect(expectOk(await getTransaction(p, h)).transaction.status).toBe("voided");
  });

  it("lets the points of an expired hold be burned before any job runs", async () => {
    const { p, ref } = await memberWith(100);
    const h = expectOk(await hold(p, ref, 40), 201).transaction.id;
    await sql("UPDATE transactions SET expires_at = ? WHERE id = ?", Date.now() - 1000, h);
    const b = expectOk(await burn(p, ref, 100), 201);
    expect(b.balance.points).toEqual({ available: 0, pending: 0, held: 0 });
    expect((await txnRow(h)).status).toBe("voided");
  });
});
