import type { SqlQueryable } from "../../src/ledger/invariants";
import { describeAnswer, operatorRequest } from "./api";
import type { BankTest } from "./bank-test";
import { formatMicros, signedMicros } from "./util";

/**
 * The bank test's funding checks (economics.md "What a close does to funding"):
 *  - after every close (API): exposure and payout_due are never negative; a postpaid partner's
 *    issuing room never exceeds its limit plus its recorded payments, a prepaid one's never its
 *    deposit plus its top-ups (payments and the closes' top_up parts); each statement's
 *    set_off + top_up + payout is its exact receivable, and their sums over partners the report's;
 *  - a payout of what is due, then one beyond it (422 payout_exceeds_due);
 *  - at the end (DB): each partner's funding reconciles exactly with the ledger's draws and
 *    credits, the payments, the closes' parts and the payouts.
 */

const CLOSE = "funding after each close (API)";
const SPLIT = "Σ set_off + top_up + payout = Σ receivable";
const PAYOUTS = "payouts (API)";
const FINAL = "funding follows payable (DB)";

interface Parts {
  setOff: number;
  topUp: number;
  payout: number;
}

/** Every closed report, fetched once (closed reports never change). */
async function closedReports(bt: BankTest): Promise<any[]> {
  let cursor: string | null = null;
  for (let page = 0; page < 20; page++) {
    const list = await operatorRequest(
      bt.t,
      "GET",
      `/settlements?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
    );
    if (!list.ok) {
      bt.violation(CLOSE, `GET /admin/v1/settlements: ${describeAnswer(list)}`);
      break;
    }
    for (const r of (list.json?.data ?? []) as { id?: unknown }[]) {
      if (typeof r.id !== "string" || bt.reportBodies.has(r.id)) continue;
      const full = await operatorRequest(bt.t, "GET", `/settlements/${r.id}`);
      if (full.ok) bt.reportBodies.set(r.id, full.json);
      else bt.violation(CLOSE, `GET /admin/v1/settlements/${r.id}: ${describeAnswer(full)}`);
    }
    cursor = list.json?.next_cursor ?? null;
    if (!cursor) break;
  }
  return [...bt.reportBodies.values()];
}

/** Σ of each partner's parts over the reports; checks each statement's and each report's sums. */
function sumParts(bt: BankTest, reports: any[]): Map<string, Parts> {
  const sums = new Map<string, Parts>();
  for (const report of reports) {
    const total = { receivable: 0, parts: 0 };
    for (const st of (report?.statements ?? []) as any[]) {
      bt.tally(SPLIT);
      const [setOff, topUp, payout, receivable] = [
        st.set_off?.value,
        st.top_up?.value,
        st.payout?.value,
        st.exact?.receivable,
      ].map(signedMicros);
      if (setOff === undefined || topUp === undefined || payout === undefined || receivable === undefined) {
        bt.violation(
          SPLIT,
          `${report.id} ${st.partner_id}: parts missing: ${JSON.stringify([st.set_off, st.top_up, st.payout])}`,
        );
        continue;
      }
      if (setOff + topUp + payout !== receivable)
        bt.violation(
          SPLIT,
          `${report.id} ${st.partner_id}: ${formatMicros(setOff + topUp + payout)} ≠ receivable ${formatMicros(receivable)}`,
        );
      total.receivable += receivable;
      total.parts += setOff + topUp + payout;
      const acc = sums.get(st.partner_id) ?? { setOff: 0, topUp: 0, payout: 0 };
      sums.set(st.partner_id, { setOff: acc.setOff + setOff, topUp: acc.topUp + topUp, payout: acc.payout + payout });
    }
    const shown = ["set_off", "top_up", "payout"].reduce(
      (s, k) => s + (signedMicros(report?.funding?.[k]?.value) ?? Number.NaN),
      0,
    );
    if (total.parts !== total.receivable || shown !== signedMicros(report?.exact?.receivable))
      bt.violation(
        SPLIT,
        `${report?.id}: Σ parts ${formatMicros(total.parts)}, report funding ${shown}, Σ receivable ${formatMicros(total.receivable)}`,
      );
  }
  return sums;
}

/** Checked right after a close: the invariants of the funding the close left. */
export async function checkFundingAfterClose(bt: BankTest, when: string): Promise<void> {
  const parts = sumParts(bt, await closedReports(bt));
  const list = await operatorRequest(bt.t, "GET", "/partners?limit=100");
  if (!list.ok) return bt.violation(CLOSE, `${when}: GET /admin/v1/partners: ${describeAnswer(list)}`);
  const shown = new Map(((list.json?.data ?? []) as any[]).map((p) => [p.id, p]));
  for (const p of bt.coalition.partners) {
    bt.tally(CLOSE);
    const got = shown.get(p.id);
    const exposure = signedMicros(got?.funding?.exposure?.value);
    const due = signedMicros(got?.payout_due?.value);
    const problems: string[] = [];
    if (exposure === undefined || exposure < 0) problems.push(`exposure ${got?.funding?.exposure?.value}`);
    if (due === undefined || due < 0) problems.push(`payout_due ${got?.payout_due?.value}`);
    const paid = bt.topUps.get(p.id) ?? 0;
    if (p.fundingMode === "postpaid") {
      const room = signedMicros(got?.funding?.available_credit?.value) ?? Number.POSITIVE_INFINITY;
      if (room > p.initialMicros + paid)
        problems.push(`issuing room ${formatMicros(room)} > limit + payments ${formatMicros(p.initialMicros + paid)}`);
    } else {
      const room = signedMicros(got?.funding?.balance?.value) ?? Number.POSITIVE_INFINITY;
      const ceiling = p.initialMicros + paid + Math.max(0, parts.get(p.id)?.topUp ?? 0);
      if (room > ceiling) problems.push(`balance ${formatMicros(room)} > deposit + top-ups ${formatMicros(ceiling)}`);
    }
    if (problems.length > 0) bt.violation(CLOSE, `${when}: ${p.id}: ${problems.join("; ")}`);
  }
}

/** The operator pays out what is due to the partner owed most, then tries to pay more than is due. */
export async function payoutAfterClose(bt: BankTest): Promise<void> {
  const list = await operatorRequest(bt.t, "GET", "/partners?limit=100");
  const ours = new Set(bt.coalition.partners.map((p) => p.id));
  const owed = ((list.json?.data ?? []) as any[])
    .filter((p) => ours.has(p.id))
    .map((p) => ({ id: p.id as string, due: signedMicros(p.payout_due?.value) ?? 0 }))
    .sort((a, b) => b.due - a.due)[0];
  if (!owed || owed.due <= 0) {
    bt.opts.log("payouts: nothing is due after the close");
    return;
  }
  bt.tally(PAYOUTS, 3);
  const currency = bt.coalition.currency;
  const key = `${bt.runId}-payout-${owed.id}`;
  const body = { amount: { value: formatMicros(owed.due), unit: currency }, reference: key };
  const paid = await operatorRequest(bt.t, "POST", `/partners/${owed.id}/payouts`, body, key);
  if (paid.status !== 201)
    return bt.violation(PAYOUTS, `payout of ${formatMicros(owed.due)} to ${owed.id}: ${describeAnswer(paid)}`);
  bt.payouts.set(owed.id, (bt.payouts.get(owed.id) ?? 0) + owed.due);
  const again = await operatorRequest(bt.t, "POST", `/partners/${owed.id}/payouts`, body, key);
  if (!again.replayed || again.text !== paid.text) bt.violation(PAYOUTS, `payout ${key} redelivered: ${describeAnswer(again)}`);
  // Far beyond anything a credit could add to payout_due meanwhile.
  const over = { amount: { value: "100000.00", unit: currency }, reference: `${key}-over` };
  const refused = await operatorRequest(bt.t, "POST", `/partners/${owed.id}/payouts`, over, `${key}-over`);
  if (refused.status !== 422 || refused.code !== "payout_exceeds_due")
    bt.violation(PAYOUTS, `payout beyond what is due to ${owed.id}: ${describeAnswer(refused)}, expected 422 payout_exceeds_due`);
}

async function sums(db: SqlQueryable, sql: string): Promise<Map<string, number>> {
  const { results } = await db.prepare(sql).bind().all<{ p: string; s: number }>();
  return new Map(results.map((r) => [r.p, r.s]));
}

/**
 * Net issuance per partner, from the ledger: issued × issue price, less points taken back by earn
 * reversals (from the lot, from breakage, or handed back to a debt the earn had repaid) × the earn's
 * price and debt repaid × the debt's price.
 */
async function netIssuance(db: SqlQueryable): Promise<(id: string) => number> {
  const draws = await sums(
    db,
    "SELECT partner_id AS p, SUM(points * issue_price_micros) AS s FROM transactions WHERE type = 'earn' AND status IN ('posted', 'pending') GROUP BY partner_id",
  );
  const takenBack = await sums(
    db,
    "SELECT issuer_id AS p, SUM(points * issue_price_micros) AS s FROM lot_movements WHERE kind IN ('take_back', 'unexpire') GROUP BY issuer_id",
  );
  const repaid = await sums(
    db,
    "SELECT d.issuer_id AS p, SUM(dr.points * d.issue_price_micros) AS s FROM debt_repayments dr JOIN debts d ON d.id = dr.debt_id GROUP BY d.issuer_id",
  );
  // Reversing an earn that had repaid a debt hands those points back to the debt (its issuer is
  // charged again, in `repaid`) and credits the earn's issuer for them, as points taken back.
  const handedBack = await sums(
    db,
    `SELECT e.partner_id AS p, SUM(-(SELECT COALESCE(SUM(points), 0) FROM debt_repayments WHERE txn_id = r.id) * e.issue_price_micros) AS s
       FROM transactions r JOIN transactions e ON e.id = r.original_id
      WHERE r.type = 'reversal' AND e.type = 'earn' GROUP BY e.partner_id`,
  );
  const get = (m: Map<string, number>, id: string) => m.get(id) ?? 0;
  return (id) => get(draws, id) - get(takenBack, id) - get(handedBack, id) - get(repaid, id);
}

/**
 * At the end, exactly, in micros. Prepaid: balance = deposit + payments + Σ top_up − net issuance,
 * exposure = −Σ set_off (a clawback beyond the deposit), payout_due = Σ payout − payouts. Postpaid,
 * where a credit beyond the exposure moves to payout_due: exposure − payout_due = net issuance −
 * payments − Σ set_off − Σ payout + payouts. Nothing negative.
 */
export async function fundingChecks(bt: BankTest, db: SqlQueryable): Promise<void> {
  const parts = sumParts(bt, await closedReports(bt));
  const issuance = await netIssuance(db);
  const { results } = await db
    .prepare("SELECT id, prepaid_balance_micros AS balance, exposure_micros AS exposure, payout_due_micros AS due FROM partners")
    .bind()
    .all<{ id: string; balance: number; exposure: number; due: number }>();
  const rows = new Map(results.map((r) => [r.id, r]));
  for (const p of bt.coalition.partners) {
    bt.tally(FINAL);
    const row = rows.get(p.id);
    if (!row) {
      bt.violation(FINAL, `${p.id}: not in partners`);
      continue;
    }
    const part = parts.get(p.id) ?? { setOff: 0, topUp: 0, payout: 0 };
    const paid = bt.topUps.get(p.id) ?? 0;
    const paidOut = bt.payouts.get(p.id) ?? 0;
    const want =
      p.fundingMode === "prepaid"
        ? { balance: p.initialMicros + paid + part.topUp - issuance(p.id), exposure: -part.setOff, due: part.payout - paidOut }
        : { exposureLessDue: issuance(p.id) - paid - part.setOff - part.payout + paidOut };
    const got =
      p.fundingMode === "prepaid"
        ? { balance: row.balance, exposure: row.exposure, due: row.due }
        : { exposureLessDue: row.exposure - row.due };
    const negative = row.balance < 0 || row.exposure < 0 || row.due < 0;
    if (negative || JSON.stringify(got) !== JSON.stringify(want)) {
      bt.violation(
        FINAL,
        `${p.id} (${p.fundingMode}): ${JSON.stringify(got)}, expected ${JSON.stringify(want)} (net issuance ${formatMicros(issuance(p.id))}, payments ${formatMicros(paid)}, parts ${JSON.stringify(part)}, payouts ${formatMicros(paidOut)}; balance ${row.balance}, exposure ${row.exposure}, payout_due ${row.due})`,
      );
    }
  }
}
