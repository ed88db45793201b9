import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { first, sql } from "../../src/db/sql-template";
import { memberById } from "../../src/ledger/member";
import { type PointValue, transactionWithBalanceJson, transactionWithBalanceValues } from "../../src/ledger/render";
import { renderTransactionWithBalance } from "../../src/ledger/render-values";
import { operator } from "../support/exchange";
import { burn, earn, enrol, expectOk, partnerWithCard } from "../support/ledger";
import { capture, hold, reverse } from "../support/ledger-flows";

/**
 * A write's answer is rendered from its stored values (src/ledger/render-values.ts); a read renders
 * the same objects in SQL (src/ledger/render.ts). For every kind of transaction they are the same
 * bytes, so what a write answered and what a read of the same state shows never differ.
 */
async function bothRenderings(txnId: string, memberId: string, value: PointValue | undefined) {
  const now = Date.now();
  const member = memberById(memberId);
  const viaSql = await first<{ body: string }>(
    env.DB,
    sql`SELECT ${transactionWithBalanceJson(txnId, member, now, value)} AS body`,
  );
  const values = await first<{ v: string }>(env.DB, sql`SELECT ${transactionWithBalanceValues(txnId, member, now, value)} AS v`);
  return { sql: viaSql?.body, values: renderTransactionWithBalance(JSON.parse(values?.v ?? "[]") as unknown[]) };
}

const cny: PointValue = { unit: "CNY", units: 1n, scale: 2 };

describe("the values renderer agrees with the SQL renderer, byte for byte", () => {
  it("for earns (by amount with an order_ref, by points without, pending), holds, captures, reversals, adjustments", async () => {
    const p = await partnerWithCard({ pending_days: 0 });
    const pending = await partnerWithCard({ pending_days: 3 });
    const { ref, memberId } = await enrol(p);
    const txns: string[] = [];
    const id = (r: Parameters<typeof expectOk>[0]) => (expectOk(r) as { transaction: { id: string } }).transaction.id;
    txns.push(
      id(
        await p.client.post("/v1/earn", {
          member_ref: ref,
          amount: { value: "58.00", unit: "CNY" },
          order_ref: "A-1",
          context: { ip: "203.0.113.7" },
        }),
      ),
    );
    txns.push(id(await earn(p, ref, 300)));
    const refAtPending = (await enrol(pending)).ref;
    txns.push(id(await earn(pending, refAtPending, 40)));
    const h = id(await hold(p, ref, 30));
    txns.push(h);
    expectOk(await capture(p, h, 20));
    txns.push(h);
    const b = id(await burn(p, ref, 50));
    txns.push(b, id(await reverse(p, b, 10)), id(await reverse(p, txns[1] as string, 5)));
    const adj = await operator(
      "POST",
      `/members/${memberId}/adjustments`,
      { points: 7, reason: 'goodwill "quoted" é' },
      { idempotencyKey: `adj-${Date.now()}` },
    );
    txns.push(adj.body.transaction.id);
    for (const t of txns) {
      const member =
        t === txns[2]
          ? (await first<{ member_id: string }>(env.DB, sql`SELECT member_id FROM transactions WHERE id = ${t}`))?.member_id
          : memberId;
      for (const value of [cny, undefined]) {
        const r = await bothRenderings(t, member as string, value);
        expect(r.values, t).toBe(r.sql);
      }
    }
  });
});
