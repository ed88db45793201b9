import { createRoute, z } from "@hono/zod-openapi";
import { forgetPartnerKey } from "../auth/partner-keys";
import type { RouteModule } from "../http/app";
import { runOperatorWrite } from "../http/runner";
import { errorResponses, jsonResponse, OPERATOR_AUTH_ERRORS } from "../http/schemas";
import { tag } from "../http/tags";
import { revokeKeyStatements } from "../partners/commands";
import { KeyParams } from "../partners/schemas";

export const partnerKeyRevokeRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "delete",
      path: "/partners/{id}/keys/{kid}",
      tags: tag("operatorPartners"),
      summary: "Revoke a partner key, at once",
      security: [{ OperatorToken: [] }],
      request: { params: KeyParams },
      responses: {
        200: jsonResponse("The revoked key", z.object({ key: z.object({ kid: z.string(), status: z.string() }) })),
        ...errorResponses("partner_not_found", "key_not_found", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { id, kid } = c.req.valid("param");
      await runOperatorWrite(c, revokeKeyStatements(id, kid, c.get("operator").sub, c.get("now")), {
        partner_not_found: { message: `no partner ${id}` },
        key_not_found: { message: `partner ${id} has no key ${kid}` },
      });
      forgetPartnerKey(id, kid);
      return c.json({ key: { kid, status: "revoked" } }, 200);
    },
  );
};
