import { createRoute, z } from "@hono/zod-openapi";
import type { RouteModule } from "../http/app";
import { decodeCursor, page } from "../http/pagination";
import { rawJsonList } from "../http/raw-json";
import { errorResponses, jsonResponse, ListQuery, OPERATOR_AUTH_ERRORS } from "../http/schemas";
import { tag } from "../http/tags";
import { textStream } from "../http/text-stream";
import { reportCsv } from "../settlement/csv";
import { PERIOD_ID_PATTERN } from "../settlement/periods";
import { openReport } from "../settlement/report-objects";
import { ReportSchema, SettlementParams, settlementNotFound } from "../settlement/schemas";
import { listReportSummaries } from "../settlement/store";

/** operator-api.md "Settlement": closed reports, served as they were signed, and as CSV. */
export const settlementReportRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "get",
      path: "/settlements",
      tags: tag("operatorSettlement"),
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
    const report = await openReport(c.env, id);
    if (report === null) throw settlementNotFound();
    return c.body(textStream(reportCsv(report)), 200, {
      "Content-Type": "text/csv; charset=UTF-8; header=present",
      "Content-Disposition": `attachment; filename="${id}.csv"`,
    });
  });
  r.openAPIRegistry.registerPath({
    method: "get",
    path: "/settlements/{id}.csv",
    tags: tag("operatorSettlement"),
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
      tags: tag("operatorSettlement"),
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
      const report = PERIOD_ID_PATTERN.test(id) ? await openReport(c.env, id) : null;
      if (report === null) throw settlementNotFound();
      // Streamed as stored: the signed bytes, whatever their size.
      return new Response(await report.body(), { headers: { "Content-Type": "application/json; charset=UTF-8" } }) as never;
    },
  );
};
