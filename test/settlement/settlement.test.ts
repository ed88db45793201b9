import { env } from "cloudflare:workers";
import { base64url, compactVerify, createLocalJWKSet, decodeProtectedHeader } from "jose";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Statement, type StatementLine, verifyStatement, verifyStatementData } from "../../packages/partner-sdk/src/index";
import { expireLots } from "../../src/ledger/expire";
import type { SignedReport } from "../../src/settlement/report";
import { canonicalJson, sha256Hex } from "../../src/settlement/signing";
import { operator, type TestPartner } from "../support/exchange";
import { checkInvariants } from "../support/invariants";
import { burn, earn, enrol, expectOk, link, partnerWithCard, sql } from "../support/ledger";
import { capture, expectError, getTransaction, hold, reverse } from "../support/ledger-flows";
import { closeNow, jwks, money, nextSecond, reportStatement, settleClockAtNoon, statementOf } from "./support";

/**
 * One coalition, two settlement periods, every kind of ledger event, and a hand calculation of
 * every figure. Prices (CNY per point):
 *   A: issue 0.010, redeem 0.008 (prepaid 100.00)   B: issue 0.012, redeem 0.0095   C: issue 0.0105, redeem 0.0085
 *
 * Period 1, member m (enrolled at A, linked to B and C):
 *   e1  A earns 1000                      lot L1 (A)
 *   e2  B earns 500                       lot L2 (B)
 *   b1  C burns 1200                      consumes L1 1000 (A→C), L2 200 (B→C)
 *   h1  B holds 100, captures 60          reserves L2 100; captures 60 (B→B), releases 40
 *   r1  C reverses 150 of b1              restores L2 150 (B→C −150)
 *   r2  B reverses e2 (500)               takes back L2's 390; 110 become debt (B @ 0.012)
 *   e3  C earns 300                       lot L3 (C); 110 of it repay B's debt
 *   e4  A earns 200, the lot expires      lot L4 (A); 200 expire into breakage
 *   r3  A reverses 50 of e4               50 come back out of breakage (unexpire)
 *   adj operator credits 100              lot L5 (operator, price 0)
 *   b2  A burns 250                       consumes L3 190 (C→A), L5 60 (operator→A)
 *   e5  B earns 77                        lot L6 (B), outstanding at the close
 * Period 2 (booked after the first close):
 *   r4  C reverses 100 more of b1         restores L2 50 (B→C −50), then L1 50 (A→C −50)
 */

let A: TestPartner;
let B: TestPartner;
let C: TestPartner;
let D: TestPartner; // takes no part
let refs: { a: string; b: string; c: string; memberId: string };
const ids: Record<string, string> = {};
let p1: { report: SignedReport; text: string };
let p2: { report: SignedReport; text: string };

afterEach(async () => {
  await checkInvariants();
});

async function txn(r: Parameters<typeof expectOk>[0]): Promise<string> {
  return (expectOk(r, 201) as { transaction: { id: string } }).transaction.id;
}

beforeAll(async () => {
  await settleClockAtNoon();
  A = await partnerWithCard({
    funding: { mode: "prepaid", balance: { value: "100.00", unit: "CNY" } },
    card: { issue_price: "0.010", redeem_price: "0.008" },
  });
  B = await partnerWithCard({ card: { issue_price: "0.012", redeem_price: "0.0095" } });
  C = await partnerWithCard({ card: { issue_price: "0.0105", redeem_price: "0.0085" } });
  D = await partnerWithCard({});
  const m = await enrol(A);
  refs = { a: m.ref, b: await link(A, m.ref, B), c: await link(A, m.ref, C), memberId: m.memberId };

  ids.e1 = await txn(await earn(A, refs.a, 1000));
  ids.e2 = await txn(await earn(B, refs.b, 500));
  ids.b1 = await txn(await burn(C, refs.c, 1200));
  ids.h1 = await txn(await hold(B, refs.b, 100));
  expectOk(await capture(B, ids.h1, 60), 200);
  ids.r1 = await txn(await reverse(C, ids.b1, 150));
  ids.r2 = await txn(await reverse(B, ids.e2));
  ids.e3 = await txn(await earn(C, refs.c, 300));
  ids.e4 = await txn(await earn(A, refs.a, 200));
  await env.DB.prepare("UPDATE lots SET expires_at = ? WHERE txn_id = ?")
    .bind(Date.now() - 1000, ids.e4)
    .run();
  expect(await expireLots(env.DB, Date.now())).toEqual({ expired: 1 });
  ids.r3 = await txn(await reverse(A, ids.e4, 50));
  const adj = await operator(
    "POST",
    `/members/${refs.memberId}/adjustments`,
    { points: 100, reason: "goodwill" },
    { idempotencyKey: "adj-1" },
  );
  expect(adj.status, adj.text).toBe(201);
  ids.b2 = await txn(await burn(A, refs.a, 250));
  ids.e5 = await txn(await earn(B, refs.b, 77));
  p1 = await closeNow();

  ids.r4 = await txn(await reverse(C, ids.b1, 100));
  p2 = await closeNow();
});

