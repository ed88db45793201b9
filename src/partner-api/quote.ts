import { createRoute } from "@hono/zod-openapi";
import { rateCardAt } from "../catalogue/catalogue";
import type { RouteModule } from "../http/app";
import { runRead } from "../http/runner";
import { errorResponses, jsonResponse, PARTNER_AUTH_ERRORS } from "../http/schemas";
import { tag } from "../http/tags";
import { quote } from "../rates/quote";
import { QuoteQuery, QuoteSchema } from "../rates/schemas";

/** `GET /v1/quote?unit=CNY&value=58.00` (partner-api.md §5). */
export const quoteRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "get",
      path: "/quote",
      tags: tag("partnerEarnBurn"),
      summary: "What an amount earns at this partner now, and how many points that amount of discount costs",
      security: [{ CoalitionSignature: [] }],
      request: { query: QuoteQuery },
      responses: {
        200: jsonResponse("The quote, at the rate card in force now", QuoteSchema),
        ...errorResponses("invalid_param", "unknown_field", "unknown_unit", "no_rate_card", ...PARTNER_AUTH_ERRORS),
      },
    }),
    (c) => {
      const { unit, value } = c.req.valid("query");
      const partnerId = c.get("partner").id;
      // Decided on the cached catalogue; the batch (the admission checks) confirms its version.
      return runRead(c, ({ catalogue, now }) => ({
        statements: [],
        answer: () => c.json({ quote: quote(rateCardAt(catalogue, partnerId, now), unit, value, now) }, 200),
      }));
    },
  );
};
