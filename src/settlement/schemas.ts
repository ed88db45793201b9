import { z } from "@hono/zod-openapi";
import { ApiError } from "../http/errors";

/** The OpenAPI shapes of settlement statements, lines and reports (partner-api.md §7, operator-api.md). */

const SettlementId = z
  .string()
  .max(40)
  .openapi({ param: { name: "id", in: "path" }, example: "stl_20261123T000000Z" });
export const SettlementParams = z.object({ id: SettlementId });

const Amount = z.object({ value: z.string(), unit: z.string() });
export const MatrixLineSchema = z.object({
  issuer: z.string(),
  redeemer: z.string(),
  points: z.number(),
  amount: Amount,
  exact: z.string(),
  rounding: z.string(),
});

export const StatementSchema = z
  .object({
    id: z.string(),
    settlement_id: z.string(),
    partner_id: z.string(),
    period: z.object({ start: z.string(), end: z.string() }),
    points: z.object({
      issued: z.number(),
      issue_reversed: z.number(),
      taken_back: z.number(),
      debt_repaid: z.number(),
      redeemed: z.number(),
      redeem_reversed: z.number(),
    }),
    payable: Amount,
    receivable: Amount,
    net: Amount,
    exact: z.object({ payable: z.string(), receivable: z.string(), net: z.string() }),
    rounding: z.object({ payable: z.string(), receivable: z.string(), net: z.string() }),
    // The exact receivable as the close applied it (economics.md "What a close does to funding");
    // absent on statements closed before 2026-12-01.
    set_off: Amount.optional().openapi({ description: "Set off against the partner's exposure (exact)" }),
    top_up: Amount.optional().openapi({ description: "Added to a prepaid deposit (receivables: top_up; exact)" }),
    payout: Amount.optional().openapi({ description: "Owed to the partner, paid out by the operator (exact)" }),
    matrix: z.array(MatrixLineSchema),
    digest: z.string(),
    signature: z.string(),
  })
  .openapi("SettlementStatement");

export const LineSchema = z
  .object({
    id: z.string(),
    transaction_id: z.string(),
    transaction_type: z.string(),
    kind: z.string(),
    issuer: z.string(),
    redeemer: z.string().nullable(),
    points: z.number(),
    price: z.string(),
    amount: Amount,
    payable: z.string(),
    receivable: z.string(),
    booked_at: z.string(),
    settled_at: z.string(),
    original: z.object({ transaction_id: z.string(), settlement_id: z.string().nullable() }).nullable(),
  })
  .openapi("SettlementLine");

export const ReportSchema = z
  .object({ id: z.string(), period: z.object({ start: z.string(), end: z.string() }) })
  .passthrough()
  .openapi("SettlementReport");

export function settlementNotFound(): ApiError {
  return new ApiError("settlement_not_found", "no such settlement", "id");
}
