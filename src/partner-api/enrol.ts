import { createRoute, z } from "@hono/zod-openapi";
import { toRfc3339 } from "../db/time";
import type { RouteModule } from "../http/app";
import { runWrite } from "../http/runner";
import { errorResponses, jsonBody, jsonResponse, PARTNER_AUTH_ERRORS } from "../http/schemas";
import { tag } from "../http/tags";
import { MemberRefParams, RequestContextSchema } from "../members/schemas";
import { type EnrolmentRequest, normalizeLinkCode } from "../members/store";
import { planEnrolment } from "../risk/enrol";
import { newMemberId } from "../shards/buckets";

const EnrolBody = z
  .strictObject({
    link_code: z.string().min(1).max(64).optional().openapi({ description: "A link code issued by another partner" }),
    context: RequestContextSchema,
  })
  .openapi("Enrolment", { example: { context: { ip: "203.0.113.7", device_id: "demo-phone-1" } } });

export const MemberSchema = z
  .object({
    member: z.object({
      id: z.string().openapi({ example: "mbr_301_0123456789abcdef" }),
      member_ref: z.string(),
      created_at: z.string().openapi({ description: "When the coalition member was created" }),
      linked_at: z.string().openapi({ description: "When this partner's member_ref was linked" }),
    }),
  })
  .openapi("MemberLink");

/** `PUT /v1/members/{member_ref}` (partner-api.md §4): enrol, or link with a code; idempotent by member_ref. */
export const enrolRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "put",
      path: "/members/{member_ref}",
      tags: tag("partnerMembers"),
      summary:
        "Enrol a new coalition member under this member_ref, or link it to an existing member with a link code (idempotent by member_ref)",
      security: [{ CoalitionSignature: [] }],
      request: { params: MemberRefParams, body: jsonBody(EnrolBody) },
      responses: {
        200: jsonResponse("The link already existed", MemberSchema),
        201: jsonResponse("This call created the member or the link", MemberSchema),
        ...errorResponses(
          "invalid_body",
          "unknown_field",
          "invalid_param",
          "member_ref_conflict",
          "link_code_invalid",
          "risk_declined",
          ...PARTNER_AUTH_ERRORS,
        ),
      },
    }),
    async (c) => {
      const { member_ref } = c.req.valid("param");
      const body = c.req.valid("json");
      const partnerId = c.get("partner").id;
      const base = {
        partnerId,
        memberRef: member_ref,
        context: { ip: body.context.ip, deviceId: body.context.device_id },
        now: c.get("now"),
      };
      // A new member's id names the bucket of (partner, member_ref) for good (docs/design/shards.md);
      // minted once here, so a retry on a stale catalogue keeps it. Unused when the link exists.
      const request: EnrolmentRequest =
        body.link_code === undefined
          ? { ...base, newMemberId: await newMemberId(partnerId, member_ref) }
          : { ...base, linkCode: normalizeLinkCode(body.link_code) };
      return runWrite(c, (ctx) => {
        const plan = planEnrolment(request, c.get("requestId"), ctx);
        return {
          statements: plan.statements,
          onFailure: plan.onFailure,
          answer: (results) => {
            const enrolled = plan.outcome(results);
            const member = {
              id: enrolled.memberId,
              member_ref: enrolled.memberRef,
              created_at: toRfc3339(enrolled.createdAt),
              linked_at: toRfc3339(enrolled.linkedAt),
            };
            return c.json({ member }, enrolled.created ? 201 : 200);
          },
        };
      });
    },
  );
};
