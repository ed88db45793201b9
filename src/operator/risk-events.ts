import { createRoute } from "@hono/zod-openapi";
import type { RouteModule } from "../http/app";
import { badCursor, decodeCursor, encodeCursor } from "../http/pagination";
import { errorResponses, FilterString, jsonResponse, ListQuery, listOf, OPERATOR_AUTH_ERRORS } from "../http/schemas";
import { tag } from "../http/tags";
import { RiskEventSchema } from "../risk/schemas";
import { listRiskEvents, renderRiskEvent } from "../risk/store";
import { readEveryShard } from "../shards/fan-out";
import { mergeStreams } from "../shards/merge";

/**
 * The cursor holds each shard's position: `id` for shard 0 (the shape of a cursor from before
 * shards), `s<k>` for shard k; a shard without one starts from its newest event.
 */
function shardPositions(cursor: string | undefined): (number | undefined)[] {
  const decoded = decodeCursor(cursor, []);
  if (decoded === undefined) return [];
  const positions: (number | undefined)[] = [];
  for (const [key, value] of Object.entries(decoded)) {
    const shard = key === "id" ? 0 : /^s([1-9][0-9]{0,2})$/.exec(key)?.[1];
    if (shard === undefined || typeof value !== "number" || !Number.isSafeInteger(value)) throw badCursor();
    positions[Number(shard)] = value;
  }
  return positions;
}

function positionsCursor(positions: readonly (number | undefined)[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [shard, id] of positions.entries()) if (id !== undefined) out[shard === 0 ? "id" : `s${shard}`] = id;
  return out;
}

export const riskEventRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "get",
      path: "/risk-events",
      tags: tag("operatorRisk"),
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
      const positions = shardPositions(cursor);
      const streams = await readEveryShard(c.env, (db, shard) =>
        listRiskEvents(db, {
          limit: limit + 1,
          beforeId: positions[shard.index],
          ruleId: rule_id,
          partnerId: partner_id,
          memberId: member_id,
        }),
      );
      // Newest first across shards; each shard's events in its own id order (see src/shards/merge.ts).
      const { taken, more } = mergeStreams(streams, (a, b) => a.at > b.at, limit);
      for (const { shard, row } of taken) positions[shard] = row.id;
      const data = taken.map(({ shard, row }) => renderRiskEvent(row, shard));
      return c.json({ data, next_cursor: more ? encodeCursor(positionsCursor(positions)) : null }, 200);
    },
  );
};
