import { toRfc3339 } from "../db/time";
import { type FundingPosition, type ReceivableSplit, splitReceivable } from "./close-funding";
import { exactText, type Figure, figure } from "./money";
import type {
  MatrixLine,
  PeriodRow,
  PositionJson,
  PositionRow,
  ReportBody,
  StatementBody,
  StatementPoints,
  SumRow,
} from "./report-types";

/**
 * The settlement report of one period, built from the period's sums (economics.md "Settlement").
 * Pure: the same sums, opening position and period give the same report, byte for byte.
 *
 * Per partner P (never the `operator` pseudo-issuer, which has no statement):
 *   payable    = Σ issued × issue price − Σ taken back by earn reversals × issue price (from the lot, out
 *                of breakage, and points that had repaid another debt and go back to it)
 *                − Σ debt repaid × the debt's issue price (credited to the debt's issuer; negative when
 *                a reversal brings a repaid debt back)
 *   receivable = Σ redeemed at P × redeem price − Σ reversed burns at P × redeem price
 *   net        = receivable − payable
 * and the receivable's split into set_off + top_up + payout (close-funding.ts), exact.
 * The matrix pairs issuers (whose lots were consumed) with redeemers (where): points and value
 * at the redeemer's redeem price, reversed burns subtracted. The points position per issuer obeys
 * invariant 4: closing = opening + issued − reversed − redeemed − expired − debt repaid + debt created.
 */

export const OPERATOR_ISSUER = "operator";

export type {
  EntryKind,
  MatrixLine,
  PeriodRow,
  PositionRow,
  ReportBody,
  SignedReport,
  SignedStatement,
  StatementBody,
  StatementPoints,
  SumRow,
} from "./report-types";

/** Σ points × price, exactly, in micros. */
function money(points: number, priceMicros: number): bigint {
  return BigInt(points) * BigInt(priceMicros);
}

function safe(n: number, what: string): number {
  if (!Number.isSafeInteger(n)) throw new RangeError(`${what} ${n} is not a safe integer`);
  return n;
}

interface PartnerAcc {
  points: StatementPoints;
  payable: bigint;
  receivable: bigint;
}

interface PairAcc {
  issuer: string;
  redeemer: string;
  points: number;
  amount: bigint;
}

interface PositionAcc {
  issuer: string;
  price: number;
  opening: number;
  issued: number;
  reversed: number;
  redeemed: number;
  expired: number;
  takenBack: number;
  debtRepaid: number;
}

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The sums of one period folded into statements, matrix and position (before signing). */
export interface PeriodFigures {
  statements: StatementBody[];
  matrix: MatrixLine[];
  positions: PositionRow[];
  /** Per partner, its receivable's split as the close applies it to funding (micros). */
  funding: ({ id: string } & ReceivableSplit)[];
  report: Omit<ReportBody, "statements">;
}

/** A partner's funding when the close is decided; one missing from the map has none (no exposure, payout). */
export type FundingPositions = ReadonlyMap<string, FundingPosition>;

const NO_FUNDING: FundingPosition = {
  fundingMode: "postpaid",
  receivables: "payout",
  exposureMicros: 0n,
  balanceMicros: 0n,
  payoutDueMicros: 0n,
};

