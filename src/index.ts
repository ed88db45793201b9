import type { Env } from "./env";
import { type AppRoutes, createApp } from "./http/app";
import { publicRoutes } from "./http/public";
import { runScheduled } from "./jobs/scheduled";
import { meRoutes } from "./member-api/me";
import { meActivityRoutes } from "./member-api/me-activity";
import { widgetRoutes } from "./member-api/widget";
import { adjustmentRoutes } from "./operator/adjustments";
import { auditRoutes } from "./operator/audit";
import { operatorMemberRoutes } from "./operator/members";
import { metricsRoutes } from "./operator/metrics";
import { partnerCreateRoutes } from "./operator/partner-create";
import { partnerFundingRoutes } from "./operator/partner-funding";
import { partnerKeyAddRoutes } from "./operator/partner-key-add";
import { partnerKeyRevokeRoutes } from "./operator/partner-key-revoke";
import { partnerUpdateRoutes } from "./operator/partner-update";
import { partnerRoutes } from "./operator/partners";
import { rateCardCreateRoutes } from "./operator/rate-card-create";
import { rateCardRoutes } from "./operator/rate-cards";
import { reviewDecisionRoutes } from "./operator/review-decision";
import { reviewRoutes } from "./operator/reviews";
import { riskEventRoutes } from "./operator/risk-events";
import { riskRuleRoutes } from "./operator/risk-rules";
import { riskRuleReplaceRoutes } from "./operator/risk-rules-replace";
import { seedForgetRoutes } from "./operator/seed-forget";
import { seedRecordRoutes } from "./operator/seed-record";
import { seedRoutes } from "./operator/seeds";
import { settlementCloseRoutes } from "./operator/settlement-close";
import { settlementConfigRoutes } from "./operator/settlement-config";
import { settlementPageRoutes } from "./operator/settlement-pages";
import { settlementReportRoutes } from "./operator/settlements";
import { shardRoutes } from "./operator/shards";
import { activityRoutes } from "./partner-api/activity";
import { balanceRoutes } from "./partner-api/balance";
import { burnRoutes } from "./partner-api/burns";
import { earnRoutes } from "./partner-api/earn";
import { enrolRoutes } from "./partner-api/enrol";
import { holdRoutes } from "./partner-api/holds";
import { linkCodeRoutes } from "./partner-api/link-codes";
import { memberSessionRoutes } from "./partner-api/member-sessions";
import { quoteRoutes } from "./partner-api/quote";
import { reversalRoutes } from "./partner-api/reversals";
import { settlementLineRoutes } from "./partner-api/settlement-lines";
import { settlementRoutes } from "./partner-api/settlements";
import { transactionRoutes } from "./partner-api/transactions";
import { whoamiRoutes } from "./partner-api/whoami";

/** Every route of the exchange (the bench worker, scripts/bench/worker/, serves these plus its own). */
export const routes: AppRoutes = {
  partner: [
    whoamiRoutes,
    enrolRoutes,
    linkCodeRoutes,
    memberSessionRoutes,
    balanceRoutes,
    activityRoutes,
    quoteRoutes,
    earnRoutes,
    burnRoutes,
    holdRoutes,
    reversalRoutes,
    transactionRoutes,
    settlementRoutes,
    settlementLineRoutes,
  ],
  member: [meRoutes, meActivityRoutes],
  operator: [
    partnerCreateRoutes,
    partnerRoutes,
    partnerUpdateRoutes,
    partnerKeyAddRoutes,
    partnerKeyRevokeRoutes,
    partnerFundingRoutes,
    auditRoutes,
    rateCardCreateRoutes,
    rateCardRoutes,
    adjustmentRoutes,
    operatorMemberRoutes,
    riskRuleRoutes,
    riskRuleReplaceRoutes,
    riskEventRoutes,
    reviewRoutes,
    reviewDecisionRoutes,
    settlementCloseRoutes,
    settlementReportRoutes,
    settlementPageRoutes,
    settlementConfigRoutes,
    metricsRoutes,
    shardRoutes,
    seedRoutes,
    seedRecordRoutes,
    seedForgetRoutes,
  ],
  public: [publicRoutes, widgetRoutes],
};

export const app = createApp(routes);

export default {
  fetch: app.fetch,
  async scheduled(controller, env, ctx) {
    ctx.waitUntil(runScheduled(env, controller.scheduledTime));
  },
} satisfies ExportedHandler<Env>;
