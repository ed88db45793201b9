import { afterEach, describe, expect, it } from "vitest";
import { operator } from "../support/exchange";
import { checkInvariants } from "../support/invariants";
import { balance, burn, earn, enrol, expectOk, partnerWithCard, sql } from "../support/ledger";
import { countTransactions, lotOf, memberRow, reverse } from "../support/ledger-flows";

afterEach(async () => {
  await checkInvariants();
});

let keyCounter = 0;
function adjust(memberId: string, points: number, reason = "goodwill", key = `adj-${Date.now()}-${keyCounter++}`) {
  return operator(
    "POST",
    `/members/${memberId}/adjustments`,
    { points, reason },
    { idempotencyKey: key, tokenOptions: { sub: "agent@coalition.test" } },
  );
}

async function auditFor(memberId: string) {
  const r = await operator("GET", "/audit?action=member.adjust&limit=100");
  expect(r.status).toBe(200);
  return r.body.data.filter((e: { target: string }) => e.target === memberId);
}

describe("operator adjustments", () => {
  it("credits a member with an operator lot at a zero price, audited", async () => {
    const p = await partnerWithCard();
    const { ref, memberId } = await enrol(p);
    const r = await adjust(memberId, 50, "lost receipt");
    expect(r.status).toBe(201);
    expect(r.body.transaction).toMatchObject({
      type: "adjustment",
      status: "posted",
      points: 50,
      member_id: memberId,
      reason: "lost receipt",
    });
    expect(r.body.transaction.partner.id).toBe("operator");
    expect(r.body.balance.points).toEqual({ available: 50, pending: 0, held: 0 });
    expect(await lotOf(r.body.transaction.id)).toMatchObject({ points: 50, remaining: 50 });
    expect(await sql("SELECT issuer_id, issue_price_micros FROM lots WHERE txn_id = ?", r.body.transaction.id)).toEqual([
      { issuer_id: "operator", issue_price_micros: 0 },
    ]);
    expect((await balance(p, ref)).points.available).toBe(50);
    // Spendable at any partner like any other points.
    expect(expectOk(await burn(p, ref, 50), 201).balance.points.available).toBe(0);

    const audit = await auditFor(memberId);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actor: "agent@coalition.test",
      action: "member.adjust",
      target: memberId,
      detail: { points: 50, reason: "lost receipt", transaction_id: r.body.transaction.id },
    });
  });

  it("debits a member within available, and refuses more with 422 insufficient_points", async () => {
    const p = await partnerWithCard();
    const { ref, memberId } = await enrol(p);
    expectOk(await earn(p, ref, 100), 201);
    const d = await adjust(memberId, -30, "duplicate earn");
    expect(d.status).toBe(201);
    expect(d.body.transaction).toMatchObject({ type: "adjustment", points: 30 });
    expect(d.body.balance.points.available).toBe(70);

    const txns = await countTransactions(memberId);
    const no = await adjust(memberId, -71, "too much");
    expect(no.status).toBe(422);
    expect(no.body.error).toMatchObject({ type: "invalid_request", code: "insufficient_points" });
    expect(await countTransactions(memberId)).toBe(txns);
    expect((await balance(p, ref)).points.available).toBe(70);
    expect(await auditFor(memberId)).toHaveLength(1);

    expect((await adjust(memberId, -70, "close out")).body.balance.points.available).toBe(0);
    expect(await auditFor(memberId)).toHaveLength(2);
  });

  it("repays a member's debt first with a credit", async () => {
    const p = await partnerWithCard();
    const { ref, memberId } = await enrol(p);
    const e = expectOk(await earn(p, ref, 100), 201).transaction.id;
    expectOk(await burn(p, ref, 100), 201);
    expectOk(await reverse(p, e), 201);
    expect((await memberRow(memberId)).debt_points).toBe(100);
    const r = await adjust(memberId, 120, "goodwill");
    expect(r.body.balance.points.available).toBe(20);
    expect((await memberRow(memberId)).debt_points).toBe(0);
  });

  it("answers 404 member_not_found, 400 without an Idempotency-Key, and replays with one", async () => {
    const p = await partnerWithCard();
    const { memberId } = await enrol(p);
    const missing = await adjust("mbr_nobody", 10);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("member_not_found");

    const noKey = await operator("POST", `/members/${memberId}/adjustments`, { points: 10, reason: "x" });
    expect(noKey.status).toBe(400);
    expect(noKey.body.error.code).toBe("idempotency_key_missing");

    const key = `adj-replay-${memberId}`;
    const first = await adjust(memberId, 10, "once", key);
    const again = await adjust(memberId, 10, "once", key);
    expect(again.status).toBe(201);
    expect(again.text).toBe(first.text);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(await countTransactions(memberId)).toBe(1);
    expect(await auditFor(memberId)).toHaveLength(1);
  });
});
