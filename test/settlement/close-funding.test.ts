import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { closePeriods } from "../../src/settlement/close";
import type { SignedReport } from "../../src/settlement/report";
import { operator, type TestPartner } from "../support/exchange";
import { checkInvariants } from "../support/invariants";
import { burn, earn, enrol, expectOk, link, partnerWithCard, sql } from "../support/ledger";
import { expectError, reverse } from "../support/ledger-flows";
import { closeNow, money, nextSecond, reportStatement, settleClockAtNoon } from "./support";

/**
 * What a close does to funding (economics.md, added 2026-12-01; issue 9 §1): each receivable is
 * applied once — against exposure, then (prepaid, "receivables": "top_up") to the deposit, the
 * rest owed as a payout — and never both credited to funding and paid out.
 */

const cny = (value: string) => ({ value, unit: "CNY" });
const postpaid = (limit: string) => ({ mode: "postpaid", credit_limit: cny(limit) });
const prepaid = (balance: string, receivables?: "payout" | "top_up") => ({
  mode: "prepaid",
  balance: cny(balance),
  ...(receivables ? { receivables } : {}),
});

let issuer: TestPartner;
let keyCounter = 0;

beforeAll(async () => {
  await settleClockAtNoon();
  issuer = await partnerWithCard();
});

async function partnerRow(id: string) {
  const [row] = await sql<{ exposure_micros: number; prepaid_balance_micros: number; payout_due_micros: number }>(
    "SELECT exposure_micros, prepaid_balance_micros, payout_due_micros FROM partners WHERE id = ?",
    id,
  );
  if (!row) throw new Error(`no partner ${id}`);
  return row;
}

/** A member with `points` from the shared issuer, linked to `redeemer`; its ref there. */
async function memberAt(redeemer: TestPartner, points: number): Promise<string> {
  const m = await enrol(issuer);
  expectOk(await earn(issuer, m.ref, points), 201);
  return link(issuer, m.ref, redeemer);
}

function parts(report: SignedReport, partnerId: string) {
  const s = reportStatement(report, partnerId);
  return { set_off: s.set_off.value, top_up: s.top_up.value, payout: s.payout.value, receivable: s.exact.receivable };
}

const transfer = (kind: "payments" | "payouts", partnerId: string, value: string, key = `k-${kind}-${keyCounter++}`) =>
  operator("POST", `/partners/${partnerId}/${kind}`, { amount: cny(value), reference: `ref-${key}` }, { idempotencyKey: key });

