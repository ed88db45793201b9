import { createRoute, z } from "@hono/zod-openapi";
import { auditStatement } from "../audit/log";
import { toRfc3339 } from "../db/time";
import type { RouteModule } from "../http/app";
import { ApiError } from "../http/errors";
import { decodeCursor, page } from "../http/pagination";
import { runKeyedWrite } from "../http/runner";
import {
  errorResponses,
  IDEMPOTENCY_ERRORS,
  jsonBody,
  jsonResponse,
  ListQuery,
  listOf,
  OPERATOR_AUTH_ERRORS,
} from "../http/schemas";
import { coalitionSettings } from "../ledger/expiry-policy";
import { transactionJson } from "../ledger/render";
import { approveStatements, getReviewTransaction, listReviews, rejectStatements } from "./reviews";
import { type RiskRule, RiskRuleSchema, RiskRuleSetSchema } from "./rules";
import { listRiskEvents, readRuleSet, replaceRuleSet } from "./store";

/**
 * Operator API for risk (operator-api.md "Risk rules"): the rule set, the risk event log, and
 * the review queue with its decisions.
 */

const RuleSetResponse = z
  .object({
    rules: z.array(RiskRuleSchema),
    version: z.number().int().openapi({ description: "Incremented by every PUT" }),
    updated_at: z.string().nullable(),
    updated_by: z.string().nullable().openapi({ description: "The operator token's sub that set it" }),
  })
  .openapi("RiskRuleSetState");

const RiskEventSchema = z
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

const ReviewSchema = z
  .object({
    transaction: z
      .record(z.string(), z.unknown())
      .openapi({ description: "The transaction, as its partner sees it (status review)" }),
    rule_id: z.string().nullable().openapi({ description: "The review rule that sent it (the first that tripped)" }),
    context: z.object({ ip: z.string().nullable(), device_id: z.string().optional() }),
    decide_by: z.string().openapi({ description: "After this the scheduled job rejects it and it can no longer be approved" }),
  })
  .openapi("Review");

const DecisionBody = z.strictObject({ decision: z.enum(["approve", "reject"]) }).openapi("ReviewDecision");

const TransactionIdParams = z.object({
  transaction_id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "transaction_id", in: "path" }, example: "txn_0123456789abcdefghjkmnpqrstv" }),
});

const FilterString = (name: string, max = 128) =>
  z
    .string()
    .min(1)
    .max(max)
    .optional()
    .openapi({ param: { name, in: "query" } });

function badCursor(): ApiError {
  return new ApiError("invalid_param", "cursor is not one this API returned", "cursor");
}

