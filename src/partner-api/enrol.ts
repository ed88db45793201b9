import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { GUARD_MESSAGES, guardViolated } from "../db/guard";
import { runBatch, type Sql } from "../db/sql-template";
import { toRfc3339 } from "../db/time";
import { admitFirst } from "../http/admission-batch";
import type { RouteModule } from "../http/app";
import type { AppEnv } from "../http/context";
import { ApiError } from "../http/errors";
import { runWrite } from "../http/runner";
import { errorResponses, jsonBody, jsonResponse, PARTNER_AUTH_ERRORS } from "../http/schemas";
import { tag } from "../http/tags";
import {
  claimedRefGuard,
  claimRefStatements,
  directoryConflictGuard,
  memberOfUsableCode,
  releaseRefClaim,
} from "../members/link-directory";
import { MemberRefParams, RequestContextSchema } from "../members/schemas";
import { bucketOfLinkCode, type EnrolmentRequest, normalizeLinkCode } from "../members/store";
import { planEnrolment, planEnrolmentAcrossShards } from "../risk/enrol";
import { newMemberId, parseMemberIdBucket } from "../shards/buckets";
import { learnLink, place, type Target } from "../shards/placement";

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
      if (body.link_code === undefined) {
        // A new member's id names the bucket of (partner, member_ref) for good (docs/design/shards.md);
        // minted once here, so a retry on a stale catalogue keeps it. Unused when the link exists.
        const request: EnrolmentRequest = { ...base, newMemberId: await newMemberId(partnerId, member_ref) };
        const ownBucket = parseMemberIdBucket(request.newMemberId);
        return enrol(c, request, { partnerId, memberRef: member_ref }, (bucket) =>
          // Placed elsewhere by the directory: the ref is claimed for a member there, never a new one.
          bucket === ownBucket ? [] : [claimedRefGuard(partnerId, member_ref)],
        );
      }
      const request: EnrolmentRequest = { ...base, linkCode: normalizeLinkCode(body.link_code) };
      const codeBucket = bucketOfLinkCode(request.linkCode);
      if (codeBucket === undefined) return enrol(c, request, { partnerId, memberRef: member_ref }, () => []);
      const [refAt, memberAt] = await Promise.all([
        place(c.env, { partnerId, memberRef: member_ref }),
        place(c.env, { bucket: codeBucket }),
      ]);
      const onMemberShard = () => [directoryConflictGuard(partnerId, member_ref, request.linkCode)];
      if (refAt.shard.index === memberAt.shard.index) return enrol(c, request, { bucket: codeBucket }, onMemberShard);
      return linkAcrossShards(c, request, refAt.shard.db, memberAt.shard.db, () =>
        enrol(c, request, { bucket: codeBucket }, onMemberShard),
      );
    },
  );
};

/** The enrolment's one batch on the member's shard, with the guards the placement asks for in front. */
function enrol(c: Context<AppEnv>, request: EnrolmentRequest, target: Target, guards: (bucket: number | undefined) => Sql[]) {
  return runWrite(
    c,
    (ctx) => {
      const requestId = c.get("requestId");
      // On a shard other than main, the rules on bulk sign-ups per device and IP are decided in main first.
      const split = ctx.split ? planEnrolmentAcrossShards(request, requestId, ctx) : undefined;
      const plan = split ? split.shard({ tripped: [] }) : planEnrolment(request, requestId, ctx);
      return {
        statements: [...guards(ctx.bucket), ...plan.statements],
        onFailure: plan.onFailure,
        ...(split
          ? {
              roundOne: {
                statements: split.main,
                after: (results) => ({ statements: [...guards(ctx.bucket), ...split.shard(split.decision(results)).statements] }),
              },
            }
          : {}),
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
    },
    { target },
  );
}

/**
 * A link code redeemed for a ref whose own shard is not the member's (src/members/link-directory.ts):
 * the signed request is checked, the ref claimed in its shard's directory, then the link made on
 * the member's shard; a link that fails takes the claim back.
 */
async function linkAcrossShards(
  c: Context<AppEnv>,
  request: EnrolmentRequest & { linkCode: string },
  refShard: D1Database,
  memberShard: D1Database,
  link: () => Promise<Response>,
): Promise<Response> {
  await admitFirst(c);
  const memberId = await memberOfUsableCode(memberShard, request.linkCode, request.now);
  // An unusable code: the member's shard answers it (link_code_invalid, or the existing link).
  if (memberId === undefined) return link();
  try {
    await runBatch(refShard, claimRefStatements(request.partnerId, request.memberRef, memberId, request.now));
  } catch (error) {
    if (guardViolated(error) === "member_ref_conflict")
      throw new ApiError("member_ref_conflict", GUARD_MESSAGES.member_ref_conflict);
    throw error;
  }
  try {
    const answer = await link();
    learnLink(request.partnerId, request.memberRef, memberId);
    return answer;
  } catch (error) {
    if (error instanceof ApiError) await releaseRefClaim(refShard, request.partnerId, request.memberRef, memberId);
    throw error;
  }
}
