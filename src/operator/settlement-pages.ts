import { createRoute, z } from "@hono/zod-openapi";
import type { RouteModule } from "../http/app";
import { badCursor, decodeCursor, encodeCursor, page } from "../http/pagination";
import { rawJson, rawJsonList } from "../http/raw-json";
import { errorResponses, jsonResponse, ListQuery, OPERATOR_AUTH_ERRORS } from "../http/schemas";
import { tag } from "../http/tags";
import { PERIOD_ID_PATTERN } from "../settlement/periods";
import { openReport, statementTexts } from "../settlement/report-objects";
import { MatrixLineSchema, SettlementParams, StatementSchema, settlementNotFound } from "../settlement/schemas";
import { getPeriod } from "../settlement/store";

/**
 * A closed report in pages (operator-api.md "Settlement", additive): its signed statements in
 * partner order and its bilateral matrix in the report's order, each line exactly as in the full
 * report. A coalition of 500 partners has up to 250,000 matrix pairs: a client pages them
 * instead of taking one body of tens of megabytes.
 */
export const settlementPageRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "get",
      path: "/settlements/{id}/statements",
      tags: tag("operatorSettlement"),
      summary: "A closed report's signed statements, a page at a time (partner order)",
      security: [{ OperatorToken: [] }],
      request: { params: SettlementParams, query: ListQuery },
      responses: {
        200: jsonResponse("Statements", z.object({ data: z.array(StatementSchema), next_cursor: z.string().nullable() })),
        ...errorResponses("settlement_not_found", "invalid_param", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const { limit, cursor } = c.req.valid("query");
      const position = decodeCursor(cursor, ["partner"]);
      if (!PERIOD_ID_PATTERN.test(id) || (await getPeriod(c.env.DB, id)) === null) throw settlementNotFound();
      const rows = await statementTexts(c.env.DB, id, limit + 1, position ? String(position.partner) : undefined);
      const result = page(rows, limit, (last) => ({ partner: last.partner_id }));
      return rawJsonList(
        result.data.map((row) => row.statement),
        result.next_cursor,
      ) as never;
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/settlements/{id}/matrix",
      tags: tag("operatorSettlement"),
      summary: "A closed report's bilateral matrix, a page at a time (the report's order)",
      security: [{ OperatorToken: [] }],
      request: { params: SettlementParams, query: ListQuery },
      responses: {
        200: jsonResponse("Matrix lines", z.object({ data: z.array(MatrixLineSchema), next_cursor: z.string().nullable() })),
        ...errorResponses("settlement_not_found", "invalid_param", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const { limit, cursor } = c.req.valid("query");
      const position = decodeCursor(cursor, ["line"]);
      const from = position ? Number(position.line) : 0;
      const report = PERIOD_ID_PATTERN.test(id) ? await openReport(c.env, id) : null;
      if (report === null) throw settlementNotFound();
      if (!Number.isSafeInteger(from) || from < 0 || from > report.matrixLines) {
        throw badCursor();
      }
      const lines = await report.matrixSlice(from, from + limit);
      const next = from + lines.length < report.matrixLines ? encodeCursor({ line: from + lines.length }) : null;
      return rawJson(JSON.stringify({ data: lines, next_cursor: next })) as never;
    },
  );
};
