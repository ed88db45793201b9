import { createRoute } from "@hono/zod-openapi";
import type { RouteModule } from "../http/app";
import { runOperatorWrite } from "../http/runner";
import { errorResponses, jsonBody, jsonResponse, OPERATOR_AUTH_ERRORS } from "../http/schemas";
import { tag } from "../http/tags";
import { planUpdatePartner } from "../partners/commands";
import { PartnerParams, PartnerResponse, PatchPartner } from "../partners/schemas";
import { mustGetPartner, partnerDetail } from "../partners/store";

export const partnerUpdateRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "patch",
      path: "/partners/{id}",
      tags: tag("operatorPartners"),
      summary: "Change a partner's status, name, pending period, hold TTL, funding mode or allowed origins",
      security: [{ OperatorToken: [] }],
      request: { params: PartnerParams, body: jsonBody(PatchPartner) },
      responses: {
        200: jsonResponse("The partner", PartnerResponse),
        ...errorResponses("invalid_body", "unknown_field", "partner_not_found", "unknown_unit", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const body = c.req.valid("json");
      const db = c.env.DB;
      const now = c.get("now");
      const currency = c.env.SETTLEMENT_CURRENCY;
      await mustGetPartner(db, id); // an unknown partner answers before its body's currency
      await runOperatorWrite(c, planUpdatePartner(id, body, currency, c.get("operator").sub, now), {
        partner_not_found: { message: `no partner ${id}` },
      });
      return c.json({ partner: await partnerDetail(db, id, currency, now) }, 200);
    },
  );
};
