import { afterEach, describe, expect, it } from "vitest";
import { operator } from "../support/exchange";
import { checkInvariants } from "../support/invariants";
import { burn, earn, enrol, expectOk, link, partnerWithCard } from "../support/ledger";
import { countTransactions, expectError, memberRow, partnerFunding, reverse } from "../support/ledger-flows";

afterEach(async () => {
  await checkInvariants();
});

const cny = (value: string) => ({ value, unit: "CNY" });
const prepaid = (value: string) => ({ mode: "prepaid", balance: cny(value) });
const postpaid = (value: string) => ({ mode: "postpaid", credit_limit: cny(value) });

async function pay(partnerId: string, value: string, key: string) {
  return operator(
    "POST",
    `/partners/${partnerId}/payments`,
    { amount: cny(value), reference: `wire-${key}` },
    { idempotencyKey: key },
  );
}

describe("prepaid partners", () => {
  it("issues points only while the balance covers them at the issue price", async () => {
    const p = await partnerWithCard({ funding: prepaid("1.00"), card: { issue_price: "0.010" } });
    const { ref, memberId } = await enrol(p);
    expectError(await earn(p, ref, 101), 422, "partner_funds_exhausted");
    expect((await partnerFunding(p.id)).balance).toEqual(cny("1.00"));
    expectOk(await earn(p, ref, 60), 201);
    expectError(await earn(p, ref, 41), 422, "partner_funds_exhausted");
    expect((await partnerFunding(p.id)).balance).toEqual(cny("0.40"));
    expectOk(await earn(p, ref, 40), 201);
    expect((await partnerFunding(p.id)).balance).toEqual(cny("0.00"));
    expectError(await earn(p, ref, 1), 422, "partner_funds_exhausted");
    expect(await countTransactions(memberId)).toBe(2);
  });

  it("refuses an amount earn that would overdraw too", async () => {
    const p = await partnerWithCard({ funding: prepaid("0.50"), card: { issue_price: "0.010" } });
    const { ref } = await enrol(p);
    const r = await p.client.post("/v1/earn", { member_ref: ref, amount: cny("50.99"), context: { ip: "203.0.113.7" } });
    expect(r.status).toBe(201);
    const no = await p.client.post("/v1/earn", { member_ref: ref, amount: cny("1.00"), context: { ip: "203.0.113.7" } });
    expectError(no, 422, "partner_funds_exhausted");
  });

  it("is topped up by a payment, once per Idempotency-Key", async () => {
    const p = await partnerWithCard({ funding: prepaid("1.00") });
    const { ref } = await enrol(p);
    expectOk(await earn(p, ref, 100), 201);
    expectError(await earn(p, ref, 1), 422, "partner_funds_exhausted");

    const first = await pay(p.id, "0.50", `top-up-${p.id}`);
    expect(first.status).toBe(201);
    expect(first.body.partner.funding.balance).toEqual(cny("0.50"));
    const again = await pay(p.id, "0.50", `top-up-${p.id}`);
    expect(again.status).toBe(201);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(again.text).toBe(first.text);
    expect((await partnerFunding(p.id)).balance).toEqual(cny("0.50"));

    expectError(await earn(p, ref, 51), 422, "partner_funds_exhausted");
    expectOk(await earn(p, ref, 50), 201);
    expect((await partnerFunding(p.id)).balance).toEqual(cny("0.00"));

    const audit = await operator("GET", "/audit?action=partner.payment");
    expect(audit.body.data.filter((e: { target: string }) => e.target === p.id)).toHaveLength(1);
  });

  it("credits an earn reversal only for the points actually taken back, and the rest as the debt is repaid", async () => {
    const a = await partnerWithCard({ funding: prepaid("1.00"), card: { issue_price: "0.010" } });
    const b = await partnerWithCard({ funding: prepaid("10.00"), card: { issue_price: "0.020" } });
    const { ref, memberId } = await enrol(a);
    const refB = await link(a, ref, b);
    const e = expectOk(await earn(a, ref, 100), 201).transaction.id;
    expect((await partnerFunding(a.id)).balance).toEqual(cny("0.00"));
    expectOk(await burn(b, refB, 30), 201);

    // 70 taken back (credited at 0.010 each); 30 spent become debt, still charged to the issuer.
    const r = expectOk(await reverse(a, e), 201);
    expect(r.balance.points.available).toBe(-30);
    expect((await partnerFunding(a.id)).balance).toEqual(cny("0.70"));

    // B's earn repays A's debt first: A is credited as it is repaid; B is drawn for its issue.
    const repay = expectOk(await earn(b, refB, 50), 201);
    expect(repay.balance.points.available).toBe(20);
    expect((await memberRow(memberId)).debt_points).toBe(0);
    expect((await partnerFunding(b.id)).balance).toEqual(cny("9.00"));
    expect.soft((await partnerFunding(a.id)).balance).toEqual(cny("1.00"));

    // Reversing the repaying earn brings the debt back, and A carries it again.
    const back = expectOk(await reverse(b, repay.transaction.id), 201);
    expect(back.balance.points.available).toBe(-30);
    expect((await partnerFunding(a.id)).balance).toEqual(cny("0.70"));
    expect((await partnerFunding(b.id)).balance).toEqual(cny("10.00"));
  });
});

describe("postpaid partners", () => {
  it("issues points only while the exposure stays within the credit limit", async () => {
    const p = await partnerWithCard({ funding: postpaid("1.00"), card: { issue_price: "0.010" } });
    const { ref, memberId } = await enrol(p);
    expectError(await earn(p, ref, 101), 422, "partner_credit_limit");
    expectOk(await earn(p, ref, 70), 201);
    expect((await partnerFunding(p.id)).exposure).toEqual(cny("0.70"));
    expectError(await earn(p, ref, 31), 422, "partner_credit_limit");
    expectOk(await earn(p, ref, 30), 201);
    expect(await partnerFunding(p.id)).toMatchObject({ exposure: cny("1.00"), available_credit: cny("0.00") });
    expectError(await earn(p, ref, 1), 422, "partner_credit_limit");
    expect(await countTransactions(memberId)).toBe(2);
  });

  it("lowers the exposure by a payment and by the points an earn reversal takes back", async () => {
    const p = await partnerWithCard({ funding: postpaid("1.00"), card: { issue_price: "0.010" } });
    const { ref } = await enrol(p);
    const e = expectOk(await earn(p, ref, 100), 201).transaction.id;
    expectOk(await burn(p, ref, 10), 201);
    expectError(await earn(p, ref, 1), 422, "partner_credit_limit");

    const paid = await pay(p.id, "0.40", `pay-${p.id}`);
    expect(paid.status).toBe(201);
    expect((await partnerFunding(p.id)).exposure).toEqual(cny("0.60"));
    expectOk(await earn(p, ref, 40), 201);
    expectError(await earn(p, ref, 1), 422, "partner_credit_limit");

    // 25 of the first earn back (all still in its lot): exposure falls by 0.25.
    expectOk(await reverse(p, e, 25), 201);
    expect((await partnerFunding(p.id)).exposure).toEqual(cny("0.75"));
    expectOk(await earn(p, ref, 25), 201);
    expectError(await earn(p, ref, 1), 422, "partner_credit_limit");
  });
});
