import { createRoute } from "@hono/zod-openapi";
import type { RouteModule } from "../http/app";
import { runOperatorWrite } from "../http/runner";
import { errorResponses, jsonBody, jsonResponse, OPERATOR_AUTH_ERRORS } from "../http/schemas";
import { tag } from "../http/tags";
import { planCreatePartner } from "../partners/commands";
import { CreatePartner, PartnerResponse } from "../partners/schemas";
import { mustGetPartner, renderPartner } from "../partners/store";

export const partnerCreateRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "post",
      path: "/partners",
      tags: tag("operatorPartners"),
      summary: "Create a partner",
      security: [{ OperatorToken: [] }],
      request: { body: jsonBody(CreatePartner) },
      responses: {
        201: jsonResponse("The new partner", PartnerResponse),
        ...errorResponses("invalid_body", "unknown_field", "partner_exists", "unknown_unit", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const currency = c.env.SETTLEMENT_CURRENCY;
      await runOperatorWrite(c, planCreatePartner(body, currency, c.get("operator").sub, c.get("now")), {
        partner_exists: { message: `a partner with id ${body.id} exists` },
      });
      // A new partner has no rate card and no keys yet.
      const p = await mustGetPartner(c.env.DB, body.id);
      return c.json({ partner: renderPartner(p, currency, { earn: [], burn: [] }, []) }, 201);
    },
  );
};
