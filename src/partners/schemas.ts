import { z } from "@hono/zod-openapi";
import { AmountSchema } from "../http/schemas";

/** Wire schemas of the operator's partners, keys and transfers (operator-api.md "Partners and keys"). */

const PartnerId = z.string().regex(/^[a-z0-9-]{2,40}$/, "must be 2 to 40 of [a-z0-9-]");
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

export const CreatePartner = z
  .strictObject({
    id: PartnerId,
    name: z.string().min(1).max(100),
    funding: Funding,
    pending_days: z.number().int().min(0).max(365).optional(),
    hold_ttl_seconds: z.number().int().min(60).max(604_800).optional(),
  })
  .openapi({
    example: {
      id: "city-books",
      name: "City Books",
      funding: { mode: "prepaid", balance: { value: "1000.00", unit: "CNY" } },
      pending_days: 0,
      hold_ttl_seconds: 900,
    },
  });
export type CreatePartnerBody = z.infer<typeof CreatePartner>;

/** A browser origin: https (http only on this machine), lowercase host, optional port, no path. */
const Origin = z
  .string()
  .max(200)
  .regex(
    /^(https:\/\/[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*|http:\/\/(localhost|127\.0\.0\.1))(:[0-9]{1,5})?$/,
    "an origin: https://host[:port] in lowercase without a path (http only for localhost or 127.0.0.1)",
  )
  .openapi({ example: "https://app.coffee.example" });

export const PatchPartner = z
  .strictObject({
    status: z.enum(["active", "suspended"]).optional(),
    name: z.string().min(1).max(100).optional(),
    pending_days: z.number().int().min(0).max(365).optional(),
    hold_ttl_seconds: z.number().int().min(60).max(604_800).optional(),
    funding: FundingChange.optional(),
    /** Replaces the list of origins whose pages may call /v1/me with this partner's member sessions. */
    allowed_origins: z.array(Origin).max(20).optional(),
  })
  .openapi({ example: { name: "Brew Coffee", hold_ttl_seconds: 1800 } });
export type PatchPartnerBody = z.infer<typeof PatchPartner>;

const PublicJwk = z
  .object({
    kty: z.enum(["OKP", "EC"]),
    crv: z.enum(["Ed25519", "P-256"]),
    x: z.string().min(1).max(200),
    y: z.string().min(1).max(200).optional(),
    d: z.string().optional(),
  })
  .passthrough();
export type PublicJwkBody = z.infer<typeof PublicJwk>;

export const AddKey = z
  .strictObject({
    kid: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[\x21-\x7e]+$/),
    public_jwk: PublicJwk,
  })
  .openapi({
    // RFC 8037's Ed25519 public key.
    example: {
      kid: "brew-coffee-2",
      public_jwk: { kty: "OKP", crv: "Ed25519", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" },
    },
  });

export const KeyParams = PartnerParams.extend({
  kid: z
    .string()
    .min(1)
    .max(100)
    .openapi({ param: { name: "kid", in: "path" } }),
});

/** A payment or a payout between the operator and a partner. */
export const Transfer = z
  .strictObject({ amount: AmountSchema, reference: z.string().min(1).max(200) })
  .openapi({ example: { amount: { value: "500.00", unit: "CNY" }, reference: "bank transfer 2026-11-30" } });
export type TransferBody = z.infer<typeof Transfer>;
