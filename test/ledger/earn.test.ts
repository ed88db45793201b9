import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { checkInvariants } from "../support/invariants";
import { runScheduledJobs } from "../support/jobs";
import { balance, burn, CONTEXT, earn, enrol, expectOk, partnerWithCard, sql } from "../support/ledger";
import { countTransactions, DAY_MS, expectError, getTransaction, lotOf, reverse, rfc3339, txnRow } from "../support/ledger-flows";

afterEach(async () => {
  await checkInvariants();
});

function earnAmount(
  p: Awaited<ReturnType<typeof partnerWithCard>>,
  ref: string,
  value: string,
  extra: Record<string, unknown> = {},
) {
  return p.client.post<{
    transaction: { id: string; status: string; points: number; rate?: string; amount?: unknown; multiplier?: string };
    balance: { points: { available: number; pending: number; held: number } };
  }>("/v1/earn", { member_ref: ref, amount: { value, unit: "CNY" }, context: CONTEXT, ...extra });
}

describe("earn by amount", () => {
  it("converts at the earn rate and drops fractions of a point", async () => {
    const p = await partnerWithCard();
    const { ref, memberId } = await enrol(p);
    const r = expectOk(await earnAmount(p, ref, "58.99", { order_ref: "A-1001" }), 201);
    expect(r.transaction).toMatchObject({
      type: "earn",
      status: "posted",
      points: 58,
      member_id: memberId,
      order_ref: "A-1001",
      amount: { value: "58.99", unit: "CNY" },
      rate: "1",
      partner: { id: p.id },
    });
    expect(r.balance.points).toEqual({ available: 58, pending: 0, held: 0 });
    // What available is worth when burned here (0.01 CNY a point).
    expect((r.balance as Record<string, unknown>).value).toEqual({ value: "0.58", unit: "CNY" });
    expect((await lotOf(r.transaction.id)).remaining).toBe(58);
  });

  it("multiplies overlapping campaigns active at occurred_at and floors once at the end", async () => {
    const occurred = Date.now() - 60_000;
    const weekday = new Date(occurred).getUTCDay() || 7;
    const otherDay = (weekday % 7) + 1;
    const p = await partnerWithCard({
      card: {
        earn: [{ unit: "CNY", points_per_unit: "0.5" }],
        campaigns: [
          { name: "Triple", multiplier: "3", from: rfc3339(occurred - DAY_MS), to: rfc3339(occurred + DAY_MS) },
          {
            name: "Today x1.5",
            multiplier: "1.5",
            from: rfc3339(occurred - DAY_MS),
            to: rfc3339(occurred + DAY_MS),
            days_of_week: [weekday],
          },
          // Not active at occurred_at: another weekday, and a future window.
          {
            name: "Other day",
            multiplier: "10",
            from: rfc3339(occurred - DAY_MS),
            to: rfc3339(occurred + DAY_MS),
            days_of_week: [otherDay],
          },
          { name: "Later", multiplier: "100", from: rfc3339(occurred + DAY_MS), to: rfc3339(occurred + 2 * DAY_MS) },
        ] as never[],
      },
    });
    const { ref } = await enrol(p);
    // 5.00 × 0.5 × 3 × 1.5 = 11.25 → 11 (flooring after each step would give 2 → 6 → 9).
    const r = expectOk(await earnAmount(p, ref, "5.00", { occurred_at: rfc3339(occurred) }), 201);
    expect(r.transaction.points).toBe(11);
    expect(r.balance.points.available).toBe(11);

    // Campaign windows are matched against occurred_at, not the booking time.
    const before = expectOk(await earnAmount(p, ref, "5.00", { occurred_at: rfc3339(occurred - 2 * DAY_MS) }), 201);
    expect(before.transaction.points).toBe(2);
    expect((await balance(p, ref)).points.available).toBe(13);
  });

  it("answers 422 unknown_unit for a unit the partner does not award, and writes nothing", async () => {
    const p = await partnerWithCard();
    const { ref, memberId } = await enrol(p);
    const r = await p.client.post("/v1/earn", { member_ref: ref, amount: { value: "10.00", unit: "USD" }, context: CONTEXT });
    expectError(r, 422, "unknown_unit");
    expect(await countTransactions(memberId)).toBe(0);
  });
});