export function buildPeriodFigures(
  period: PeriodRow,
  rows: SumRow[],
  opening: PositionRow[],
  currency: string,
  fundingPositions: FundingPositions = new Map(),
): PeriodFigures {
  const partners = new Map<string, PartnerAcc>();
  const pairs = new Map<string, PairAcc>();
  const positions = new Map<string, PositionAcc>();

  const partner = (id: string): PartnerAcc | undefined => {
    if (id === "" || id === OPERATOR_ISSUER) return undefined;
    let acc = partners.get(id);
    if (!acc) {
      acc = {
        points: { issued: 0, issue_reversed: 0, taken_back: 0, debt_repaid: 0, redeemed: 0, redeem_reversed: 0 },
        payable: 0n,
        receivable: 0n,
      };
      partners.set(id, acc);
    }
    return acc;
  };
  const position = (issuer: string, price: number): PositionAcc => {
    const key = `${issuer}\u0000${price}`;
    let acc = positions.get(key);
    if (!acc) {
      acc = { issuer, price, opening: 0, issued: 0, reversed: 0, redeemed: 0, expired: 0, takenBack: 0, debtRepaid: 0 };
      positions.set(key, acc);
    }
    return acc;
  };
  const pair = (issuer: string, redeemer: string): PairAcc => {
    const key = `${issuer}\u0000${redeemer}`;
    let acc = pairs.get(key);
    if (!acc) {
      acc = { issuer, redeemer, points: 0, amount: 0n };
      pairs.set(key, acc);
    }
    return acc;
  };

  for (const o of opening) position(o.issuer_id, o.issue_price_micros).opening += o.closing;

  for (const r of rows) {
    const points = safe(r.points, "points");
    const issueMoney = money(points, r.issue_price_micros);
    const redeemMoney = money(points, r.redeem_price_micros);
    const issuer = partner(r.issuer_id);
    const redeemer = partner(r.redeemer_id);
    const pos = () => position(r.issuer_id, r.issue_price_micros);
    switch (r.kind) {
      case "issue":
        pos().issued += points;
        if (issuer) {
          issuer.points.issued += points;
          issuer.payable += issueMoney;
        }
        break;
      case "reverse_issue":
        pos().reversed += points;
        if (issuer) issuer.points.issue_reversed += points;
        break;
      case "take_back":
      case "unexpire":
        pos().takenBack += points;
        if (r.kind === "unexpire") pos().expired -= points;
        if (issuer) {
          issuer.points.taken_back += points;
          issuer.payable -= issueMoney;
        }
        break;
      case "repaid_returned":
        // Money only: for the position these points were reversed and became (returned) debt.
        if (issuer) {
          issuer.points.taken_back += points;
          issuer.payable -= issueMoney;
        }
        break;
      case "debt_repaid":
        // Money only: the position counts repayments by the repaying lot's issuer (`repay`).
        if (issuer) {
          issuer.points.debt_repaid += points;
          issuer.payable -= issueMoney;
        }
        break;
      case "redeem":
      case "restore": {
        const sign = r.kind === "redeem" ? 1 : -1;
        pos().redeemed += sign * points;
        const p = pair(r.issuer_id, r.redeemer_id);
        p.points += sign * points;
        p.amount += BigInt(sign) * redeemMoney;
        // Both ends of the pair take part (the issuer sees the line in its matrix).
        if (redeemer) {
          if (r.kind === "redeem") redeemer.points.redeemed += points;
          else redeemer.points.redeem_reversed += points;
          redeemer.receivable += BigInt(sign) * redeemMoney;
        }
        break;
      }
      case "expire":
        pos().expired += points;
        partner(r.issuer_id);
        break;
      case "repay":
        pos().debtRepaid += points;
        partner(r.issuer_id);
        break;
    }
  }

  const matrixLine = (p: PairAcc): MatrixLine => {
    const f = figure(p.amount, currency);
    return { issuer: p.issuer, redeemer: p.redeemer, points: p.points, amount: f.amount, exact: f.exact, rounding: f.rounding };
  };
  const sortedPairs = [...pairs.values()].sort((a, b) => byString(a.issuer, b.issuer) || byString(a.redeemer, b.redeemer));
  const matrix = sortedPairs.map(matrixLine);

  const periodJson = { start: toRfc3339(period.start_at), end: toRfc3339(period.end_at) };
  const ids = [...partners.keys()].sort(byString);
  const splits = new Map(
    ids.map((id) => [id, splitReceivable((partners.get(id) as PartnerAcc).receivable, fundingPositions.get(id) ?? NO_FUNDING)]),
  );
  const exactAmount = (micros: bigint) => ({ value: exactText(micros, currency), unit: currency });
  const statements: StatementBody[] = ids.map((id) => {
    const acc = partners.get(id) as PartnerAcc;
    const payable = figure(acc.payable, currency);
    const receivable = figure(acc.receivable, currency);
    const net = figure(acc.receivable - acc.payable, currency);
    const split = splits.get(id) as ReceivableSplit;
    return {
      id: period.id,
      settlement_id: period.id,
      partner_id: id,
      period: periodJson,
      points: acc.points,
      payable: payable.amount,
      receivable: receivable.amount,
      net: net.amount,
      exact: { payable: payable.exact, receivable: receivable.exact, net: net.exact },
      rounding: { payable: payable.rounding, receivable: receivable.rounding, net: net.rounding },
      set_off: exactAmount(split.setOff),
      top_up: exactAmount(split.topUp),
      payout: exactAmount(split.payout),
      matrix: sortedPairs.filter((p) => p.issuer === id || p.redeemer === id).map(matrixLine),
    };
  });

  const positionRows: PositionRow[] = [...positions.values()]
    .sort((a, b) => byString(a.issuer, b.issuer) || a.price - b.price)
    .map((p) => {
      const debtCreated = p.reversed - p.takenBack;
      return {
        issuer_id: p.issuer,
        issue_price_micros: p.price,
        opening: p.opening,
        issued: p.issued,
        reversed: p.reversed,
        redeemed: p.redeemed,
        expired: p.expired,
        debt_created: debtCreated,
        debt_repaid: p.debtRepaid,
        closing: safe(p.opening + p.issued - p.reversed - p.redeemed - p.expired - p.debtRepaid + debtCreated, "closing"),
      };
    });

  const positionJson = (list: PositionRow[]): PositionJson => {
    const sum = (k: keyof Omit<PositionRow, "issuer_id" | "issue_price_micros">) => list.reduce((s, p) => s + p[k], 0);
    const liability = figure(
      list.reduce((s, p) => s + money(p.closing, p.issue_price_micros), 0n),
      currency,
    );
    const breakage = figure(
      list.reduce((s, p) => s + money(p.expired, p.issue_price_micros), 0n),
      currency,
    );
    return {
      opening: sum("opening"),
      issued: sum("issued"),
      reversed: sum("reversed"),
      redeemed: sum("redeemed"),
      expired: sum("expired"),
      debt_created: sum("debt_created"),
      debt_repaid: sum("debt_repaid"),
      closing: sum("closing"),
      liability: liability.amount,
      breakage: breakage.amount,
      exact: { liability: liability.exact, breakage: breakage.exact },
      rounding: { liability: liability.rounding, breakage: breakage.rounding },
    };
  };
  const issuers = [...new Set(positionRows.map((p) => p.issuer_id))];
  const total = positionJson(positionRows);

  const sumPayable = ids.reduce((s, id) => s + (partners.get(id) as PartnerAcc).payable, 0n);
  const sumReceivable = ids.reduce((s, id) => s + (partners.get(id) as PartnerAcc).receivable, 0n);
  const totals: Record<"payable" | "receivable" | "margin" | "liability" | "breakage", Figure> = {
    payable: figure(sumPayable, currency),
    receivable: figure(sumReceivable, currency),
    margin: figure(sumPayable - sumReceivable, currency),
    liability: figure(
      positionRows.reduce((s, p) => s + money(p.closing, p.issue_price_micros), 0n),
      currency,
    ),
    breakage: figure(
      positionRows.reduce((s, p) => s + money(p.expired, p.issue_price_micros), 0n),
      currency,
    ),
  };
  const names = ["payable", "receivable", "margin", "liability", "breakage"] as const;
  const pick = <K extends keyof Figure>(k: K) =>
    Object.fromEntries(names.map((n) => [n, totals[n][k]])) as Record<(typeof names)[number], Figure[K]>;

  return {
    statements,
    matrix,
    positions: positionRows,
    funding: ids.map((id) => ({ id, ...(splits.get(id) as ReceivableSplit) })),
    report: {
      id: period.id,
      settlement_id: period.id,
      period: periodJson,
      off_cycle: period.off_cycle === 1,
      closed_at: toRfc3339(period.closed_at),
      currency,
      matrix,
      points_position: {
        by_issuer: issuers.map((issuer) => ({ issuer, ...positionJson(positionRows.filter((p) => p.issuer_id === issuer)) })),
        total,
      },
      totals: pick("amount"),
      exact: pick("exact"),
      rounding: pick("rounding"),
      funding: {
        set_off: exactAmount([...splits.values()].reduce((t, x) => t + x.setOff, 0n)),
        top_up: exactAmount([...splits.values()].reduce((t, x) => t + x.topUp, 0n)),
        payout: exactAmount([...splits.values()].reduce((t, x) => t + x.payout, 0n)),
      },
    },
  };
}