describe("a close credits each receivable once", () => {
  it("a postpaid redeemer without payments: the receivable is owed, never added to its credit (the issue's reproduction)", async () => {
    const r = await partnerWithCard({ funding: postpaid("10.00") });
    const ref = await memberAt(r, 1000);
    expectOk(await burn(r, ref, 1000), 201); // 1,000 × 0.008 = 8.00 receivable
    const { report } = await closeNow();
    expect(parts(report, r.id)).toEqual({ set_off: "0.00", top_up: "0.00", payout: "8.00", receivable: "8.00" });
    const got = await operator("GET", `/partners/${r.id}`);
    expect(got.body.partner.funding).toMatchObject({ exposure: money("0.00"), available_credit: money("10.00") });
    expect(got.body.partner.payout_due).toEqual(money("8.00"));
    // 1,500 points at 0.010 = 15.00 of issuance: beyond the 10.00 limit (it passed with 18.00 of "credit" before).
    expectError(await earn(r, ref, 1500), 422, "partner_credit_limit");
    expectOk(await earn(r, ref, 1000), 201);
    await checkInvariants();
  });

  it("a postpaid redeemer with exposure: the receivable nets against it first, the rest is a payout", async () => {
    const r = await partnerWithCard({ funding: postpaid("10.00") });
    const ref = await memberAt(r, 1000);
    expectOk(await earn(r, ref, 300), 201); // exposure 3.00
    expectOk(await burn(r, ref, 1000), 201); // receivable 8.00
    const { report } = await closeNow();
    expect(parts(report, r.id)).toEqual({ set_off: "3.00", top_up: "0.00", payout: "5.00", receivable: "8.00" });
    expect(await partnerRow(r.id)).toEqual({ exposure_micros: 0, prepaid_balance_micros: 0, payout_due_micros: 5_000_000 });
  });

  it("a prepaid redeemer (receivables: payout, the default): the deposit stays, the receivable is owed", async () => {
    const r = await partnerWithCard({ funding: prepaid("1.00") });
    const ref = await memberAt(r, 1000);
    expectOk(await burn(r, ref, 1000), 201);
    const { report } = await closeNow();
    expect(parts(report, r.id)).toEqual({ set_off: "0.00", top_up: "0.00", payout: "8.00", receivable: "8.00" });
    const got = await operator("GET", `/partners/${r.id}`);
    expect(got.body.partner.funding).toMatchObject({ mode: "prepaid", balance: money("1.00"), receivables: "payout" });
    expect(got.body.partner.payout_due).toEqual(money("8.00"));
  });

  it("a prepaid redeemer with receivables: top_up: the receivable goes to the deposit, nothing is owed", async () => {
    const r = await partnerWithCard({ funding: prepaid("1.00", "top_up") });
    const ref = await memberAt(r, 1000);
    expectOk(await burn(r, ref, 1000), 201);
    const { report } = await closeNow();
    expect(parts(report, r.id)).toEqual({ set_off: "0.00", top_up: "8.00", payout: "0.00", receivable: "8.00" });
    expect(await partnerRow(r.id)).toEqual({ exposure_micros: 0, prepaid_balance_micros: 9_000_000, payout_due_micros: 0 });
    // Switched to payout by PATCH: the next close owes instead of topping up.
    const patched = await operator("PATCH", `/partners/${r.id}`, { funding: { mode: "prepaid", receivables: "payout" } });
    expect(patched.body.partner.funding.receivables).toBe("payout");
  });

  it("a negative receivable (burns reversed after the close) takes back payout still due, then the deposit, then raises exposure", async () => {
    const r = await partnerWithCard({ funding: prepaid("1.00") });
    const ref = await memberAt(r, 2000);
    const b1 = expectOk(await burn(r, ref, 1000), 201).transaction.id;
    const b2 = expectOk(await burn(r, ref, 1000), 201).transaction.id;
    await closeNow(); // payout_due 16.00
    expect(await transfer("payouts", r.id, "12.00")).toMatchObject({ status: 201 }); // 4.00 still due
    expectOk(await reverse(r, b1), 201);
    expectOk(await reverse(r, b2), 201); // receivable −16.00 in the next period
    const { report } = await closeNow();
    // 4.00 from the payout due, 1.00 from the deposit, 11.00 onto the exposure.
    expect(parts(report, r.id)).toEqual({ set_off: "-11.00", top_up: "-1.00", payout: "-4.00", receivable: "-16.00" });
    expect(await partnerRow(r.id)).toEqual({ exposure_micros: 11_000_000, prepaid_balance_micros: 0, payout_due_micros: 0 });
    expectError(await earn(r, ref, 1), 422, "partner_funds_exhausted");
    await checkInvariants();
  });

  it("the report sums the parts, and the CSV lists them", async () => {
    const r = await partnerWithCard({ funding: postpaid("10.00") });
    const ref = await memberAt(r, 500);
    expectOk(await earn(r, ref, 100), 201); // exposure 1.00
    expectOk(await burn(r, ref, 500), 201); // 4.00
    const { report } = await closeNow();
    expect(report.funding).toEqual({ set_off: money("1.00"), top_up: money("0.00"), payout: money("3.00") });
    const csv = await operator("GET", `/settlements/${report.id}.csv`);
    expect(csv.text).toContain(`statement,${r.id},,,set_off,,1.00,1.00,0,CNY\r\n`);
    expect(csv.text).toContain(`statement,${r.id},,,payout,,3.00,3.00,0,CNY\r\n`);
    expect(csv.text).toContain("totals,,,,payout,,3.00,3.00,0,CNY\r\n");
  });
});

