/** The shapes of a settlement report and its statements (built by report.ts, stored signed by close.ts). */

export type EntryKind =
  | "issue"
  | "reverse_issue"
  | "take_back"
  | "unexpire"
  | "repaid_returned"
  | "debt_repaid"
  | "redeem"
  | "restore"
  | "expire"
  | "repay";

/** A sum of entries of one kind, issuer, redeemer ('' when none) and prices. */
export interface SumRow {
  kind: EntryKind;
  issuer_id: string;
  redeemer_id: string;
  issue_price_micros: number;
  redeem_price_micros: number;
  points: number;
  lines: number;
}

export interface PositionRow {
  issuer_id: string;
  issue_price_micros: number;
  opening: number;
  issued: number;
  reversed: number;
  redeemed: number;
  expired: number;
  debt_created: number;
  debt_repaid: number;
  closing: number;
}

export interface PeriodRow {
  id: string;
  start_at: number;
  end_at: number;
  off_cycle: number;
  closed_at: number;
  closed_by: string;
}

export interface StatementPoints {
  issued: number;
  issue_reversed: number;
  taken_back: number;
  debt_repaid: number;
  redeemed: number;
  redeem_reversed: number;
}

export interface MatrixLine {
  issuer: string;
  redeemer: string;
  points: number;
  amount: { value: string; unit: string };
  exact: string;
  rounding: string;
}

/** A partner's statement without digest and signature (exactly the digested fields). */
export interface StatementBody {
  id: string;
  settlement_id: string;
  partner_id: string;
  period: { start: string; end: string };
  points: StatementPoints;
  payable: { value: string; unit: string };
  receivable: { value: string; unit: string };
  net: { value: string; unit: string };
  exact: { payable: string; receivable: string; net: string };
  rounding: { payable: string; receivable: string; net: string };
  /** The exact receivable, applied: against exposure, to the deposit, owed as a payout. */
  set_off: { value: string; unit: string };
  top_up: { value: string; unit: string };
  payout: { value: string; unit: string };
  matrix: MatrixLine[];
}

export interface SignedStatement extends StatementBody {
  digest: string;
  signature: string;
}

export interface PositionJson {
  opening: number;
  issued: number;
  reversed: number;
  redeemed: number;
  expired: number;
  debt_created: number;
  debt_repaid: number;
  closing: number;
  liability: { value: string; unit: string };
  breakage: { value: string; unit: string };
  exact: { liability: string; breakage: string };
  rounding: { liability: string; breakage: string };
}

/** The full report without digest and signature; `statements` are the signed statements. */
export interface ReportBody {
  id: string;
  settlement_id: string;
  period: { start: string; end: string };
  off_cycle: boolean;
  closed_at: string;
  currency: string;
  statements: SignedStatement[];
  matrix: MatrixLine[];
  points_position: { by_issuer: ({ issuer: string } & PositionJson)[]; total: PositionJson };
  totals: {
    payable: { value: string; unit: string };
    receivable: { value: string; unit: string };
    margin: { value: string; unit: string };
    liability: { value: string; unit: string };
    breakage: { value: string; unit: string };
  };
  exact: { payable: string; receivable: string; margin: string; liability: string; breakage: string };
  rounding: { payable: string; receivable: string; margin: string; liability: string; breakage: string };
  /** Σ of the statements' exact parts: what the close set off, topped up and left to pay out. */
  funding: {
    set_off: { value: string; unit: string };
    top_up: { value: string; unit: string };
    payout: { value: string; unit: string };
  };
}

export interface SignedReport extends ReportBody {
  digest: string;
  signature: string;
}
