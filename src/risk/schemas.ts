import { z } from "@hono/zod-openapi";
import { RiskRuleSchema } from "./rules";

/** Wire schemas of the operator's risk API (operator-api.md "Risk rules"): the rule set, the event log, the review queue. */

export const RuleSetResponse = z
  .object({
    rules: z.array(RiskRuleSchema),
    version: z.number().int().openapi({ description: "Incremented by every PUT" }),
    updated_at: z.string().nullable(),
    updated_by: z.string().nullable().openapi({ description: "The operator token's sub that set it" }),
  })
  .openapi("RiskRuleSetState");

export const RiskEventSchema = z
  .object({
    id: z.string().openapi({ example: "rsk_42" }),
    at: z.string(),
    rule_id: z.string(),
    action: z
      .enum(["deny", "review"])
      .openapi({ description: "deny: the request was declined (422 risk_declined); review: the transaction was sent to review" }),
    applies_to: z.enum(["earn", "burn", "enroll"]),
    partner_id: z.string(),
    member_id: z.string().nullable(),
    member_ref: z.string().nullable(),
    transaction_id: z.string().nullable().openapi({ description: "The transaction sent to review; a declined request has none" }),
    points: z.number().int().nullable(),
    context: z.object({
      ip: z.string().openapi({ description: "Normalised (IPv4-mapped IPv6 as IPv4)" }),
      device_id: z.string().optional(),
    }),
    request_id: z.string().nullable(),
  })
  .openapi("RiskEvent");

export const ReviewSchema = z
  .object({
    transaction: z
      .record(z.string(), z.unknown())
      .openapi({ description: "The transaction, as its partner sees it (status review)" }),
    rule_id: z.string().nullable().openapi({ description: "The review rule that sent it (the first that tripped)" }),
    context: z.object({ ip: z.string().nullable(), device_id: z.string().optional() }),
    decide_by: z.string().openapi({ description: "After this the scheduled job rejects it and it can no longer be approved" }),
  })
  .openapi("Review");

export const DecisionBody = z
  .strictObject({ decision: z.enum(["approve", "reject"]) })
  .openapi("ReviewDecision", { example: { decision: "approve" } });

export const TransactionIdParams = z.object({
  transaction_id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "transaction_id", in: "path" }, example: "txn_0123456789abcdefghjkmnpqrstv" }),
});
