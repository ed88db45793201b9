import { createRoute, z } from "@hono/zod-openapi";
import { guardViolated } from "../db/guard";
import { sqlTime } from "../db/sql";
import { toRfc3339 } from "../db/time";
import type { RouteModule } from "../http/app";
import { ApiError } from "../http/errors";
import { idempotent } from "../http/idempotency";
import { decodeCursor, page } from "../http/pagination";
import {
  errorResponses,
  IDEMPOTENCY_ERRORS,
  jsonBody,
  jsonResponse,
  ListQuery,
  listOf,
  PARTNER_AUTH_ERRORS,
} from "../http/schemas";
import { enrolWithRisk } from "../risk/enrol";
import { parseIp } from "../risk/ip";
import {
  issueLinkCodeStatement,
  isValidMemberRef,
  LINK_CODE_TTL_MS,
  listMemberActivity,
  MEMBER_REF_PATTERN,
  newLinkCode,
  normalizeLinkCode,
  resolveMember,
} from "./store";

/** partner-api.md §4: enrolment, link codes, activity. */

// ---- Shared schemas (earn and burn bodies use them too) ----

/** A `context.ip`: IPv4 dotted quad or IPv6 text (src/risk/ip.ts is the one parser). */
export function isIpAddress(s: string): boolean {
  return parseIp(s) !== undefined;
}

export const MemberRefSchema = z
  .string()
  .regex(MEMBER_REF_PATTERN, "must be 1 to 128 of [A-Za-z0-9._:-]")
  .refine((s) => isValidMemberRef(s), "must not start with mbr_")
  .openapi({ example: "c-42" });

/** `context` of enrolments, earns and burns: the member's IP as the partner saw it, and a device id. */
export const RequestContextSchema = z
  .strictObject({
    ip: z.string().max(45).refine(isIpAddress, "must be an IPv4 or IPv6 address").openapi({ example: "203.0.113.7" }),
    device_id: z.string().min(1).max(128).optional().openapi({ example: "d-9f2" }),
  })
  .openapi("RequestContext");

const MemberRefParams = z.object({
  member_ref: MemberRefSchema.openapi({ param: { name: "member_ref", in: "path" } }),
});

const EnrolBody = z
  .strictObject({
    link_code: z.string().min(1).max(64).optional().openapi({ description: "A link code issued by another partner" }),
    context: RequestContextSchema,
  })
  .openapi("Enrolment");

const MemberSchema = z
  .object({
    member: z.object({
      id: z.string().openapi({ example: "mbr_0123456789abcdefghjkmnpqrstv" }),
      member_ref: z.string(),
      created_at: z.string().openapi({ description: "When the coalition member was created" }),
      linked_at: z.string().openapi({ description: "When this partner's member_ref was linked" }),
    }),
  })
  .openapi("MemberLink");

const LinkCodeSchema = z
  .object({ link_code: z.string().openapi({ example: "K7QX3M9PRT2H" }), expires_at: z.string() })
  .openapi("LinkCode");

const ActivityEntry = z
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

function memberNotFound(ref: string): ApiError {
  return new ApiError("member_not_found", `no member ${ref} is linked to this partner`);
}

export const memberRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "put",
      path: "/members/{member_ref}",
      tags: ["Partner: members"],
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
      const partner = c.get("partner");
      let enrolled: Awaited<ReturnType<typeof enrolWithRisk>>;
      try {
        // The risk rules on enrolment (src/risk/enrol.ts) run in the enrolment's own batch.
        enrolled = await enrolWithRisk(
          c.env.DB,
          {
            partnerId: partner.id,
            memberRef: member_ref,
            ...(body.link_code === undefined ? {} : { linkCode: normalizeLinkCode(body.link_code) }),
            context: {
              ip: body.context.ip,
              ...(body.context.device_id === undefined ? {} : { deviceId: body.context.device_id }),
            },
            now: c.get("now"),
          },
          c.get("requestId"),
        );
      } catch (error) {
        const code = guardViolated(error);
        if (code === "link_code_invalid") throw new ApiError(code, "the link code is unknown, used or expired", "link_code");
        if (code === "member_ref_conflict") {
          throw new ApiError(
            code,
            "this member_ref is linked to another member, or the code's member is linked to this partner under another member_ref",
            "member_ref",
          );
        }
        throw error;
      }
      const member = {
        id: enrolled.memberId,
        member_ref: enrolled.memberRef,
        created_at: toRfc3339(enrolled.createdAt),
        linked_at: toRfc3339(enrolled.linkedAt),
      };
      return enrolled.created ? c.json({ member }, 201) : c.json({ member }, 200);
    },
  );

  r.openapi(
    createRoute({
      method: "post",
      path: "/members/{member_ref}/link-codes",
      tags: ["Partner: members"],
      summary: "Issue a single-use link code (valid 10 minutes) that the member gives to another partner",
      security: [{ CoalitionSignature: [] }],
      request: {
        params: MemberRefParams,
        body: { required: false, content: { "application/json": { schema: z.strictObject({}).openapi("LinkCodeRequest") } } },
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
    async (c) => {
      const { member_ref } = c.req.valid("param");
      const partner = c.get("partner");
      const db = c.env.DB;
      const now = c.get("now");
      return idempotent(c, partner.id, async () => {
        if (!(await resolveMember(db, partner.id, member_ref))) throw memberNotFound(member_ref);
        const code = newLinkCode();
        return {
          status: 201,
          statements: [
            issueLinkCodeStatement(db, { partnerId: partner.id, memberRef: member_ref, code, expiresAt: now + LINK_CODE_TTL_MS }),
          ],
          body: {
            sql: `SELECT json_object('link_code', code, 'expires_at', ${sqlTime("expires_at")}) FROM link_codes WHERE code = ?1`,
            binds: [code],
          },
        };
      });
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/members/{member_ref}/activity",
      tags: ["Partner: members"],
      summary: "The member's transactions at every partner, newest first (other partners' entries without private details)",
      security: [{ CoalitionSignature: [] }],
      request: { params: MemberRefParams, query: ListQuery },
      responses: {
        200: jsonResponse("Activity", listOf(ActivityEntry)),
        ...errorResponses("invalid_param", "unknown_field", "member_not_found", ...PARTNER_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { member_ref } = c.req.valid("param");
      const { limit, cursor } = c.req.valid("query");
      const partner = c.get("partner");
      const db = c.env.DB;
      const now = c.get("now");
      const position = decodeCursor(cursor, ["seq"]);
      const beforeSeq = position === undefined ? undefined : Number(position.seq);
      if (beforeSeq !== undefined && !Number.isSafeInteger(beforeSeq)) {
        throw new ApiError("invalid_param", "cursor is not one this API returned", "cursor");
      }
      const member = await resolveMember(db, partner.id, member_ref);
      if (!member) throw memberNotFound(member_ref);
      const rows = await listMemberActivity(db, member.memberId, { limit: limit + 1, beforeSeq, callerId: partner.id, now });
      const result = page(rows, limit, (row) => ({ seq: row.seq }));
      return c.json(
        {
          data: result.data.map((row) => JSON.parse(row.entry) as z.infer<typeof ActivityEntry>),
          next_cursor: result.next_cursor,
        },
        200,
      );
    },
  );
};
