import { createRoute, z } from "@hono/zod-openapi";
import type { RouteModule } from "../http/app";
import { badCursor, decodeCursor, page } from "../http/pagination";
import { errorResponses, jsonResponse, ListQuery, PARTNER_AUTH_ERRORS } from "../http/schemas";
import { tag } from "../http/tags";
import { linesAcrossShards } from "../settlement/across-shards";
import { LineSchema, SettlementParams, settlementNotFound } from "../settlement/schemas";
import { getPeriod, getStatementText, lineJson } from "../settlement/store";

/** partner-api.md §7: the entries one statement counts, each with its exact contribution. */
export const settlementLineRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "get",
      path: "/settlements/{id}/lines",
      tags: tag("partnerSettlement"),
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
      if (!period || statement === null) throw settlementNotFound();
      const position = decodeCursor(cursor, ["at", "t", "s", "i"]);
      const after = position
        ? { at: Number(position.at), txn: String(position.t), src: String(position.s), srcId: Number(position.i) }
        : undefined;
      if (after && !(Number.isSafeInteger(after.at) && Number.isSafeInteger(after.srcId))) {
        throw badCursor();
      }
      const rows = await linesAcrossShards(c.env, partnerId, period, limit + 1, after);
      const result = page(rows, limit, (last) => ({ at: last.at, t: last.txn_id, s: last.src, i: last.src_id }));
      return c.json(
        { data: result.data.map((row) => lineJson(row, partnerId, c.env.SETTLEMENT_CURRENCY)), next_cursor: result.next_cursor },
        200,
      );
    },
  );
};