describe("the receivables option", () => {
  it("is a prepaid setting: default payout, top_up or payout accepted, anything else or on postpaid funding refused", async () => {
    const created = await operator("POST", "/partners", { id: `rcv-${keyCounter++}`, name: "R", funding: prepaid("1.00") });
    expect(created.status, created.text).toBe(201);
    expect(created.body.partner.funding.receivables).toBe("payout");
    const bad = await operator("POST", "/partners", {
      id: "rcv-bad",
      name: "R",
      funding: { ...prepaid("1.00"), receivables: "keep" },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: "invalid_body", param: "funding.receivables" });
    const onPostpaid = await operator("POST", "/partners", {
      id: "rcv-post",
      name: "R",
      funding: { ...postpaid("1.00"), receivables: "top_up" },
    });
    expect(onPostpaid.status).toBe(400);
    expect(onPostpaid.body.error).toMatchObject({ code: "unknown_field", param: "funding.receivables" });
    const patched = await operator("PATCH", `/partners/${created.body.partner.id}`, {
      funding: { mode: "prepaid", receivables: "top_up" },
    });
    expect(patched.body.partner.funding).toMatchObject({ mode: "prepaid", receivables: "top_up", balance: money("1.00") });
  });
});

describe("payouts", () => {
  let r: TestPartner;
  beforeAll(async () => {
    r = await partnerWithCard({ funding: postpaid("10.00") });
    const ref = await memberAt(r, 1000);
    expectOk(await burn(r, ref, 1000), 201);
    await closeNow(); // payout_due 8.00
  });

  it("lowers payout_due, once per Idempotency-Key, audited", async () => {
    const first = await transfer("payouts", r.id, "5.00", "payout-once");
    expect(first.status, first.text).toBe(201);
    expect(first.body).toMatchObject({
      payout: { partner_id: r.id, amount: cny("5.00"), reference: "ref-payout-once" },
      partner: { id: r.id, payout_due: money("3.00") },
    });
    const again = await transfer("payouts", r.id, "5.00", "payout-once");
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(again.text).toBe(first.text);
    expect((await partnerRow(r.id)).payout_due_micros).toBe(3_000_000);
    const audit = await operator("GET", "/audit?action=partner.payout");
    expect(audit.body.data.filter((e: { target: string }) => e.target === r.id)).toHaveLength(1);
    // A payout never raises a credit line.
    expect((await partnerRow(r.id)).exposure_micros).toBe(0);
  });

  it("more than is due: 422 payout_exceeds_due, stored and replayed, nothing written", async () => {
    const over = await transfer("payouts", r.id, "3.01", "payout-over");
    expect(over.status, over.text).toBe(422);
    expect(over.body.error).toMatchObject({ type: "invalid_request", code: "payout_exceeds_due", param: "amount.value" });
    expect(over.body.error.message).toContain("3.00 CNY");
    const again = await transfer("payouts", r.id, "3.01", "payout-over");
    expect(again.text).toBe(over.text);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect((await partnerRow(r.id)).payout_due_micros).toBe(3_000_000);
    expect((await transfer("payouts", r.id, "3.00")).status).toBe(201);
    expect((await partnerRow(r.id)).payout_due_micros).toBe(0);
  });

  it("concurrent payouts never pay more than is due", async () => {
    const p = await partnerWithCard({ funding: postpaid("10.00") });
    const ref = await memberAt(p, 1000);
    expectOk(await burn(p, ref, 1000), 201);
    await closeNow(); // 8.00 due
    const answers = await Promise.all(Array.from({ length: 12 }, () => transfer("payouts", p.id, "1.00")));
    expect(answers.filter((a) => a.status === 201)).toHaveLength(8);
    expect(answers.filter((a) => a.status === 422).every((a) => a.body.error.code === "payout_exceeds_due")).toBe(true);
    expect((await partnerRow(p.id)).payout_due_micros).toBe(0);
  });

  it("needs an Idempotency-Key and a known partner", async () => {
    const noKey = await operator("POST", `/partners/${r.id}/payouts`, { amount: cny("1.00"), reference: "x" });
    expect(noKey.status).toBe(400);
    expect(noKey.body.error.code).toBe("idempotency_key_missing");
    const unknown = await transfer("payouts", "no-such-partner", "1.00");
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("partner_not_found");
  });
});

