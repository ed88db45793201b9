import { createRoute, z } from "@hono/zod-openapi";
import { sql } from "../db/sql-template";
import type { RouteModule } from "../http/app";
import { ApiError } from "../http/errors";
import { badCursor, decodeCursor, page } from "../http/pagination";
import { runRead } from "../http/runner";
import { errorResponses, jsonResponse, ListQuery, listOf, PARTNER_AUTH_ERRORS } from "../http/schemas";
import { tag } from "../http/tags";
import { memberOfRef } from "../ledger/member";
import { MemberRefParams } from "../members/schemas";
import { type ActivityRow, memberActivityQuery } from "../members/store";

export const ActivityEntry = z
  .object({
    id: z.string(),
    type: z.enum(["earn", "burn", "reversal", "expiry", "adjustment"]),
    status: z.string(),
    points: z.number().int(),
    partner: z.object({ id: z.string(), name: z.string() }),
    created_at: z.string(),
    member_id: z.string().optional(),
    order_ref: z.string().nullable().optional(),
    amount: z.object({ value: z.string(), unit: z.string() }).optional(),
    rate: z.string().nullable().optional(),
    captured_points: z.number().int().optional(),
    available_at: z.string().optional(),
    expires_at: z.string().optional(),
  })
  .openapi("ActivityEntry", {
    description:
      "The calling partner's own transactions in full; another partner's show only id, type, status, points, partner and created_at.",
  });

/** `GET /v1/members/{member_ref}/activity` (partner-api.md §4): every partner's transactions, newest first. */
export const activityRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "get",
      path: "/members/{member_ref}/activity",
      tags: tag("partnerMembers"),
      summary: "The member's transactions at every partner, newest first (other partners' entries without private details)",
      security: [{ CoalitionSignature: [] }],
      request: { params: MemberRefParams, query: ListQuery },
      responses: {
        200: jsonResponse("Activity", listOf(ActivityEntry)),
        ...errorResponses("invalid_param", "unknown_field", "member_not_found", ...PARTNER_AUTH_ERRORS),
      },
    }),
    (c) => {
      const { member_ref } = c.req.valid("param");
      const { limit, cursor } = c.req.valid("query");
      const partnerId = c.get("partner").id;
      const position = decodeCursor(cursor, ["b", "i"]);
      const before = position === undefined ? undefined : { bookedAt: Number(position.b), id: String(position.i) };
      if (before && !Number.isSafeInteger(before.bookedAt)) throw badCursor();
      const member = memberOfRef(partnerId, member_ref);
      return runRead(
        c,
        ({ now }) => ({
          statements: [
            sql`SELECT ${member} AS id`,
            memberActivityQuery(member, { limit: limit + 1, before, callerId: partnerId, now }),
          ],
          answer: ([found, activity]) => {
            if (!(found?.results[0] as { id: string | null } | undefined)?.id) {
              throw new ApiError("member_not_found", `no member ${member_ref} is linked to this partner`);
            }
            const result = page((activity?.results ?? []) as ActivityRow[], limit, (row) => ({ b: row.booked_at, i: row.id }));
            return c.json(
              {
                data: result.data.map((row) => JSON.parse(row.entry) as z.infer<typeof ActivityEntry>),
                next_cursor: result.next_cursor,
              },
              200,
            );
          },
        }),
        { target: { partnerId, memberRef: member_ref } },
      );
    },
  );
};
