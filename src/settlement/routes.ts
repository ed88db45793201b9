import { createRoute, z } from "@hono/zod-openapi";
import { auditPrepared } from "../audit/log";
import { toRfc3339 } from "../db/time";
import type { RouteModule } from "../http/app";
import { ApiError } from "../http/errors";
import { decodeCursor, page } from "../http/pagination";
import { rawJson, rawJsonList } from "../http/raw-json";
import {
  errorResponses,
  jsonBody,
  jsonResponse,
  ListQuery,
  OPERATOR_AUTH_ERRORS,
  PARTNER_AUTH_ERRORS,
  Rfc3339,
} from "../http/schemas";
import { closePeriods, finalizePeriod, storedReport } from "./close";
import { reportCsv } from "./csv";
import { pointsMetrics } from "./metrics";
import { closedThrough, nextBoundary, PERIOD_ID_PATTERN, readConfig } from "./periods";
import type { PeriodRow, SignedReport } from "./report";
import { publicJwks } from "./signing";
import { getPeriod, getStatementText, lineJson, listLines, listReportSummaries, listStatementTexts } from "./store";

/** Settlement endpoints: partner-api.md §7, operator-api.md "Settlement", and the public JWKS. */

const SettlementId = z
  .string()
  .max(40)
  .openapi({ param: { name: "id", in: "path" }, example: "stl_20261123T000000Z" });
const SettlementParams = z.object({ id: SettlementId });

const Amount = z.object({ value: z.string(), unit: z.string() });
const MatrixLineSchema = z.object({
  issuer: z.string(),
  redeemer: z.string(),
  points: z.number(),
  amount: Amount,
  exact: z.string(),
  rounding: z.string(),
});
const StatementSchema = z
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
const LineSchema = z
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
const ReportSchema = z
  .object({ id: z.string(), period: z.object({ start: z.string(), end: z.string() }) })
  .passthrough()
  .openapi("SettlementReport");

function notFound(): ApiError {
  return new ApiError("settlement_not_found", "no such settlement", "id");
}