describe("period 1: statements, matrix, position, margin by hand", () => {
  it("each partner's figures, rounded half-even once with the residual shown", () => {
    const a = reportStatement(p1.report, A.id);
    expect(a.points).toEqual({
      issued: 1200,
      issue_reversed: 50,
      taken_back: 50,
      debt_repaid: 0,
      redeemed: 250,
      redeem_reversed: 0,
    });
    // payable 1000×0.010 + 200×0.010 − 50×0.010 = 11.50; receivable 190×0.008 + 60×0.008 = 2.00
    expect({ payable: a.payable, receivable: a.receivable, net: a.net }).toEqual({
      payable: money("11.50"),
      receivable: money("2.00"),
      net: money("-9.50"),
    });
    expect(a.rounding).toEqual({ payable: "0.00", receivable: "0.00", net: "0.00" });

    const b = reportStatement(p1.report, B.id);
    expect(b.points).toEqual({
      issued: 577,
      issue_reversed: 500,
      taken_back: 390,
      debt_repaid: 110,
      redeemed: 60,
      redeem_reversed: 0,
    });
    // payable 500×0.012 − 390×0.012 − 110×0.012 (debt repaid by C's earn) + 77×0.012 = 0.924; receivable 60×0.0095 = 0.57
    expect(b.exact).toEqual({ payable: "0.924", receivable: "0.57", net: "-0.354" });
    expect({ payable: b.payable, receivable: b.receivable, net: b.net }).toEqual({
      payable: money("0.92"),
      receivable: money("0.57"),
      net: money("-0.35"),
    });
    expect(b.rounding).toEqual({ payable: "0.004", receivable: "0.00", net: "-0.004" });

    const c = reportStatement(p1.report, C.id);
    expect(c.points).toEqual({
      issued: 300,
      issue_reversed: 0,
      taken_back: 0,
      debt_repaid: 0,
      redeemed: 1200,
      redeem_reversed: 150,
    });
    // receivable (1000 + 200 − 150)×0.0085 = 8.925 → 8.92 (half-even); net 8.925 − 3.15 = 5.775 → 5.78
    expect(c.exact).toEqual({ payable: "3.15", receivable: "8.925", net: "5.775" });
    expect({ payable: c.payable, receivable: c.receivable, net: c.net }).toEqual({
      payable: money("3.15"),
      receivable: money("8.92"),
      net: money("5.78"),
    });
    expect(c.rounding).toEqual({ payable: "0.00", receivable: "0.005", net: "-0.005" });
    // D and the operator pseudo-issuer have no statement.
    expect(p1.report.statements.map((s) => s.partner_id).sort()).toEqual([A.id, B.id, C.id].sort());
  });

  it("the bilateral matrix, its row and column sums", () => {
    const line = (issuer: string, redeemer: string) =>
      p1.report.matrix.find((m) => m.issuer === issuer && m.redeemer === redeemer);
    expect(p1.report.matrix).toHaveLength(5);
    expect(line(A.id, C.id)).toMatchObject({ points: 1000, amount: money("8.50"), exact: "8.50", rounding: "0.00" });
    expect(line(B.id, C.id)).toMatchObject({ points: 50, amount: money("0.42"), exact: "0.425", rounding: "0.005" });
    expect(line(B.id, B.id)).toMatchObject({ points: 60, amount: money("0.57") });
    expect(line(C.id, A.id)).toMatchObject({ points: 190, amount: money("1.52") });
    expect(line("operator", A.id)).toMatchObject({ points: 60, amount: money("0.48") });
    const sum = (pred: (m: SignedReport["matrix"][number]) => boolean) => {
      const rows = p1.report.matrix.filter(pred);
      return {
        points: rows.reduce((s, m) => s + m.points, 0),
        exact: rows.reduce((s, m) => s + Math.round(Number(m.exact) * 1e6), 0),
      };
    };
    // Rows: what each issuer's points were redeemed for, anywhere.
    expect(sum((m) => m.issuer === A.id)).toEqual({ points: 1000, exact: 8_500_000 });
    expect(sum((m) => m.issuer === B.id)).toEqual({ points: 110, exact: 995_000 });
    // Columns: what each partner redeemed, equal to its exact receivable.
    expect(sum((m) => m.redeemer === A.id)).toEqual({ points: 250, exact: 2_000_000 });
    expect(sum((m) => m.redeemer === C.id)).toEqual({ points: 1050, exact: 8_925_000 });
    expect(
      reportStatement(p1.report, C.id)
        .matrix.map((m) => `${m.issuer}>${m.redeemer}`)
        .sort(),
    ).toEqual([`${A.id}>${C.id}`, `${B.id}>${C.id}`, `${C.id}>${A.id}`].sort());
  });

  it("the points position adds up per issuer (invariant 4), with liability, breakage and margin", () => {
    const pos = Object.fromEntries(p1.report.points_position.by_issuer.map(({ issuer, ...p }) => [issuer, p]));
    const points = (p: (typeof pos)[string] | undefined) =>
      p && [p.opening, p.issued, p.reversed, p.redeemed, p.expired, p.debt_created, p.debt_repaid, p.closing];
    //                        opening issued reversed redeemed expired created repaid closing
    expect(points(pos[A.id])).toEqual([0, 1200, 50, 1000, 150, 0, 0, 0]);
    expect(points(pos[B.id])).toEqual([0, 577, 500, 110, 0, 110, 0, 77]);
    expect(points(pos[C.id])).toEqual([0, 300, 0, 190, 0, 0, 110, 0]);
    expect(points(pos.operator)).toEqual([0, 100, 0, 60, 0, 0, 0, 40]);
    expect(points(p1.report.points_position.total)).toEqual([0, 2177, 550, 1360, 150, 110, 110, 117]);
    expect(pos[B.id]?.liability).toEqual(money("0.92")); // 77 × 0.012 = 0.924
    expect(pos[A.id]?.breakage).toEqual(money("1.50")); // (200 − 50) × 0.010
    // margin = Σ payable − Σ receivable = (11.50 + 0.924 + 3.15) − (2.00 + 0.57 + 8.925) = 4.079
    expect(p1.report.totals).toEqual({
      payable: money("15.57"),
      receivable: money("11.50"),
      margin: money("4.08"),
      liability: money("0.92"),
      breakage: money("1.50"),
    });
    expect(p1.report.exact).toEqual({
      payable: "15.574",
      receivable: "11.495",
      margin: "4.079",
      liability: "0.924",
      breakage: "1.50",
    });
    expect(p1.report.rounding.margin).toBe("-0.001");
  });

  it("the closing position equals the lots outstanding at the close", async () => {
    const live = await sql<{ issuer_id: string; n: number }>(
      `SELECT issuer_id, SUM(remaining) AS n FROM lots WHERE member_id = ? GROUP BY issuer_id`,
      refs.memberId,
    );
    const p2pos = Object.fromEntries(p2.report.points_position.by_issuer.map((p) => [p.issuer, p.closing]));
    for (const { issuer_id, n } of live) expect({ issuer_id, n }).toEqual({ issuer_id, n: p2pos[issuer_id] ?? 0 });
  });

  it("each receivable is applied once: against exposure, then (prepaid, top_up) to the deposit, the rest owed as a payout", async () => {
    const parts = (report: SignedReport, id: string) => {
      const st = reportStatement(report, id);
      return { set_off: st.set_off.value, top_up: st.top_up.value, payout: st.payout.value };
    };
    // A (prepaid, receivables: payout) has no exposure: its 2.00 is paid out, the deposit untouched.
    expect(parts(p1.report, A.id)).toEqual({ set_off: "0.00", top_up: "0.00", payout: "2.00" });
    // B: exposure 0.924 at the close covers the whole 0.57.
    expect(parts(p1.report, B.id)).toEqual({ set_off: "0.57", top_up: "0.00", payout: "0.00" });
    // C: 8.925 sets off its 3.15 of exposure; 5.775 is owed to it.
    expect(parts(p1.report, C.id)).toEqual({ set_off: "3.15", top_up: "0.00", payout: "5.775" });
    // Period 2: C gives back 0.85 of reversed redemptions, out of the payout still due to it.
    expect(parts(p2.report, C.id)).toEqual({ set_off: "0.00", top_up: "0.00", payout: "-0.85" });
    expect(p1.report.funding).toEqual({ set_off: money("3.72"), top_up: money("0.00"), payout: money("7.775") });
    expect(p1.report.exact.receivable).toBe("11.495"); // 3.72 + 0 + 7.775

    const rows = await sql<{ id: string; prepaid_balance_micros: number; exposure_micros: number; payout_due_micros: number }>(
      "SELECT id, prepaid_balance_micros, exposure_micros, payout_due_micros FROM partners WHERE id IN (?, ?, ?)",
      A.id,
      B.id,
      C.id,
    );
    const f = Object.fromEntries(rows.map((r) => [r.id, r]));
    // A: 100.00 − 12.00 issued + 0.50 taken back; its receivable is not credited to the deposit.
    expect(f[A.id]).toMatchObject({ prepaid_balance_micros: 88_500_000, exposure_micros: 0, payout_due_micros: 2_000_000 });
    // B: exposure 0.924 − 0.57 set off.
    expect(f[B.id]).toMatchObject({ exposure_micros: 354_000, payout_due_micros: 0 });
    // C: never negative: 3.15 − 3.15 = 0; payout due 5.775 − 0.85.
    expect(f[C.id]).toMatchObject({ exposure_micros: 0, payout_due_micros: 4_925_000 });
    const c = await operator("GET", `/partners/${C.id}`);
    expect(c.body.partner).toMatchObject({
      payout_due: money("4.925"),
      funding: { mode: "postpaid", exposure: money("0.00") },
    });
  });
});

