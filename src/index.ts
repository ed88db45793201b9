import type { Env } from "./env";
import { createApp } from "./http/app";
import { benchRoutes } from "./http/bench";
import { publicRoutes } from "./http/public";
import { runScheduled } from "./jobs/scheduled";
import { auditRoutes } from "./operator/audit";
import { partnerRoutes } from "./operator/partners";
import { whoamiRoutes } from "./partner-api/whoami";

export const app = createApp({
  partner: [whoamiRoutes],
  operator: [partnerRoutes, auditRoutes],
  public: [publicRoutes, benchRoutes],
});

export default {
  fetch: app.fetch,
  async scheduled(controller, env, ctx) {
    ctx.waitUntil(runScheduled(env, controller.scheduledTime));
  },
} satisfies ExportedHandler<Env>;
