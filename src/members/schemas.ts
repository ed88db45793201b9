import { z } from "@hono/zod-openapi";
import { parseIp } from "../risk/ip";
import { isValidMemberRef, MEMBER_REF_PATTERN } from "./store";

/** Wire schemas of members (partner-api.md §4), shared by the enrolment, earn and burn routes. */

/** A `context.ip`: IPv4 dotted quad or IPv6 text (src/risk/ip.ts is the one parser). */
export function isIpAddress(s: string): boolean {
  return parseIp(s) !== undefined;
}

export const MemberRefSchema = z
  .string()
  .regex(MEMBER_REF_PATTERN, "must be 1 to 128 of [A-Za-z0-9._:-]")
  .refine((s) => isValidMemberRef(s), "must not start with mbr_")
  .openapi({ example: "c-1001" });

/** `context` of enrolments, earns and burns: the member's IP as the partner saw it, and a device id. */
export const RequestContextSchema = z
  .strictObject({
    ip: z.string().max(45).refine(isIpAddress, "must be an IPv4 or IPv6 address").openapi({ example: "203.0.113.7" }),
    device_id: z.string().min(1).max(128).optional().openapi({ example: "d-9f2" }),
  })
  .openapi("RequestContext");

export const MemberRefParams = z.object({
  member_ref: MemberRefSchema.openapi({ param: { name: "member_ref", in: "path" } }),
});
