import { createRoute, z } from "@hono/zod-openapi";
import type { RouteModule } from "../http/app";
import { runOperatorWrite } from "../http/runner";
import { errorResponses, jsonBody, jsonResponse, OPERATOR_AUTH_ERRORS } from "../http/schemas";
import { tag } from "../http/tags";
import { addKeyStatements } from "../partners/commands";
import { registeredKey } from "../partners/keys";
import { AddKey, PartnerParams } from "../partners/schemas";
import { mustGetPartner } from "../partners/store";

export const partnerKeyAddRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "post",
      path: "/partners/{id}/keys",
      tags: tag("operatorPartners"),
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
      await mustGetPartner(c.env.DB, id); // an unknown partner answers before its key's validity
      const { alg, publicJwk } = await registeredKey(public_jwk);
      await runOperatorWrite(c, addKeyStatements({ partnerId: id, kid, alg, publicJwk }, c.get("operator").sub, c.get("now")), {
        partner_not_found: { message: `no partner ${id}` },
        key_exists: { message: `partner ${id} already has a key ${kid}` },
      });
      return c.json({ key: { kid, alg, status: "active" } }, 201);
    },
  );
};
