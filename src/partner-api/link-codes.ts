import { createRoute, z } from "@hono/zod-openapi";
import { timeText } from "../db/sql";
import { raw, sql } from "../db/sql-template";
import type { RouteModule } from "../http/app";
import { runKeyedWrite } from "../http/runner";
import { errorResponses, IDEMPOTENCY_ERRORS, IdempotencyKeyHeader, jsonResponse, PARTNER_AUTH_ERRORS } from "../http/schemas";
import { tag } from "../http/tags";
import { memberGuard } from "../ledger/commands/common";
import { memberOfRef } from "../ledger/member";
import { MemberRefParams } from "../members/schemas";
import { issueLinkCodeStatement, LINK_CODE_TTL_MS, newLinkCode } from "../members/store";

const LinkCodeSchema = z
  .object({ link_code: z.string().openapi({ example: "K7QX3M9PRT2H" }), expires_at: z.string() })
  .openapi("LinkCode");

/** `POST /v1/members/{member_ref}/link-codes` (partner-api.md §4): a single-use code, valid 10 minutes. */
export const linkCodeRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "post",
      path: "/members/{member_ref}/link-codes",
      tags: tag("partnerMembers"),
      summary: "Issue a single-use link code (valid 10 minutes) that the member gives to another partner",
      security: [{ CoalitionSignature: [] }],
      request: {
        headers: IdempotencyKeyHeader,
        params: MemberRefParams,
        body: {
          required: false,
          content: { "application/json": { schema: z.strictObject({}).openapi("LinkCodeRequest", { example: {} }) } },
        },
      },
      responses: {
        201: jsonResponse("The code", LinkCodeSchema),
        ...errorResponses(
          "invalid_body",
          "unknown_field",
          "invalid_param",
          "member_not_found",
          ...IDEMPOTENCY_ERRORS,
          ...PARTNER_AUTH_ERRORS,
        ),
      },
    }),
    (c) => {
      const { member_ref } = c.req.valid("param");
      const partnerId = c.get("partner").id;
      return runKeyedWrite(
        c,
        partnerId,
        ({ now, bucket }) => {
          const member = memberOfRef(partnerId, member_ref);
          if (bucket === undefined) throw new Error("a link code is issued for a placed member");
          const code = newLinkCode(bucket);
          return {
            status: 201,
            statements: [
              memberGuard(member),
              issueLinkCodeStatement({ partnerId, member, code, expiresAt: now + LINK_CODE_TTL_MS }),
            ],
            response: sql`(SELECT json_object('link_code', code, 'expires_at', ${timeText(raw("expires_at"))}) FROM link_codes WHERE code = ${code})`,
            describe: { member_not_found: { message: `no member ${member_ref} is linked to this partner` } },
          };
        },
        { target: { partnerId, memberRef: member_ref } },
      );
    },
  );
};
