import { createRoute, z } from "@hono/zod-openapi";
import type { RouteModule } from "../http/app";
import { badCursor, decodeCursor, page } from "../http/pagination";
import { errorResponses, FilterString, jsonResponse, ListQuery, listOf, OPERATOR_AUTH_ERRORS } from "../http/schemas";
import { tag } from "../http/tags";
import { coalitionSettings } from "../ledger/expiry-policy";
import { listReviews, renderReview } from "../risk/reviews";
import { ReviewSchema } from "../risk/schemas";
import { readEveryShard } from "../shards/fan-out";
import { mergeSorted } from "../shards/merge";

export const reviewRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "get",
      path: "/reviews",
      tags: tag("operatorRisk"),
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
      const position = decodeCursor(cursor, ["b", "i"]);
      const after = position === undefined ? undefined : { bookedAt: Number(position.b), id: String(position.i) };
      if (after && !Number.isSafeInteger(after.bookedAt)) throw badCursor();
      const opts = { now: c.get("now"), limit: limit + 1, after, partnerId: partner_id, type };
      // Each shard's reviews; transaction ids are unique across shards, so (booked_at, id) orders them all.
      const [settings, pages] = await Promise.all([
        coalitionSettings(db),
        readEveryShard(c.env, (shard) => listReviews(shard, opts)),
      ]);
      const rows = mergeSorted(pages, (a, b) => a.booked_at - b.booked_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0), limit + 1);
      const result = page(rows, limit, (row) => ({ b: row.booked_at, i: row.id }));
      const data = result.data.map((row) => renderReview(row, settings.reviewTimeoutSeconds));
      return c.json({ data, next_cursor: result.next_cursor }, 200);
    },
  );
};
