import { createRoute, z } from "@hono/zod-openapi";
import { exportJWK, importJWK, type JWK } from "jose";
import { forgetPartnerKey } from "../auth/partner-keys";
import type { RouteModule } from "../http/app";
import { ApiError } from "../http/errors";
import { runOperatorWrite } from "../http/runner";
import { errorResponses, jsonBody, jsonResponse, OPERATOR_AUTH_ERRORS } from "../http/schemas";
import { addKeyStatements, revokeKeyStatements } from "../partners/commands";
import { PartnerParams } from "../partners/schemas";
import { mustGetPartner } from "../partners/store";

/** `POST /admin/v1/partners/{id}/keys` and `DELETE …/keys/{kid}` (operator-api.md "Partners and keys"). */

const PublicJwk = z
  .object({
    kty: z.enum(["OKP", "EC"]),
    crv: z.enum(["Ed25519", "P-256"]),
    x: z.string().min(1).max(200),
    y: z.string().min(1).max(200).optional(),
    d: z.string().optional(),
  })
  .passthrough();

const AddKey = z.strictObject({
  kid: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[\x21-\x7e]+$/),
  public_jwk: PublicJwk,
});

export const partnerKeyRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "post",
      path: "/partners/{id}/keys",
      tags: ["Operator: partners"],
      summary: "Register a partner public key (Ed25519 OKP or P-256 EC)",
      security: [{ OperatorToken: [] }],
      request: { params: PartnerParams, body: jsonBody(AddKey) },
      responses: {
        201: jsonResponse("The key", z.object({ key: z.object({ kid: z.string(), alg: z.string(), status: z.string() }) })),
        ...errorResponses("invalid_body", "unknown_field", "partner_not_found", "key_exists", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const { kid, public_jwk } = c.req.valid("json");
      const now = c.get("now");
      await mustGetPartner(c.env.DB, id); // an unknown partner answers before its key's validity
      if (public_jwk.d !== undefined)
        throw new ApiError("invalid_body", "a private key was sent: register only the public key", "public_jwk.d");
      const alg =
        public_jwk.kty === "OKP" && public_jwk.crv === "Ed25519"
          ? "EdDSA"
          : public_jwk.kty === "EC" && public_jwk.crv === "P-256"
            ? "ES256"
            : undefined;
      if (!alg) throw new ApiError("invalid_body", "public_jwk must be an Ed25519 OKP or a P-256 EC key", "public_jwk");
      // Import it now so a broken key is refused here, not at the partner's first request; store
      // only the public members.
      let publicJwk: JWK;
      try {
        const key = await importJWK({ ...public_jwk, d: undefined } as JWK, alg, { extractable: true });
        const { kty, crv, x, y } = await exportJWK(key as CryptoKey);
        publicJwk = y === undefined ? { kty, crv, x } : { kty, crv, x, y };
      } catch {
        throw new ApiError("invalid_body", "public_jwk is not a valid key", "public_jwk");
      }
      await runOperatorWrite(c, addKeyStatements({ partnerId: id, kid, alg, publicJwk }, c.get("operator").sub, now), {
        partner_not_found: { message: `no partner ${id}` },
        key_exists: { message: `partner ${id} already has a key ${kid}` },
      });
      return c.json({ key: { kid, alg, status: "active" } }, 201);
    },
  );

  r.openapi(
    createRoute({
      method: "delete",
      path: "/partners/{id}/keys/{kid}",
      tags: ["Operator: partners"],
      summary: "Revoke a partner key, at once",
      security: [{ OperatorToken: [] }],
      request: {
        params: PartnerParams.extend({
          kid: z
            .string()
            .min(1)
            .max(100)
            .openapi({ param: { name: "kid", in: "path" } }),
        }),
      },
      responses: {
        200: jsonResponse("The revoked key", z.object({ key: z.object({ kid: z.string(), status: z.string() }) })),
        ...errorResponses("partner_not_found", "key_not_found", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { id, kid } = c.req.valid("param");
      const now = c.get("now");
      await runOperatorWrite(c, revokeKeyStatements(id, kid, c.get("operator").sub, now), {
        partner_not_found: { message: `no partner ${id}` },
        key_not_found: { message: `partner ${id} has no key ${kid}` },
      });
      forgetPartnerKey(id, kid);
      return c.json({ key: { kid, status: "revoked" } }, 200);
    },
  );
};
