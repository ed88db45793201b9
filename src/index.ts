import type { Env } from "./env";
import { type AppRoutes, createApp } from "./http/app";
import { publicRoutes } from "./http/public";
import { runScheduled } from "./jobs/scheduled";
import { adjustmentRoutes } from "./operator/adjustments";
import { auditRoutes } from "./operator/audit";
import { partnerFundingRoutes } from "./operator/partner-funding";
import { partnerRoutes } from "./operator/partners";
import { rateCardRoutes } from "./operator/rate-cards";
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
import { riskRoutes } from "./risk/routes";
import { settlementOperatorRoutes, settlementPartnerRoutes, settlementPublicRoutes } from "./settlement/routes";

/** Every route of the exchange (the bench worker, scripts/bench/worker/, serves these plus its own). */
export const routes: AppRoutes = {
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
    partnerFundingRoutes,
    auditRoutes,
    rateCardRoutes,
    adjustmentRoutes,
    riskRoutes,
    settlementOperatorRoutes,
    seedRoutes,
  ],
  public: [publicRoutes, settlementPublicRoutes],
};

export const app = createApp(routes);

export default {
  fetch: app.fetch,
  async scheduled(controller, env, ctx) {
    ctx.waitUntil(runScheduled(env, controller.scheduledTime));
  },
} satisfies ExportedHandler<Env>;
