import { z } from "@hono/zod-openapi";
import { AmountSchema } from "../http/schemas";

/** Wire schemas of the operator's partners and transfers (operator-api.md "Partners and keys"). */

export const PartnerId = z.string().regex(/^[a-z0-9-]{2,40}$/, "must be 2 to 40 of [a-z0-9-]");
export const PartnerParams = z.object({ id: PartnerId.openapi({ param: { name: "id", in: "path" } }) });

/** Prepaid only: what a close does with a receivable left after the set-off (economics.md). */
const Receivables = z.enum(["payout", "top_up"]).optional();
const Funding = z.discriminatedUnion("mode", [
  z.strictObject({ mode: z.literal("prepaid"), balance: AmountSchema, receivables: Receivables }),
  z.strictObject({ mode: z.literal("postpaid"), credit_limit: AmountSchema }),
]);
const FundingChange = z.discriminatedUnion("mode", [
  z.strictObject({ mode: z.literal("prepaid"), receivables: Receivables }),
  z.strictObject({ mode: z.literal("postpaid"), credit_limit: AmountSchema }),
]);

export const PartnerSchema = z.object({}).passthrough().openapi("Partner");
export const PartnerResponse = z.object({ partner: PartnerSchema });

export const CreatePartner = z.strictObject({
  id: PartnerId,
  name: z.string().min(1).max(100),
  funding: Funding,
  pending_days: z.number().int().min(0).max(365).optional(),
  hold_ttl_seconds: z.number().int().min(60).max(604_800).optional(),
});
export type CreatePartnerBody = z.infer<typeof CreatePartner>;

export const PatchPartner = z.strictObject({
  status: z.enum(["active", "suspended"]).optional(),
  name: z.string().min(1).max(100).optional(),
  pending_days: z.number().int().min(0).max(365).optional(),
  hold_ttl_seconds: z.number().int().min(60).max(604_800).optional(),
  funding: FundingChange.optional(),
});
export type PatchPartnerBody = z.infer<typeof PatchPartner>;

/** A payment or a payout between the operator and a partner. */
export const Transfer = z.strictObject({ amount: AmountSchema, reference: z.string().min(1).max(200) });
export type TransferBody = z.infer<typeof Transfer>;