describe("period 2: a reversal booked after the close", () => {
  it("lands in the next period and names the original transaction and its period", async () => {
    expect(p2.report.period.start).toBe(p1.report.period.end);
    const c = reportStatement(p2.report, C.id);
    expect(c.points).toMatchObject({ redeemed: 0, redeem_reversed: 100, issued: 0 });
    expect(c.exact).toEqual({ payable: "0.00", receivable: "-0.85", net: "-0.85" });
    expect(c.net).toEqual(money("-0.85"));
    expect(reportStatement(p2.report, A.id).matrix).toEqual([
      { issuer: A.id, redeemer: C.id, points: -50, amount: money("-0.42"), exact: "-0.425", rounding: "-0.005" },
    ]);
    const lines = expectOk(await C.client.get<{ data: StatementLine[] }>(`/v1/settlements/${p2.report.id}/lines`));
    expect(lines.data).toHaveLength(2);
    for (const line of lines.data) {
      expect(line).toMatchObject({
        transaction_id: ids.r4,
        kind: "restore",
        original: { transaction_id: ids.b1, settlement_id: p1.report.id },
      });
    }
    const reversal = expectOk(await getTransaction(C, ids.r4 as string)).transaction;
    expect(reversal).toMatchObject({ original_transaction_id: ids.b1, original_settlement_id: p1.report.id });
    const pos = Object.fromEntries(
      p2.report.points_position.by_issuer.map((p) => [p.issuer, [p.opening, p.redeemed, p.closing]]),
    );
    expect(pos).toEqual({ [A.id]: [0, -50, 50], [B.id]: [77, -50, 127], [C.id]: [0, 0, 0], operator: [40, 0, 40] });
    expect(p2.report.totals.margin).toEqual(money("0.85"));
  });
});