describe("earn by points", () => {
  it("books the points given", async () => {
    const p = await partnerWithCard();
    const { ref } = await enrol(p);
    const r = expectOk(await earn(p, ref, 250), 201);
    expect(r.transaction).toMatchObject({ type: "earn", status: "posted", points: 250 });
    expect(r.balance.points).toEqual({ available: 250, pending: 0, held: 0 });
  });

  it("rejects both amount and points, or neither, with 400", async () => {
    const p = await partnerWithCard();
    const { ref, memberId } = await enrol(p);
    const both = await p.client.post("/v1/earn", {
      member_ref: ref,
      points: 10,
      amount: { value: "10.00", unit: "CNY" },
      context: CONTEXT,
    });
    expect(both.status).toBe(400);
    expect(both.ok ? undefined : both.error.type).toBe("invalid_request");
    const neither = await p.client.post("/v1/earn", { member_ref: ref, context: CONTEXT });
    expect(neither.status).toBe(400);
    expect(neither.ok ? undefined : neither.error.type).toBe("invalid_request");
    expect(await countTransactions(memberId)).toBe(0);
  });

  it("answers 404 member_not_found for a member linked only to another partner", async () => {
    const a = await partnerWithCard();
    const b = await partnerWithCard();
    const { ref, memberId } = await enrol(b);
    expectError(await earn(a, ref, 10), 404, "member_not_found");
    expectError(await earn(a, "never-enrolled", 10), 404, "member_not_found");
    expect(await countTransactions(memberId)).toBe(0);
  });

  it("refuses occurred_at older than the 30-day reporting window with 422", async () => {
    const p = await partnerWithCard();
    const { ref, memberId } = await enrol(p);
    expectError(await earn(p, ref, 10, { occurred_at: rfc3339(Date.now() - 31 * DAY_MS) }), 422, "occurred_at_out_of_window");
    expect(await countTransactions(memberId)).toBe(0);
    const inside = expectOk(await earn(p, ref, 10, { occurred_at: rfc3339(Date.now() - 29 * DAY_MS) }), 201);
    expect(inside.transaction.status).toBe("posted");
  });
});

describe("pending earns", () => {
  it("keeps a pending earn out of available until available_at, which takes effect before any job runs", async () => {
    const p = await partnerWithCard({ pending_days: 3 });
    const { ref, memberId } = await enrol(p);
    const t0 = Date.now();
    const r = expectOk(await earn(p, ref, 100), 201);
    const id = r.transaction.id;
    expect(r.transaction.status).toBe("pending");
    expect(r.balance.points).toEqual({ available: 0, pending: 100, held: 0 });
    const row = await txnRow(id);
    const availableAt = (await sql<{ available_at: number }>("SELECT available_at FROM transactions WHERE id = ?", id))[0]!
      .available_at;
    expect(availableAt - row.booked_at).toBe(3 * DAY_MS);
    expect(Date.parse(r.transaction.available_at as string)).toBeGreaterThanOrEqual(Math.floor((t0 + 3 * DAY_MS) / 1000) * 1000);

    // Not spendable.
    expectError(await burn(p, ref, 1), 422, "insufficient_points");
    expect((await balance(p, ref)).points).toEqual({ available: 0, pending: 100, held: 0 });

    // The release time passes (simulated): available at once, shown posted before the job ran.
    const past = Date.now() - 1000;
    await env.DB.batch([
      env.DB.prepare("UPDATE lots SET available_at = ? WHERE txn_id = ?").bind(past, id),
      env.DB.prepare("UPDATE transactions SET available_at = ? WHERE id = ?").bind(past, id),
    ]);
    expect((await balance(p, ref)).points).toEqual({ available: 100, pending: 0, held: 0 });
    const shown = expectOk(await getTransaction(p, id));
    expect(shown.transaction.status).toBe("posted");
    expect((await txnRow(id)).status).toBe("pending");

    const spent = expectOk(await burn(p, ref, 40), 201);
    expect(spent.balance.points.available).toBe(60);

    // The job then records the release.
    await runScheduledJobs();
    expect((await txnRow(id)).status).toBe("posted");
    expect((await balance(p, ref)).points).toEqual({ available: 60, pending: 0, held: 0 });
    expect(await countTransactions(memberId)).toBe(2);
  });

  it("lets a pending earn be reversed before it is released", async () => {
    const p = await partnerWithCard({ pending_days: 7 });
    const { ref } = await enrol(p);
    const e = expectOk(await earn(p, ref, 80), 201);
    const r = expectOk(await reverse(p, e.transaction.id, 30), 201);
    expect(r.balance.points).toEqual({ available: 0, pending: 50, held: 0 });
  });
});
