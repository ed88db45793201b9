import type { JSONWebKeySet } from "jose";
import { digestProblems, type Statement, signatureProblems } from "./verify-statement.js";

/**
 * The operator's check of a whole settlement report (operator-api.md "Settlement"), with the
 * code partners check their statements with: the report's digest (canonical JSON without digest
 * and signature) and its JWS over `{ settlement_id, digest }`, then each statement's digest and
 * JWS over `{ settlement_id, partner_id, digest }`, against the published keys. Figures are not
 * re-derived here (that needs each partner's lines: verifyStatementData).
 */
export interface SignedReport {
  settlement_id: string;
  statements: Statement[];
  digest: string;
  signature: string;
  [k: string]: unknown;
}

export interface ReportVerifyResult {
  ok: boolean;
  /** What differs; empty when ok. */
  problems: string[];
  /** Per partner: whether its statement's digest and signature verify. */
  statements: Record<string, boolean>;
}

export async function verifyReportSignatures(report: SignedReport, jwks: JSONWebKeySet): Promise<ReportVerifyResult> {
  const problems = [
    ...(await signatureProblems(report.signature, { settlement_id: report.settlement_id, digest: report.digest }, jwks)),
    ...(await digestProblems(report, "report")),
  ];
  const statements: Record<string, boolean> = {};
  for (const s of report.statements) {
    const expected = { settlement_id: s.settlement_id, partner_id: s.partner_id, digest: s.digest };
    const own = [...(await signatureProblems(s.signature, expected, jwks)), ...(await digestProblems(s, "statement"))];
    statements[s.partner_id] = own.length === 0;
    problems.push(...own.map((p) => `${s.partner_id}: ${p}`));
  }
  return { ok: problems.length === 0, problems, statements };
}
