import { createRoute, z } from "@hono/zod-openapi";
import { timeText } from "../db/sql";
import { runBatch, type Sql, sql } from "../db/sql-template";
import type { RouteModule } from "../http/app";
import { ApiError } from "../http/errors";
import { badCursor, decodeCursor, page } from "../http/pagination";
import { errorResponses, jsonResponse, ListQuery, listOf, OPERATOR_AUTH_ERRORS } from "../http/schemas";
import { tag } from "../http/tags";
import { memberById, memberOfRef } from "../ledger/member";
import { balanceJson } from "../ledger/render";
import { MemberRefSchema } from "../members/schemas";
import { type ActivityRow, memberActivityQuery } from "../members/store";
import { ActivityEntry } from "../partner-api/activity";
import { BalanceSchema } from "../partner-api/transaction-schemas";
import { memberOfRefAcrossShards, shardOfMember } from "../shards/placement";

/**
 * Additive to operator-api.md: a member as the operator sees it (the console's Members screen),
 * by id or by a partner's member_ref: its links, its unified balance (no partner's value: the
 * operator is no redeemer) and its activity at every partner, each transaction in full.
 */

const MemberId = z
  .string()
  .min(1)
  .max(64)
  .openapi({ param: { name: "member_id", in: "path" }, example: "mbr_301_0123456789abcdef" });

const MemberView = z
  .object({
    member: z.object({
      id: z.string(),
      created_at: z.string(),
      debt_points: z.number().int(),
      links: z.array(z.object({ partner_id: z.string(), member_ref: z.string(), linked_at: z.string() })),
    }),
    balance: BalanceSchema,
  })
  .openapi("OperatorMember");

/** One row: the member (or NULL) with its links and balance, as JSON text. */
function memberViewQuery(member: Sql, now: number): Sql {
  return sql`SELECT m.id, json_object(
      'member', json_object('id', m.id, 'created_at', ${timeText(sql`m.created_at`)}, 'debt_points', m.debt_points,
        'links', (SELECT json_group_array(json_object('partner_id', l.partner_id, 'member_ref', l.member_ref,
                    'linked_at', ${timeText(sql`l.created_at`)}))
                    FROM (SELECT * FROM member_links WHERE member_id = m.id ORDER BY created_at, partner_id) l)),
      'balance', json(${balanceJson(sql`m.id`, now, undefined)})) AS body
    FROM members m WHERE m.id = ${member}`;
}

function notFound(what: string, param: string): ApiError {
  return new ApiError("member_not_found", `no member ${what}`, param);
}

async function answerMember(db: D1Database, member: Sql, now: number, what: string, param: string): Promise<Response> {
  const [result] = await runBatch(db, [memberViewQuery(member, now)]);
  const row = result?.results[0] as { id: string; body: string } | undefined;
  if (!row) throw notFound(what, param);
  return new Response(row.body, { status: 200, headers: { "Content-Type": "application/json" } });
}

export const operatorMemberRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "get",
      path: "/members",
      tags: tag("operatorAdjustments"),
      summary: "Look a member up by a partner's member_ref: links and unified balance",
      security: [{ OperatorToken: [] }],
      request: {
        query: z.strictObject({
          partner_id: z
            .string()
            .min(1)
            .max(40)
            .openapi({ param: { name: "partner_id", in: "query" } }),
          member_ref: MemberRefSchema.openapi({ param: { name: "member_ref", in: "query" } }),
        }),
      },
      responses: {
        200: jsonResponse("The member", MemberView),
        ...errorResponses("invalid_param", "member_not_found", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { partner_id, member_ref } = c.req.valid("query");
      const what = `${member_ref} is linked to ${partner_id}`;
      const memberId = await memberOfRefAcrossShards(c.env, partner_id, member_ref);
      if (memberId === undefined) throw notFound(what, "member_ref");
      // The member's shard has its link to this partner (the ref's shard may hold only the directory's).
      const db = await shardOfMember(c.env, memberId);
      return answerMember(db, memberOfRef(partner_id, member_ref), c.get("now"), what, "member_ref") as never;
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/members/{member_id}",
      tags: tag("operatorAdjustments"),
      summary: "A member: links and unified balance",
      security: [{ OperatorToken: [] }],
      request: { params: z.object({ member_id: MemberId }) },
      responses: {
        200: jsonResponse("The member", MemberView),
        ...errorResponses("member_not_found", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { member_id } = c.req.valid("param");
      return answerMember(
        await shardOfMember(c.env, member_id),
        memberById(member_id),
        c.get("now"),
        member_id,
        "member_id",
      ) as never;
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/members/{member_id}/activity",
      tags: tag("operatorAdjustments"),
      summary: "A member's transactions at every partner, newest first, each in full",
      security: [{ OperatorToken: [] }],
      request: { params: z.object({ member_id: MemberId }), query: ListQuery },
      responses: {
        200: jsonResponse("Activity", listOf(ActivityEntry)),
        ...errorResponses("invalid_param", "unknown_field", "member_not_found", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { member_id } = c.req.valid("param");
      const { limit, cursor } = c.req.valid("query");
      const position = decodeCursor(cursor, ["b", "i"]);
      const before = position === undefined ? undefined : { bookedAt: Number(position.b), id: String(position.i) };
      if (before && !Number.isSafeInteger(before.bookedAt)) throw badCursor();
      const now = c.get("now");
      const [exists, activity] = await runBatch(await shardOfMember(c.env, member_id), [
        sql`SELECT id FROM members WHERE id = ${member_id}`,
        // The caller "is" every transaction's partner: the operator sees each in full.
        memberActivityQuery(memberById(member_id), { limit: limit + 1, before, callerId: sql`t.partner_id`, now }),
      ]);
      if (!exists?.results[0]) throw notFound(member_id, "member_id");
      const result = page((activity?.results ?? []) as ActivityRow[], limit, (row) => ({ b: row.booked_at, i: row.id }));
      const data = result.data.map((row) => JSON.parse(row.entry) as z.infer<typeof ActivityEntry>);
      return c.json({ data, next_cursor: result.next_cursor }, 200);
    },
  );
};