describe("exposure is never negative", () => {
  it("a payment beyond the exposure lowers it to zero; the excess is owed back", async () => {
    const p = await partnerWithCard({ funding: postpaid("10.00") });
    const { ref } = await enrol(p);
    expectOk(await earn(p, ref, 100), 201); // exposure 1.00
    const paid = await transfer("payments", p.id, "5.00");
    expect(paid.status, paid.text).toBe(201);
    expect(paid.body.partner).toMatchObject({ funding: { exposure: money("0.00") }, payout_due: money("4.00") });
    // No issuing room beyond the limit: 1,001 points at 0.010 is 10.01.
    expectError(await earn(p, ref, 1001), 422, "partner_credit_limit");
  });

  it("a reversal after a payment credits what was paid for back as payout_due", async () => {
    const p = await partnerWithCard({ funding: postpaid("10.00") });
    const { ref } = await enrol(p);
    const e = expectOk(await earn(p, ref, 100), 201).transaction.id; // exposure 1.00
    expect((await transfer("payments", p.id, "1.00")).status).toBe(201); // exposure 0.00
    expectOk(await reverse(p, e), 201); // 1.00 taken back
    expect(await partnerRow(p.id)).toEqual({ exposure_micros: 0, prepaid_balance_micros: 0, payout_due_micros: 1_000_000 });
    await checkInvariants();
  });

  it("the database refuses a write that would make exposure or payout_due negative", async () => {
    const p = await partnerWithCard({ funding: postpaid("10.00") });
    await expect(sql("UPDATE partners SET exposure_micros = -1 WHERE id = ?", p.id)).rejects.toThrow(/never negative/);
    await expect(sql("UPDATE partners SET payout_due_micros = -1 WHERE id = ?", p.id)).rejects.toThrow(/never negative/);
  });
});

describe("a close overtaken by a concurrent credit decides again", () => {
  it("a payment between the close's read and its batch: the batch's guard fails, nothing is stored, the retry splits afresh", async () => {
    const r = await partnerWithCard({ funding: postpaid("10.00") });
    const ref = await memberAt(r, 1000);
    expectOk(await earn(r, ref, 300), 201); // exposure 3.00
    expectOk(await burn(r, ref, 1000), 201); // receivable 8.00
    await nextSecond();
    // The close's first report batch is preceded by a payment of 2.00 landing just before it.
    let reportBatches = 0;
    const db = env.DB;
    const racing: D1Database = Object.assign(Object.create(db) as D1Database, {
      prepare: (query: string) => db.prepare(query),
      batch: async (statements: D1PreparedStatement[]) => {
        const first = statements[0] as unknown as { statement?: string };
        const isReport = String(first.statement ?? "").includes("INSERT INTO settlement_reports");
        if (isReport && reportBatches++ === 0) {
          await db.prepare("UPDATE partners SET exposure_micros = exposure_micros - 2000000 WHERE id = ?").bind(r.id).run();
        }
        return db.batch(statements);
      },
    });
    const texts = await closePeriods({ ...(env as Env), DB: racing }, { now: Date.now(), by: "test", periodEnd: Date.now() });
    expect(reportBatches).toBe(2);
    const report = JSON.parse(texts[texts.length - 1] as string) as SignedReport;
    expect(parts(report, r.id)).toEqual({ set_off: "1.00", top_up: "0.00", payout: "7.00", receivable: "8.00" });
    expect(await partnerRow(r.id)).toEqual({ exposure_micros: 0, prepaid_balance_micros: 0, payout_due_micros: 7_000_000 });
  });
});
