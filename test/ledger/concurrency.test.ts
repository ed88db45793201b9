import { afterEach, describe, expect, it } from "vitest";
import { checkInvariants } from "../support/invariants";
import { balance, burn, CONTEXT, earn, enrol, expectOk, partnerWithCard, sql } from "../support/ledger";
import { capture, hold, lotOf, partnerFunding, reverse, txnRow, voidHold } from "../support/ledger-flows";

afterEach(async () => {
  await checkInvariants();
});

function tally(results: { status: number; ok: boolean; error?: { code: string } }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of results) {
    const label = r.ok ? String(r.status) : `${r.status} ${r.error?.code}`;
    out[label] = (out[label] ?? 0) + 1;
  }
  return out;
}

describe("concurrency (acceptance criteria)", () => {
  it("200 simultaneous burns of 10 on 500 points: exactly 50 succeed, available ends at 0", async () => {
    const p = await partnerWithCard();
    const { ref, memberId } = await enrol(p);
    expectOk(await earn(p, ref, 500), 201);
    const results = await Promise.all(Array.from({ length: 200 }, () => burn(p, ref, 10)));
    expect(tally(results)).toEqual({ "201": 50, "422 insufficient_points": 150 });
    expect((await balance(p, ref)).points).toEqual({ available: 0, pending: 0, held: 0 });
    expect(
      await sql("SELECT COUNT(*) AS n, SUM(points) AS s FROM transactions WHERE member_id = ? AND type = 'burn'", memberId),
    ).toEqual([{ n: 50, s: 500 }]);
  });

  it("100 simultaneous identical requests with one Idempotency-Key apply once", async () => {
    const p = await partnerWithCard();
    const { ref, memberId } = await enrol(p);
    const key = `same-${Date.now().toString(36)}`;
    const body = { member_ref: ref, points: 42, order_ref: "ONCE", context: CONTEXT };
    const results = await Promise.all(
      Array.from({ length: 100 }, () => p.client.post("/v1/earn", body, { idempotencyKey: key })),
    );
    const created = results.filter((r) => r.status === 201);
    const others = results.filter((r) => r.status !== 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(created.filter((r) => !r.replayed)).toHaveLength(1);
    expect(new Set(created.map((r) => r.text)).size).toBe(1);
    for (const r of others)
      expect({ status: r.status, code: r.ok ? undefined : r.error.code }).toEqual({
        status: 409,
        code: "idempotency_key_in_use",
      });

    const txns = await sql<{ id: string }>("SELECT id FROM transactions WHERE member_id = ?", memberId);
    expect(txns).toHaveLength(1);
    expect(await sql("SELECT COUNT(*) AS n FROM lots WHERE member_id = ?", memberId)).toEqual([{ n: 1 }]);
    expect(await sql("SELECT COUNT(*) AS n FROM transfers WHERE txn_id = ?", txns[0]!.id)).toEqual([{ n: 1 }]);
    expect((await balance(p, ref)).points.available).toBe(42);
    // After the storm, the key replays the one answer.
    const later = await p.client.post("/v1/earn", body, { idempotencyKey: key });
    expect(later.replayed).toBe(true);
    expect(later.text).toBe(created[0]!.text);
  });

  it("simultaneous capture and void of one hold: exactly one wins", async () => {
    const p = await partnerWithCard();
    const { ref } = await enrol(p);
    const e = expectOk(await earn(p, ref, 500), 201).transaction.id;
    const holds: string[] = [];
    for (let i = 0; i < 5; i++) holds.push(expectOk(await hold(p, ref, 20), 201).transaction.id);
    let captured = 0;
    for (const h of holds) {
      const [c, v] = await Promise.all([capture(p, h), voidHold(p, h)]);
      expect([c.status, v.status].sort()).toEqual([200, 409]);
      const loser = c.ok ? v : c;
      expect(loser.ok ? undefined : loser.error.code).toBe("hold_not_open");
      const row = await txnRow(h);
      expect(row.status).toBe(c.ok ? "posted" : "voided");
      if (c.ok) captured += 20;
    }
    expect((await balance(p, ref)).points).toEqual({ available: 500 - captured, pending: 0, held: 0 });
    expect((await lotOf(e)).remaining).toBe(500 - captured);
  });

  it("simultaneous earns never overdraw a prepaid balance", async () => {
    const p = await partnerWithCard({ funding: { mode: "prepaid", balance: { value: "1.00", unit: "CNY" } } });
    const { ref } = await enrol(p);
    const results = await Promise.all(Array.from({ length: 25 }, () => earn(p, ref, 10)));
    expect(tally(results)).toEqual({ "201": 10, "422 partner_funds_exhausted": 15 });
    expect((await partnerFunding(p.id)).balance).toEqual({ value: "0.00", unit: "CNY" });
    expect((await balance(p, ref)).points.available).toBe(100);
  });

  it("simultaneous partial reversals never reverse more than the original", async () => {
    const p = await partnerWithCard();
    const { ref } = await enrol(p);
    const e = expectOk(await earn(p, ref, 100), 201).transaction.id;
    const results = await Promise.all(Array.from({ length: 20 }, () => reverse(p, e, 10)));
    expect(tally(results)).toEqual({ "201": 10, "409 nothing_to_reverse": 10 });
    expect((await balance(p, ref)).points.available).toBe(0);
  });

  it("simultaneous holds and burns share the points exactly", async () => {
    const p = await partnerWithCard();
    const { ref, memberId } = await enrol(p);
    expectOk(await earn(p, ref, 100), 201);
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? hold(p, ref, 10) : burn(p, ref, 10))));
    expect(tally(results)).toEqual({ "201": 10, "422 insufficient_points": 20 });
    const b = (await balance(p, ref)).points;
    expect(b.available).toBe(0);
    const [posted] = await sql<{ s: number }>(
      "SELECT COALESCE(SUM(points), 0) AS s FROM transactions WHERE member_id = ? AND type = 'burn' AND status = 'posted'",
      memberId,
    );
    expect(b.held + posted!.s).toBe(100);
  });
});
