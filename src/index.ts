import type { Env } from "./env";
import { createApp } from "./http/app";
import { benchRoutes } from "./http/bench";
import { publicRoutes } from "./http/public";
import { runScheduled } from "./jobs/scheduled";
import { adjustmentRoutes } from "./operator/adjustments";
import { auditRoutes } from "./operator/audit";
import { partnerFundingRoutes } from "./operator/partner-funding";
import { partnerKeyRoutes } from "./operator/partner-keys";
import { partnerRoutes } from "./operator/partners";
import { rateCardRoutes } from "./operator/rate-cards";
import { reviewRoutes } from "./operator/reviews";
import { riskEventRoutes } from "./operator/risk-events";
import { riskRuleRoutes } from "./operator/risk-rules";
import { seedRoutes } from "./operator/seeds";
import { activityRoutes } from "./partner-api/activity";
import { balanceRoutes } from "./partner-api/balance";
import { burnRoutes } from "./partner-api/burns";
import { earnRoutes } from "./partner-api/earn";
import { enrolRoutes } from "./partner-api/enrol";
import { holdRoutes } from "./partner-api/holds";
import { linkCodeRoutes } from "./partner-api/link-codes";
import { quoteRoutes } from "./partner-api/quote";
import { reversalRoutes } from "./partner-api/reversals";
import { transactionRoutes } from "./partner-api/transactions";
import { whoamiRoutes } from "./partner-api/whoami";
import { settlementOperatorRoutes, settlementPartnerRoutes, settlementPublicRoutes } from "./settlement/routes";

export const app = createApp({
  partner: [
    whoamiRoutes,
    enrolRoutes,
    linkCodeRoutes,
    balanceRoutes,
    activityRoutes,
    quoteRoutes,
    earnRoutes,
    burnRoutes,
    holdRoutes,
    reversalRoutes,
    transactionRoutes,
    settlementPartnerRoutes,
  ],
  operator: [
    partnerRoutes,
    partnerKeyRoutes,
    partnerFundingRoutes,
    auditRoutes,
    rateCardRoutes,
    adjustmentRoutes,
    riskRuleRoutes,
    riskEventRoutes,
    reviewRoutes,
    settlementOperatorRoutes,
    seedRoutes,
  ],
  public: [publicRoutes, benchRoutes, settlementPublicRoutes],
});

export default {
  fetch: app.fetch,
  async scheduled(controller, env, ctx) {
    ctx.waitUntil(runScheduled(env, controller.scheduledTime));
  },
} satisfies ExportedHandler<Env>;
