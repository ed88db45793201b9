import { createRoute } from "@hono/zod-openapi";
import type { RouteModule } from "../http/app";
import { badCursor, decodeCursor, page } from "../http/pagination";
import { runRead } from "../http/runner";
import { errorResponses, jsonResponse, ListQuery, listOf } from "../http/schemas";
import { tag } from "../http/tags";
import { sessionMember, sessionPartner, sessionRow } from "../members/sessions";
import { type ActivityRow, memberActivityQuery } from "../members/store";
import { ActivityEntry } from "../partner-api/activity";
import { sessionOf } from "./session";

/**
 * `GET /v1/me/activity` (docs/member-sessions.md): the member's transactions at every partner,
 * newest first, with §4's privacy rule as the session's partner sees them.
 */
export const meActivityRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "get",
      path: "/activity",
      tags: tag("member"),
      summary: "The member's activity across partners (a member session's bearer token)",
      security: [{ MemberSession: [] }],
      request: { query: ListQuery },
      responses: {
        200: jsonResponse("Activity", listOf(ActivityEntry)),
        ...errorResponses("invalid_param", "unknown_field", "session_invalid", "internal", "unavailable"),
      },
    }),
    (c) => {
      const { limit, cursor } = c.req.valid("query");
      const { hash, bucket } = c.get("memberSession") ?? { hash: "", bucket: 0 };
      const position = decodeCursor(cursor, ["b", "i"]);
      const before = position === undefined ? undefined : { bookedAt: Number(position.b), id: String(position.i) };
      if (before && !Number.isSafeInteger(before.bookedAt)) throw badCursor();
      return runRead(
        c,
        ({ now }) => ({
          statements: [
            sessionRow(hash, now),
            memberActivityQuery(sessionMember(hash, now), { limit: limit + 1, before, callerId: sessionPartner(hash, now), now }),
          ],
          answer: ([session, activity]) => {
            sessionOf(c, session?.results[0]);
            const result = page((activity?.results ?? []) as ActivityRow[], limit, (row) => ({ b: row.booked_at, i: row.id }));
            return c.json(
              { data: result.data.map((row) => JSON.parse(row.entry) as unknown), next_cursor: result.next_cursor },
              200,
            );
          },
        }),
        { target: { bucket } },
      );
    },
  );
};
