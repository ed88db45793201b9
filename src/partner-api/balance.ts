import { createRoute } from "@hono/zod-openapi";
import { rateCardAt } from "../catalogue/catalogue";
import { sql } from "../db/sql-template";
import type { RouteModule } from "../http/app";
import { ApiError } from "../http/errors";
import { rawJson } from "../http/raw-json";
import { runRead } from "../http/runner";
import { errorResponses, jsonResponse, PARTNER_AUTH_ERRORS } from "../http/schemas";
import { tag } from "../http/tags";
import { pointValue } from "../ledger/commands/common";
import { memberOfRef } from "../ledger/member";
import { balanceJson } from "../ledger/render";
import { MemberRefParams } from "../members/schemas";
import { BalanceSchema } from "./transaction-schemas";

/** `GET /v1/members/{member_ref}/balance` (partner-api.md §4), in the request's one batch. */
export const balanceRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "get",
      path: "/members/{member_ref}/balance",
      tags: tag("partnerMembers"),
      summary: "The member's unified balance across all partners",
      security: [{ CoalitionSignature: [] }],
      request: { params: MemberRefParams },
      responses: {
        200: jsonResponse("The balance", BalanceSchema),
        ...errorResponses("invalid_param", "member_not_found", ...PARTNER_AUTH_ERRORS),
      },
    }),
    (c) => {
      const { member_ref } = c.req.valid("param");
      const partnerId = c.get("partner").id;
      const member = memberOfRef(partnerId, member_ref);
      return runRead(
        c,
        ({ catalogue, now }) => ({
          statements: [
            sql`SELECT ${member} AS id, ${balanceJson(member, now, pointValue(rateCardAt(catalogue, partnerId, now)))} AS body`,
          ],
          answer: ([result]) => {
            const row = result?.results[0] as { id: string | null; body: string } | undefined;
            if (!row?.id)
              throw new ApiError("member_not_found", "no member with this member_ref is linked to this partner", "member_ref");
            return rawJson(row.body);
          },
        }),
        { target: { partnerId, memberRef: member_ref } },
      );
    },
  );
};
