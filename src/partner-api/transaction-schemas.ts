import { z } from "@hono/zod-openapi";

/** Response shapes of the ledger routes (rendered by SQL: src/ledger/render.ts). */
export const TransactionSchema = z
  .object({
    id: z.string().openapi({ example: "txn_0123456789abcdefghjkmnpqrstv" }),
    type: z.enum(["earn", "burn", "reversal", "expiry", "adjustment"]),
    status: z.enum(["posted", "pending", "held", "voided", "review", "rejected"]),
    points: z.number().int(),
    captured_points: z.number().int().optional(),
    member_id: z.string(),
    partner: z.object({ id: z.string(), name: z.string() }),
    order_ref: z.string().optional(),
    amount: z.object({ value: z.string(), unit: z.string() }).optional(),
    rate: z.string().optional(),
    multiplier: z.string().optional(),
    rate_card_id: z.string().optional(),
    original_transaction_id: z.string().optional(),
    /** A reversal: the settlement period (stl_…) of the transaction it reverses. */
    original_settlement_id: z.string().optional(),
    reason: z.string().optional(),
    occurred_at: z.string(),
    created_at: z.string(),
    available_at: z.string().optional(),
    expires_at: z.string().optional(),
  })
  .openapi("Transaction");

export const BalanceSchema = z
  .object({
    member_id: z.string(),
    points: z.object({ available: z.number().int(), pending: z.number().int(), held: z.number().int() }),
    expiring: z.array(z.object({ points: z.number().int(), expires_at: z.string() })),
    value: z.object({ value: z.string(), unit: z.string() }).nullable(),
    as_of: z.string(),
  })
  .openapi("Balance");

export const TransactionWithBalance = z.object({ transaction: TransactionSchema, balance: BalanceSchema });

export const TransactionIdParams = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" }, example: "txn_0123456789abcdefghjkmnpqrstv" }),
});