describe("integrity", () => {
  it("the statement is the body, and its signature verifies with plain jose against the JWKS", async () => {
    const keys = await jwks();
    expect(keys.keys).toHaveLength(1);
    expect(keys.keys[0]).not.toHaveProperty("d");
    expect(keys.keys[0]).toMatchObject({ kid: "stmt-test-1", alg: "EdDSA" });
    const statement = await statementOf(C, p1.report.id);
    expect(Object.keys(statement).sort()).toEqual([
      "digest",
      "exact",
      "id",
      "matrix",
      "net",
      "partner_id",
      "payable",
      "payout",
      "period",
      "points",
      "receivable",
      "rounding",
      "set_off",
      "settlement_id",
      "signature",
      "top_up",
    ]);
    expect(statement).toEqual(reportStatement(p1.report, C.id));
    const { payload, protectedHeader } = await compactVerify(statement.signature, createLocalJWKSet(keys as never));
    expect(protectedHeader.kid).toBe("stmt-test-1");
    expect(JSON.parse(new TextDecoder().decode(payload))).toEqual({
      settlement_id: p1.report.id,
      partner_id: C.id,
      digest: statement.digest,
    });
    const { digest, signature, ...rest } = statement;
    expect(await sha256Hex(canonicalJson(rest))).toBe(digest);
    // The full report: digest and signature over { settlement_id, digest }.
    const { digest: rd, signature: rs, ...reportRest } = p1.report;
    expect(await sha256Hex(canonicalJson(reportRest))).toBe(rd);
    const verified = await compactVerify(rs, createLocalJWKSet(keys as never));
    expect(JSON.parse(new TextDecoder().decode(verified.payload))).toEqual({ settlement_id: p1.report.id, digest: rd });
  });

  it("every partner's lines reproduce its statement to the unit (the verification tool)", async () => {
    for (const [partner, period] of [
      [A, p1],
      [B, p1],
      [C, p1],
      [A, p2],
      [B, p2],
      [C, p2],
    ] as const) {
      const result = await verifyStatement({ client: partner.client, settlementId: period.report.id, jwks: await jwks() });
      expect({ partner: partner.id, ...result, statement: undefined }).toMatchObject({
        partner: partner.id,
        ok: true,
        problems: [],
      });
    }
  });

  it("a changed byte fails the check", async () => {
    const statement = await statementOf(C, p1.report.id);
    const lines = expectOk(await C.client.get<{ data: StatementLine[] }>(`/v1/settlements/${p1.report.id}/lines`)).data;
    const keys = (await jwks()) as never;
    expect((await verifyStatementData(statement, lines, keys)).ok).toBe(true);

    const changedNet: Statement = { ...statement, net: { ...statement.net, value: "5.79" } };
    const r1 = await verifyStatementData(changedNet, lines, keys);
    expect(r1.ok).toBe(false);
    expect(r1.problems.join("\n")).toMatch(/digest/);
    expect(r1.problems.join("\n")).toMatch(/net: rounds to 5.78/);

    // The receivable's parts must add up to it exactly (and be there all three, or not at all).
    const changedPayout: Statement = { ...statement, payout: money("5.78") };
    const r2 = (await verifyStatementData(changedPayout, lines, keys)).problems.join("\n");
    expect(r2).toMatch(/set_off \+ top_up \+ payout = 8.93, the exact receivable is 8.925/);
    const { top_up: _t, ...withoutTopUp } = statement;
    expect((await verifyStatementData(withoutTopUp as Statement, lines, keys)).problems.join("\n")).toMatch(
      /receivable split: only set_off, payout present/,
    );

    const sig = statement.signature;
    const i = sig.length - 5;
    const flipped = `${sig.slice(0, i)}${sig[i] === "A" ? "B" : "A"}${sig.slice(i + 1)}`;
    expect((await verifyStatementData({ ...statement, signature: flipped }, lines, keys)).problems.join("\n")).toMatch(
      /signature/,
    );

    const changedLine = lines.map((l, n) => (n === 0 ? { ...l, points: l.points + 1 } : l));
    expect((await verifyStatementData(statement, changedLine, keys)).ok).toBe(false);
    expect((await verifyStatementData(statement, lines.slice(1), keys)).ok).toBe(false);
    // A statement signed for another partner does not pass as this one's.
    const other = await statementOf(A, p1.report.id);
    expect((await verifyStatementData({ ...statement, signature: other.signature }, lines, keys)).ok).toBe(false);
    expect(decodeProtectedHeader(statement.signature).kid).toBe("stmt-test-1");
  });

  it("closing twice yields the same report", async () => {
    const again = await operator("POST", "/settlements/close", { period_end: p1.report.period.end });
    expect(again.status).toBe(200);
    expect(again.text.startsWith(`{"data":[${p1.text}],"open_period":`), again.text).toBe(true);
    const none = await operator("POST", "/settlements/close", {});
    expect(none.status, none.text).toBe(200);
    expect(none.body.data).toEqual([]);
    const stored = await operator("GET", `/settlements/${p1.report.id}`);
    expect(stored.text).toBe(p1.text);
    // A cut inside a closed period is refused; one in the future is invalid.
    const oldest = (await operator("GET", "/settlements?limit=100")).body.data.at(-1) as SignedReport;
    const inside = new Date(Date.parse(oldest.period.start) + 1000).toISOString();
    expect(Date.parse(inside)).toBeLessThan(Date.parse(oldest.period.end));
    expect((await operator("POST", "/settlements/close", { period_end: inside })).body.error.code).toBe("settlement_closed");
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect((await operator("POST", "/settlements/close", { period_end: future })).status).toBe(400);
  });

  it("a closed report cannot be altered, by any code path: the database refuses", async () => {
    const report = p1.report.id;
    const attempts: [string, string][] = [
      ["UPDATE settlement_reports SET report = '{}' WHERE id = ?", report],
      ["DELETE FROM settlement_reports WHERE id = ?", report],
      ["UPDATE settlement_statements SET statement = '{}' WHERE settlement_id = ?", report],
      ["DELETE FROM settlement_statements WHERE settlement_id = ?", report],
      ["UPDATE settlement_positions SET closing = closing + 1 WHERE settlement_id = ?", report],
      ["UPDATE settlement_periods SET end_at = end_at + 1 WHERE id = ?", report],
      ["UPDATE settlement_entries SET points = points + 1 WHERE txn_id = ?", ids.e1 as string],
      ["DELETE FROM settlement_entries WHERE txn_id = ?", ids.e1 as string],
    ];
    for (const [query, bind] of attempts) {
      await expect(env.DB.prepare(query).bind(bind).run(), query).rejects.toThrow(/immutable/);
    }
    expect((await operator("GET", `/settlements/${p1.report.id}`)).text).toBe(p1.text);
  });
});