export const settlementPartnerRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "get",
      path: "/settlements",
      tags: ["Settlement"],
      summary: "The calling partner's statements, one per closed period it took part in, newest first",
      security: [{ CoalitionSignature: [] }],
      request: { query: ListQuery },
      responses: {
        200: jsonResponse("Statements", z.object({ data: z.array(StatementSchema), next_cursor: z.string().nullable() })),
        ...errorResponses("invalid_param", ...PARTNER_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { limit, cursor } = c.req.valid("query");
      const position = decodeCursor(cursor, ["id"]);
      const rows = await listStatementTexts(c.env.DB, c.get("partner").id, limit + 1, position ? String(position.id) : undefined);
      const result = page(rows, limit, (last) => ({ id: last.id }));
      return rawJsonList(
        result.data.map((s) => s.text),
        result.next_cursor,
      ) as never;
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/settlements/{id}",
      tags: ["Settlement"],
      summary: "The calling partner's signed statement of one period (the body is the statement)",
      security: [{ CoalitionSignature: [] }],
      request: { params: SettlementParams },
      responses: {
        200: jsonResponse("The statement", StatementSchema),
        ...errorResponses("settlement_not_found", ...PARTNER_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const text = await getStatementText(c.env.DB, id, c.get("partner").id);
      if (text === null) throw notFound();
      return rawJson(text) as never;
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/settlements/{id}/lines",
      tags: ["Settlement"],
      summary: "Every entry the statement counts, with exact amounts, newest first",
      description:
        "One line per settled record (a lot issued, a consumption record, a reversal, a take-back, a debt repayment). " +
        "`payable` and `receivable` are the line's exact contribution to the statement's figures: summing them over all " +
        "lines gives the statement's `exact` figures, which round once (half-even) to the statement's amounts.",
      security: [{ CoalitionSignature: [] }],
      request: { params: SettlementParams, query: ListQuery },
      responses: {
        200: jsonResponse("Lines", z.object({ data: z.array(LineSchema), next_cursor: z.string().nullable() })),
        ...errorResponses("invalid_param", "settlement_not_found", ...PARTNER_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const { limit, cursor } = c.req.valid("query");
      const db = c.env.DB;
      const partnerId = c.get("partner").id;
      const [period, statement] = await Promise.all([getPeriod(db, id), getStatementText(db, id, partnerId)]);
      if (!period || statement === null) throw notFound();
      const position = decodeCursor(cursor, ["at", "t", "s", "i"]);
      const after = position
        ? { at: Number(position.at), txn: String(position.t), src: String(position.s), srcId: Number(position.i) }
        : undefined;
      if (after && !(Number.isSafeInteger(after.at) && Number.isSafeInteger(after.srcId))) {
        throw new ApiError("invalid_param", "cursor is not one this API returned", "cursor");
      }
      const rows = await listLines(db, partnerId, period, limit + 1, after);
      const result = page(rows, limit, (last) => ({ at: last.at, t: last.txn_id, s: last.src, i: last.src_id }));
      return c.json(
        { data: result.data.map((row) => lineJson(row, partnerId, c.env.SETTLEMENT_CURRENCY)), next_cursor: result.next_cursor },
        200,
      );
    },
  );
};

const CloseBody = z.strictObject({ period_end: Rfc3339.optional() }).openapi("SettlementClose");
const ConfigBody = z
  .strictObject({
    period: z.enum(["daily", "weekly", "monthly"]).optional(),
    utc_offset_minutes: z
      .number()
      .int()
      .min(-720)
      .max(840)
      .refine((n) => n % 15 === 0, "must be a whole number of quarter hours")
      .optional(),
    grace_seconds: z.number().int().min(0).max(86_400).optional(),
  })
  .openapi("SettlementConfig");

const OpenPeriodSchema = z.object({ start: z.string(), end: z.string() }).openapi("OpenPeriod", {
  description: "The period open after this call: from the end of the last closed one to its scheduled end",
});

/**
 * The open period after a close, as JSON text: it starts where the last closed period ended and
 * runs to the next scheduled boundary (an off-cycle cut moves its start, never its end). Tells a
 * caller whose close answered no report why: that period has not ended yet.
 */
async function openPeriodJson(db: D1Database): Promise<string> {
  const [start, config] = await Promise.all([closedThrough(db), readConfig(db)]);
  return JSON.stringify({ start: toRfc3339(start), end: toRfc3339(nextBoundary(start, config)) });
}

function closeResponse(reportTexts: string[], openPeriod: string): Response {
  return rawJson(`{"data":[${reportTexts.join(",")}],"open_period":${openPeriod}}`);
}

async function configJson(db: D1Database) {
  const config = await readConfig(db);
  return {
    period: config.period,
    utc_offset_minutes: config.utcOffsetMinutes,
    grace_seconds: config.graceSeconds,
    closed_through: toRfc3339(await closedThrough(db)),
  };
}

export const settlementOperatorRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "post",
      path: "/settlements/close",
      tags: ["Operator: settlement"],
      summary: "Close every scheduled period that has ended, or cut the open period at period_end (off-cycle)",
      security: [{ OperatorToken: [] }],
      request: { body: { ...jsonBody(CloseBody), required: false } },
      responses: {
        200: jsonResponse(
          "The reports closed by this call, oldest first (none when no scheduled period has ended), and the period open now",
          z.object({ data: z.array(ReportSchema), open_period: OpenPeriodSchema }),
        ),
        ...errorResponses("invalid_body", "unknown_field", "settlement_closed", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const body: { period_end?: string } = c.req.valid("json") ?? {};
      const db = c.env.DB;
      const now = c.get("now");
      let periodEnd: number | undefined;
      if (body.period_end !== undefined) {
        // Periods are cut on whole seconds, as times are shown.
        periodEnd = Math.floor(Date.parse(body.period_end) / 1000) * 1000;
        if (periodEnd > now) throw new ApiError("invalid_body", "period_end must not be in the future", "period_end");
        if (periodEnd <= (await closedThrough(db))) {
          // Closing twice yields the same report (finishing it if a first close died after
          // claiming the period); cutting inside a closed period is refused.
          const same = await db.prepare("SELECT * FROM settlement_periods WHERE end_at = ?").bind(periodEnd).first<PeriodRow>();
          if (same) return closeResponse([await finalizePeriod(c.env, same)], await openPeriodJson(db)) as never;
          throw new ApiError("settlement_closed", "period_end falls in a period that is already closed", "period_end");
        }
      }
      const texts = await closePeriods(c.env, { now, by: c.get("operator").sub, periodEnd });
      return closeResponse(texts, await openPeriodJson(db)) as never;
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/settlements",
      tags: ["Operator: settlement"],
      summary: "Closed settlement reports (summaries), newest first",
      security: [{ OperatorToken: [] }],
      request: { query: ListQuery },
      responses: {
        200: jsonResponse("Report summaries", z.object({ data: z.array(ReportSchema), next_cursor: z.string().nullable() })),
        ...errorResponses("invalid_param", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { limit, cursor } = c.req.valid("query");
      const position = decodeCursor(cursor, ["id"]);
      const rows = await listReportSummaries(c.env.DB, limit + 1, position ? String(position.id) : undefined);
      const result = page(rows, limit, (last) => ({ id: last.id }));
      return rawJsonList(
        result.data.map((s) => s.text),
        result.next_cursor,
      ) as never;
    },
  );

  // Registered before /settlements/{id}, which would otherwise take "stl_….csv" as an id.
  r.get("/settlements/:file{stl_[0-9A-Za-z]+\\.csv}", async (c) => {
    const id = c.req.param("file").slice(0, -".csv".length);
    const text = await storedReport(c.env.DB, id);
    if (text === null) throw notFound();
    return c.body(reportCsv(JSON.parse(text) as SignedReport), 200, {
      "Content-Type": "text/csv; charset=UTF-8; header=present",
      "Content-Disposition": `attachment; filename="${id}.csv"`,
    });
  });
  r.openAPIRegistry.registerPath({
    method: "get",
    path: "/settlements/{id}.csv",
    tags: ["Operator: settlement"],
    summary: "The full report as RFC 4180 CSV",
    security: [{ OperatorToken: [] }],
    request: { params: SettlementParams },
    responses: {
      200: { description: "CSV (CRLF records; section, partner, issuer, redeemer, item, points, value, exact, rounding, unit)" },
      ...errorResponses("settlement_not_found", ...OPERATOR_AUTH_ERRORS),
    },
  });

  r.openapi(
    createRoute({
      method: "get",
      path: "/settlements/{id}",
      tags: ["Operator: settlement"],
      summary: "The full signed report: every statement, the bilateral matrix, the points position, margin",
      security: [{ OperatorToken: [] }],
      request: { params: SettlementParams },
      responses: {
        200: jsonResponse("The report", ReportSchema),
        ...errorResponses("settlement_not_found", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const text = PERIOD_ID_PATTERN.test(id) ? await storedReport(c.env.DB, id) : null;
      if (text === null) throw notFound();
      return rawJson(text) as never;
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/settlement-config",
      tags: ["Operator: settlement"],
      summary: "How periods are cut: daily, weekly or monthly, UTC offset, grace before the scheduled close",
      security: [{ OperatorToken: [] }],
      responses: {
        200: jsonResponse("The configuration", z.object({}).passthrough()),
        ...errorResponses(...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => c.json(await configJson(c.env.DB), 200),
  );

  r.openapi(
    createRoute({
      method: "put",
      path: "/settlement-config",
      tags: ["Operator: settlement"],
      summary: "Change the period schedule; applies from the open period on (closed periods never change)",
      security: [{ OperatorToken: [] }],
      request: { body: jsonBody(ConfigBody) },
      responses: {
        200: jsonResponse("The configuration", z.object({}).passthrough()),
        ...errorResponses("invalid_body", "unknown_field", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const db = c.env.DB;
      const now = c.get("now");
      await db.batch([
        db
          .prepare(
            `UPDATE settlement_config SET period = COALESCE(?1, period), utc_offset_minutes = COALESCE(?2, utc_offset_minutes),
               grace_seconds = COALESCE(?3, grace_seconds), updated_at = ?4 WHERE id = 1`,
          )
          .bind(body.period ?? null, body.utc_offset_minutes ?? null, body.grace_seconds ?? null, now),
        auditPrepared(db, {
          at: now,
          actor: c.get("operator").sub,
          action: "settlement.configure",
          target: "settlement",
          detail: body,
        }),
      ]);
      return c.json(await configJson(db), 200);
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/metrics",
      tags: ["Operator: settlement"],
      summary:
        "Points-economy health: outstanding and liability by issuer, issued/redeemed/expired per period, breakage, exposure",
      security: [{ OperatorToken: [] }],
      request: {
        query: z.strictObject({
          periods: z.coerce
            .number()
            .int()
            .min(1)
            .max(100)
            .default(12)
            .openapi({ param: { name: "periods", in: "query" } }),
        }),
      },
      responses: {
        200: jsonResponse("Metrics", z.object({}).passthrough()),
        ...errorResponses("invalid_param", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => c.json(await pointsMetrics(c.env, c.get("now"), c.req.valid("query").periods), 200),
  );
};

/** `GET /.well-known/jwks.json`: the public half of the statement-signing key. */
export const settlementPublicRoutes: RouteModule = (r) => {
  r.get("/.well-known/jwks.json", (c) => {
    c.header("Cache-Control", "public, max-age=300");
    return c.json(publicJwks(c.env.STATEMENT_SIGNING_JWK));
  });
  r.openAPIRegistry.registerPath({
    method: "get",
    path: "/.well-known/jwks.json",
    tags: ["Settlement"],
    summary: "The public keys that verify settlement statements and reports (JWK set; never a private member)",
    responses: { 200: { description: "`{ keys: [ { kty, crv, x, kid, alg, use } ] }`" } },
  });
};
