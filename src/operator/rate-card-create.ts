import { createRoute, z } from "@hono/zod-openapi";
import type { RouteModule } from "../http/app";
import { errorResponses, jsonBody, jsonResponse, OPERATOR_AUTH_ERRORS } from "../http/schemas";
import { tag } from "../http/tags";
import { PartnerParams } from "../partners/schemas";
import { mustGetPartner } from "../partners/store";
import { createRateCard, newCardEffectiveFrom, renderRateCard } from "../rates/cards";
import { CreateRateCard, RateCardSchema } from "../rates/schemas";

export const rateCardCreateRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "post",
      path: "/partners/{id}/rate-cards",
      tags: tag("operatorRates"),
      summary: "Create a new rate-card version for a partner, effective from effective_from (default now, never in the past)",
      security: [{ OperatorToken: [] }],
      request: { params: PartnerParams, body: jsonBody(CreateRateCard) },
      responses: {
        201: jsonResponse("The new version", z.object({ rate_card: RateCardSchema })),
        ...errorResponses("invalid_body", "unknown_field", "invalid_param", "partner_not_found", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const { effective_from, campaigns = [], ...rates } = c.req.valid("json");
      const db = c.env.DB;
      const now = c.get("now");
      const effectiveFrom = newCardEffectiveFrom(effective_from, now);
      await mustGetPartner(db, id);
      const card = await createRateCard(db, {
        partnerId: id,
        effectiveFrom,
        input: { ...rates, campaigns },
        now,
        actor: c.get("operator").sub,
      });
      return c.json({ rate_card: renderRateCard(card) }, 201);
    },
  );
};