describe("access", () => {
  it("partners list the periods they took part in; others get 404", async () => {
    const list = expectOk(await C.client.get<{ data: Statement[]; next_cursor: string | null }>("/v1/settlements?limit=1"));
    expect(list.data.map((s) => s.id)).toEqual([p2.report.id]);
    expect(list.next_cursor).not.toBeNull();
    const next = expectOk(
      await C.client.get<{ data: Statement[]; next_cursor: string | null }>(`/v1/settlements?limit=1&cursor=${list.next_cursor}`),
    );
    expect(next.data.map((s) => s.id)).toEqual([p1.report.id]);
    expect(next.next_cursor).toBeNull();
    expect(expectOk(await D.client.get<{ data: Statement[] }>("/v1/settlements")).data).toEqual([]);
    expectError(await D.client.get(`/v1/settlements/${p1.report.id}`), 404, "settlement_not_found");
    expectError(await D.client.get(`/v1/settlements/${p1.report.id}/lines`), 404, "settlement_not_found");
    expectError(await C.client.get("/v1/settlements/stl_20000101T000000Z"), 404, "settlement_not_found");
    expect((await operator("GET", "/settlements/stl_nope")).body.error.code).toBe("settlement_not_found");
    expect((await operator("GET", "/settlements/stl_20000101T000000Z.csv")).status).toBe(404);
  });

  it("bad input answers a 4xx in the contract's shape, never a 5xx", async () => {
    const id = p1.report.id;
    const forged = base64url.encode(JSON.stringify({ at: "x", id: 1 }));
    for (const target of [
      "/v1/settlements?cursor=garbage",
      "/v1/settlements?limit=0",
      `/v1/settlements/${id}/lines?cursor=garbage`,
      `/v1/settlements/${id}/lines?cursor=${forged}`,
      `/v1/settlements/${id}/lines?limit=101`,
    ]) {
      expectError(await C.client.get(target), 400, "invalid_param");
    }
    expectError(await C.client.get(`/v1/settlements/${encodeURIComponent("stl_x'; --")}`), 404, "settlement_not_found");
    const bad: [string, string, unknown, number, string][] = [
      ["POST", "/settlements/close", { period_end: "yesterday" }, 400, "invalid_body"],
      ["POST", "/settlements/close", { period_end: "2026-11-23T00:00:00Z", x: 1 }, 400, "unknown_field"],
      ["POST", "/settlements/close", { period_end: "0001-01-01T00:00:00Z" }, 409, "settlement_closed"],
      ["PUT", "/settlement-config", { utc_offset_minutes: 7 }, 400, "invalid_body"],
      ["PUT", "/settlement-config", { period: "hourly" }, 400, "invalid_body"],
      ["GET", "/metrics?periods=0", undefined, 400, "invalid_param"],
      ["GET", "/settlements?cursor=%25", undefined, 400, "invalid_param"],
      ["GET", `/settlements/${encodeURIComponent("stl_x'; --")}`, undefined, 404, "settlement_not_found"],
    ];
    for (const [method, path, body, status, code] of bad) {
      const r = await operator(method, path, body);
      expect({ path, status: r.status, code: r.body?.error?.code }).toEqual({ path, status, code });
    }
  });

  it("lines paginate, newest first, and each carries its exact amount", async () => {
    const all: StatementLine[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `&cursor=${cursor}` : "";
      const page = expectOk(
        await C.client.get<{ data: StatementLine[]; next_cursor: string | null }>(
          `/v1/settlements/${p1.report.id}/lines?limit=2${query}`,
        ),
      );
      expect(page.data.length).toBeLessThanOrEqual(2);
      all.push(...page.data);
      cursor = page.next_cursor;
    } while (cursor);
    const whole = expectOk(await C.client.get<{ data: StatementLine[] }>(`/v1/settlements/${p1.report.id}/lines?limit=100`)).data;
    expect(all).toEqual(whole);
    // C: its issue, the two redemptions at C, the restore, and its own points redeemed at A.
    expect(whole.map((l) => `${l.transaction_id}:${l.kind}:${l.issuer}>${l.redeemer ?? ""}:${l.points}`).sort()).toEqual(
      [
        `${ids.e3}:issue:${C.id}>:300`,
        `${ids.b1}:redeem:${A.id}>${C.id}:1000`,
        `${ids.b1}:redeem:${B.id}>${C.id}:200`,
        `${ids.r1}:restore:${B.id}>${C.id}:150`,
        `${ids.b2}:redeem:${C.id}>${A.id}:190`,
      ].sort(),
    );
    const restore = whole.find((l) => l.kind === "restore");
    expect(restore).toMatchObject({ price: "0.0085", amount: money("1.275"), receivable: "-1.275", payable: "0.00" });
    // B sees the debt C's earn repaid to it, and its reversal's take-back.
    const bLines = expectOk(await B.client.get<{ data: StatementLine[] }>(`/v1/settlements/${p1.report.id}/lines`)).data;
    expect(bLines.find((l) => l.kind === "debt_repaid")).toMatchObject({ transaction_id: ids.e3, points: 110, payable: "-1.32" });
    expect(bLines.find((l) => l.kind === "take_back")).toMatchObject({
      transaction_id: ids.r2,
      points: 390,
      payable: "-4.68",
      original: { transaction_id: ids.e2, settlement_id: p1.report.id },
    });
  });

  it("the operator lists reports, reads the full report and its CSV", async () => {
    const list = await operator("GET", "/settlements?limit=2", undefined, { tokenOptions: { scope: "read" } });
    expect(list.status).toBe(200);
    expect(list.body.data.map((r: { id: string }) => r.id)).toEqual([p2.report.id, p1.report.id]);
    expect(list.body.data[1]).toMatchObject({ off_cycle: true, digest: p1.report.digest, partners: 3 });
    const csv = await operator("GET", `/settlements/${p1.report.id}.csv`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get("Content-Type")).toMatch(/^text\/csv/);
    const records = csv.text.split("\r\n");
    expect(records[0]).toBe("section,partner,issuer,redeemer,item,points,value,exact,rounding,unit");
    expect(records.at(-1)).toBe("");
    expect(csv.text.replaceAll("\r\n", "")).not.toMatch(/[\r\n]/);
    expect(records).toContain(`statement,${C.id},,,receivable,,8.92,8.925,0.005,CNY`);
    expect(records).toContain(`matrix,,${B.id},${C.id},redeemed,50,0.42,0.425,0.005,CNY`);
    expect(records).toContain("totals,,,,margin,,4.08,4.079,-0.001,CNY");
    expect(records).toContain(`report,,,,digest,,${p1.report.digest},,,`);
    const closeWithRead = await operator("POST", "/settlements/close", {}, { tokenOptions: { scope: "read" } });
    expect(closeWithRead.status).toBe(403);
  });

  it("metrics: outstanding and liability by issuer, per-period flows, breakage rate, exposure", async () => {
    const r = await operator("GET", "/metrics?periods=2");
    expect(r.status, r.text).toBe(200);
    const byIssuer = Object.fromEntries(r.body.outstanding.by_issuer.map((x: { issuer: string }) => [x.issuer, x]));
    expect(byIssuer[A.id]).toEqual({ issuer: A.id, points: 50, liability: money("0.50") });
    expect(byIssuer[B.id]).toEqual({ issuer: B.id, points: 127, liability: money("1.52") });
    expect(byIssuer.operator).toEqual({ issuer: "operator", points: 40, liability: money("0.00") });
    expect(r.body.outstanding.total).toEqual({ points: 217, liability: money("2.02") });
    const [open, last, before] = r.body.periods;
    expect(open).toMatchObject({ open: true, issued: 0, redeemed: 0 });
    expect(last).toMatchObject({ settlement_id: p2.report.id, redeemed: -100, expired: 0 });
    expect(before).toMatchObject({
      settlement_id: p1.report.id,
      issued: 2177,
      redeemed: 1360,
      expired: 150,
      breakage_rate: "0.099338",
    });
    expect(r.body.breakage).toEqual({ redeemed: 1260, expired: 150, rate: "0.106383" });
    const exposure = Object.fromEntries(r.body.exposure.map((x: { partner_id: string }) => [x.partner_id, x]));
    expect(exposure[A.id]).toMatchObject({ funding_mode: "prepaid", balance: money("88.50"), payout_due: money("2.00") });
    expect(exposure[C.id]).toMatchObject({ funding_mode: "postpaid", exposure: money("0.00"), payout_due: money("4.925") });
  });

  it("a new earn after the closes shows up in the open period's metrics only", async () => {
    await nextSecond();
    expectOk(await earn(A, refs.a, 10), 201);
    const r = await operator("GET", "/metrics?periods=1");
    expect(r.body.periods[0]).toMatchObject({ open: true, issued: 10 });
    expect(r.body.periods[1]).toMatchObject({ settlement_id: p2.report.id });
    expect(r.body.outstanding.total.points).toBe(227);
  });
});
