/**
 * What a close does to funding (economics.md, "What a close does to funding"). Pure: the split of
 * one partner's exact receivable for the period into the three parts its statement shows and its
 * funding takes, given the partner's funding position when the close's batch is decided.
 *
 * A receivable (r ≥ 0) is applied, in this order:
 *   1. set_off: against the exposure (issuance not yet covered), never below zero: netting;
 *   2. top_up:  for a prepaid partner whose funding says "receivables": "top_up", to its deposit;
 *   3. payout:  the rest, owed by the operator (added to payout_due, lowered by recorded payouts).
 * A negative receivable (the period's burn reversals exceed its redemptions: the partner gives
 * back what an earlier close owed it) mirrors that, in reverse: it first cancels payout still due,
 * then (prepaid) is drawn from the deposit down to zero, and the rest raises the exposure. So
 * exposure, payout_due and a deposit are never made negative by a close, and nothing is both
 * credited to funding and paid out. All amounts are exact micros; the parts add up to r exactly.
 */

export type Receivables = "payout" | "top_up";

export interface FundingPosition {
  fundingMode: "prepaid" | "postpaid";
  receivables: Receivables;
  exposureMicros: bigint;
  balanceMicros: bigint;
  payoutDueMicros: bigint;
}

export interface ReceivableSplit {
  setOff: bigint;
  topUp: bigint;
  payout: bigint;
}

const min = (a: bigint, b: bigint) => (a < b ? a : b);
const nonNegative = (a: bigint) => (a > 0n ? a : 0n);

export function splitReceivable(receivable: bigint, position: FundingPosition): ReceivableSplit {
  const split = receivable >= 0n ? splitCredit(receivable, position) : negate(splitClawback(-receivable, position));
  // TigerStyle: the parts are the receivable, exactly, and never move funding below zero.
  if (split.setOff + split.topUp + split.payout !== receivable) throw new Error("receivable split does not add up");
  if (position.exposureMicros - split.setOff < 0n && split.setOff > 0n) throw new Error("set-off below zero exposure");
  return split;
}

function splitCredit(r: bigint, p: FundingPosition): ReceivableSplit {
  const setOff = min(r, nonNegative(p.exposureMicros));
  const rest = r - setOff;
  const topUp = p.fundingMode === "prepaid" && p.receivables === "top_up" ? rest : 0n;
  return { setOff, topUp, payout: rest - topUp };
}

/** How a clawback of `c` > 0 is taken back: payout still due, then the deposit, then exposure. */
function splitClawback(c: bigint, p: FundingPosition): ReceivableSplit {
  const payout = min(c, nonNegative(p.payoutDueMicros));
  const fromDeposit = p.fundingMode === "prepaid" ? min(c - payout, nonNegative(p.balanceMicros)) : 0n;
  return { payout, topUp: fromDeposit, setOff: c - payout - fromDeposit };
}

function negate(s: ReceivableSplit): ReceivableSplit {
  return { setOff: -s.setOff, topUp: -s.topUp, payout: -s.payout };
}