export const riskRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "get",
      path: "/risk-rules",
      tags: ["Operator: risk"],
      summary: "The risk rule set, in order",
      security: [{ OperatorToken: [] }],
      responses: {
        200: jsonResponse("The rule set", RuleSetResponse),
        ...errorResponses("invalid_param", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const set = await readRuleSet(c.env.DB);
      return c.json(
        {
          rules: set.rules,
          version: set.version,
          updated_at: set.updatedAt === null ? null : toRfc3339(set.updatedAt),
          updated_by: set.updatedBy,
        },
        200,
      );
    },
  );

  r.openapi(
    createRoute({
      method: "put",
      path: "/risk-rules",
      tags: ["Operator: risk"],
      summary: "Replace the whole risk rule set (at most 100 rules; order matters: the first tripped rule names a decline)",
      description:
        'Each rule is a limit (max_count, max_points, max_distinct_members over window_seconds per member, device or IP; or max_points of one transaction) or a block list (`block`: IPs and CIDR ranges, or device ids). Windows are bucketed: a window counts everything in it, and at most one tenth of a window more (README "Risk rules").',
      security: [{ OperatorToken: [] }],
      request: { body: jsonBody(RiskRuleSetSchema) },
      responses: {
        200: jsonResponse("The new rule set", RuleSetResponse),
        ...errorResponses("invalid_body", "unknown_field", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { rules } = c.req.valid("json") as { rules: RiskRule[] };
      const db = c.env.DB;
      const now = c.get("now");
      const partnerIds = [...new Set(rules.flatMap((rule) => (rule.partner_id === undefined ? [] : [rule.partner_id])))];
      if (partnerIds.length > 0) {
        const { results } = await db
          .prepare(`SELECT id FROM partners WHERE id IN (${partnerIds.map((_, i) => `?${i + 1}`).join(", ")})`)
          .bind(...partnerIds)
          .all<{ id: string }>();
        const known = new Set(results.map((row) => row.id));
        const i = rules.findIndex((rule) => rule.partner_id !== undefined && !known.has(rule.partner_id));
        if (i >= 0)
          throw new ApiError(
            "invalid_body",
            `rules.${i}.partner_id: no partner ${rules[i]?.partner_id}`,
            `rules.${i}.partner_id`,
          );
      }
      await replaceRuleSet(db, rules, c.get("operator").sub, now);
      const set = await readRuleSet(db);
      return c.json(
        {
          rules: set.rules,
          version: set.version,
          updated_at: set.updatedAt === null ? null : toRfc3339(set.updatedAt),
          updated_by: set.updatedBy,
        },
        200,
      );
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/risk-events",
      tags: ["Operator: risk"],
      summary: "The risk event log, newest first: declines (deny) and transactions sent to review",
      security: [{ OperatorToken: [] }],
      request: {
        query: ListQuery.extend({
          rule_id: FilterString("rule_id", 64),
          partner_id: FilterString("partner_id", 40),
          member_id: FilterString("member_id", 64),
        }),
      },
      responses: {
        200: jsonResponse("Risk events", listOf(RiskEventSchema)),
        ...errorResponses("invalid_param", "unknown_field", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { limit, cursor, rule_id, partner_id, member_id } = c.req.valid("query");
      const position = decodeCursor(cursor, ["id"]);
      const beforeId = position === undefined ? undefined : Number(position.id);
      if (beforeId !== undefined && !Number.isSafeInteger(beforeId)) throw badCursor();
      const rows = await listRiskEvents(c.env.DB, {
        limit: limit + 1,
        beforeId,
        ruleId: rule_id,
        partnerId: partner_id,
        memberId: member_id,
      });
      const result = page(rows, limit, (e) => ({ id: e.id }));
      return c.json(
        {
          data: result.data.map((e) => ({
            id: `rsk_${e.id}`,
            at: toRfc3339(e.at),
            rule_id: e.rule_id,
            action: e.action,
            applies_to: e.applies_to,
            partner_id: e.partner_id,
            member_id: e.member_id,
            member_ref: e.member_ref,
            transaction_id: e.transaction_id,
            points: e.points,
            context: { ip: e.ip, ...(e.device_id === null ? {} : { device_id: e.device_id }) },
            request_id: e.request_id,
          })),
          next_cursor: result.next_cursor,
        },
        200,
      );
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/reviews",
      tags: ["Operator: risk"],
      summary: "Transactions in review, oldest first (a queue); each is rejected automatically at decide_by",
      security: [{ OperatorToken: [] }],
      request: {
        query: ListQuery.extend({
          partner_id: FilterString("partner_id", 40),
          type: z
            .enum(["earn", "burn"])
            .optional()
            .openapi({ param: { name: "type", in: "query" } }),
        }),
      },
      responses: {
        200: jsonResponse("Reviews", listOf(ReviewSchema)),
        ...errorResponses("invalid_param", "unknown_field", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { limit, cursor, partner_id, type } = c.req.valid("query");
      const db = c.env.DB;
      const now = c.get("now");
      const position = decodeCursor(cursor, ["b", "i"]);
      const after = position === undefined ? undefined : { bookedAt: Number(position.b), id: String(position.i) };
      if (after && !Number.isSafeInteger(after.bookedAt)) throw badCursor();
      const [settings, rows] = await Promise.all([
        coalitionSettings(db),
        listReviews(db, { now, limit: limit + 1, after, partnerId: partner_id, type }),
      ]);
      const result = page(rows, limit, (row) => ({ b: row.booked_at, i: row.id }));
      return c.json(
        {
          data: result.data.map((row) => ({
            transaction: JSON.parse(row.txn) as Record<string, unknown>,
            rule_id: row.risk_rule_id,
            context: { ip: row.context_ip, ...(row.context_device === null ? {} : { device_id: row.context_device }) },
            decide_by: toRfc3339(row.booked_at + settings.reviewTimeoutSeconds * 1000),
          })),
          next_cursor: result.next_cursor,
        },
        200,
      );
    },
  );

  r.openapi(
    createRoute({
      method: "post",
      path: "/reviews/{transaction_id}",
      tags: ["Operator: risk"],
      summary: "Approve or reject a transaction in review (with an Idempotency-Key)",
      description:
        "approve: an earn is booked as the earn would have been (funding drawn, points posted, or pending until its available_at); a burn's reserved points are captured (a hold becomes an open hold for the partner's hold TTL). reject: an earn is dropped, a burn's reserved points go back. A review past its decide_by can only be rejected.",
      security: [{ OperatorToken: [] }],
      request: { params: TransactionIdParams, body: jsonBody(DecisionBody) },
      responses: {
        200: jsonResponse("The decided transaction", z.object({ transaction: z.record(z.string(), z.unknown()) })),
        ...errorResponses(
          "invalid_body",
          "unknown_field",
          "review_not_found",
          "review_not_open",
          "partner_funds_exhausted",
          "partner_credit_limit",
          ...IDEMPOTENCY_ERRORS,
          ...OPERATOR_AUTH_ERRORS,
        ),
      },
    }),
    (c) => {
      const { transaction_id } = c.req.valid("param");
      const { decision } = c.req.valid("json");
      const db = c.env.DB;
      const sub = c.get("operator").sub;
      // A review decision reads the transaction first (two round trips; not on a partner's path).
      return runKeyedWrite(c, "operator", async ({ catalogue, now }) => {
        const row = await getReviewTransaction(db, transaction_id);
        if (!row) throw new ApiError("review_not_found", `no earn or burn ${transaction_id}`, "transaction_id");
        const settings = catalogue.settings;
        const timedOut = row.booked_at <= now - settings.reviewTimeoutSeconds * 1000;
        if (row.status !== "review" || (decision === "approve" && timedOut)) {
          throw new ApiError(
            "review_not_open",
            row.status === "review"
              ? "this review timed out; it can only be rejected"
              : `this transaction is not in review (${row.status})`,
          );
        }
        const statements =
          decision === "approve"
            ? approveStatements(row, {
                now,
                expiryMonths: settings.expiryMonths,
                reviewTimeoutSeconds: settings.reviewTimeoutSeconds,
                holdTtlSeconds: catalogue.partners.get(row.partner_id)?.holdTtlSeconds ?? 900,
              })
            : rejectStatements(row, now);
        statements.push(
          auditStatement({
            at: now,
            actor: sub,
            action: `review.${decision}`,
            target: row.id,
            detail: {
              type: row.type,
              points: row.points,
              member_id: row.member_id,
              partner_id: row.partner_id,
              rule_id: row.risk_rule_id,
            },
          }),
        );
        return { status: 200, statements, response: transactionJson(row.id, now) };
      });
    },
  );
};
