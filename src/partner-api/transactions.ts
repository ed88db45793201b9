import { createRoute, z } from "@hono/zod-openapi";
import type { RouteModule } from "../http/app";
import { ApiError } from "../http/errors";
import { rawJson } from "../http/raw-json";
import { errorResponses, jsonResponse, PARTNER_AUTH_ERRORS } from "../http/schemas";
import { balanceJson, transactionJson } from "../ledger/render";
import { MemberRefSchema } from "../members/routes";
import { resolveMember } from "../members/store";
import { rateCardInForce } from "../rates/cards";
import { pointValue } from "./ledger-context";
import { BalanceSchema, TransactionIdParams, TransactionSchema } from "./transaction-schemas";

export const transactionRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "get",
      path: "/transactions/{id}",
      tags: ["Earn and burn"],
      summary: "One transaction of the calling partner",
      security: [{ CoalitionSignature: [] }],
      request: { params: TransactionIdParams },
      responses: {
        200: jsonResponse("The transaction", z.object({ transaction: TransactionSchema })),
        ...errorResponses("transaction_not_found", ...PARTNER_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const db = c.env.DB;
      const { sql, binds } = transactionJson(id, c.get("now"));
      const row = await db
        .prepare(`${sql} AND t.partner_id = ?3`)
        .bind(...binds, c.get("partner").id)
        .first<Record<string, string>>();
      const text = row ? Object.values(row)[0] : undefined;
      if (!text) throw new ApiError("transaction_not_found", "no transaction with this id was made by this partner", "id");
      return rawJson(text) as never;
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/members/{member_ref}/balance",
      tags: ["Members"],
      summary: "The member's unified balance across all partners",
      security: [{ CoalitionSignature: [] }],
      request: { params: z.object({ member_ref: MemberRefSchema.openapi({ param: { name: "member_ref", in: "path" } }) }) },
      responses: {
        200: jsonResponse("The balance", BalanceSchema),
        ...errorResponses("invalid_param", "member_not_found", ...PARTNER_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { member_ref } = c.req.valid("param");
      const db = c.env.DB;
      const now = c.get("now");
      const partnerId = c.get("partner").id;
      const [member, card] = await Promise.all([resolveMember(db, partnerId, member_ref), rateCardInForce(db, partnerId, now)]);
      if (!member)
        throw new ApiError("member_not_found", "no member with this member_ref is linked to this partner", "member_ref");
      const { sql, binds } = balanceJson(member.memberId, now, pointValue(card));
      const row = await db
        .prepare(sql)
        .bind(...binds)
        .first<Record<string, string>>();
      return rawJson(row ? (Object.values(row)[0] ?? "{}") : "{}") as never;
    },
  );
};
