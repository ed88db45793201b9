import { createRoute, z } from "@hono/zod-openapi";
import type { RouteModule } from "../http/app";
import { runKeyedWrite } from "../http/runner";
import { errorResponses, IDEMPOTENCY_ERRORS, IdempotencyKeyHeader, jsonResponse, PARTNER_AUTH_ERRORS } from "../http/schemas";
import { tag } from "../http/tags";
import { memberGuard } from "../ledger/commands/common";
import { memberOfRef } from "../ledger/member";
import { MemberRefParams } from "../members/schemas";
import { insertSession, newSessionToken, SESSION_TTL_MAX_SECONDS, sessionAnswer, sessionTokenHash } from "../members/sessions";

const SessionRequest = z
  .strictObject({
    ttl_seconds: z.number().int().min(60).max(SESSION_TTL_MAX_SECONDS).optional().openapi({ example: 900 }),
  })
  .openapi("MemberSessionRequest", { example: { ttl_seconds: 900 } });

const SessionSchema = z
  .object({
    token: z.string().openapi({ example: "mst_3q2-7wEXAMPLEexampleEXAMPLEexampleEXAMPLEexa" }),
    expires_at: z.string(),
  })
  .openapi("MemberSession");

/**
 * `POST /v1/members/{member_ref}/sessions` (docs/member-sessions.md): a read-only token for one
 * member, valid `ttl_seconds` (at most 15 minutes), for the member's browser to call `/v1/me`.
 */
export const memberSessionRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "post",
      path: "/members/{member_ref}/sessions",
      tags: tag("partnerMembers"),
      summary: "A read-only session for one member (at most 15 minutes), for GET /v1/me from the member's browser",
      security: [{ CoalitionSignature: [] }],
      request: {
        params: MemberRefParams,
        headers: IdempotencyKeyHeader,
        body: { required: false, content: { "application/json": { schema: SessionRequest } } },
      },
      responses: {
        201: jsonResponse("The session", SessionSchema),
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
    async (c) => {
      const { member_ref } = c.req.valid("param");
      const ttl = c.req.valid("json")?.ttl_seconds ?? SESSION_TTL_MAX_SECONDS;
      const partnerId = c.get("partner").id;
      return runKeyedWrite(
        c,
        partnerId,
        async ({ now, bucket }) => {
          if (bucket === undefined) throw new Error("a session is opened for a placed member");
          const token = newSessionToken(bucket);
          const hash = await sessionTokenHash(token);
          const member = memberOfRef(partnerId, member_ref);
          const expiresAt = now + ttl * 1000;
          return {
            status: 201,
            statements: [memberGuard(member), insertSession({ hash, partnerId, member, expiresAt, now })],
            response: sessionAnswer(token, expiresAt),
            describe: { member_not_found: { message: `no member ${member_ref} is linked to this partner` } },
          };
        },
        { target: { partnerId, memberRef: member_ref } },
      );
    },
  );
};
