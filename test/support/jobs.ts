import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../src/index";

/**
 * Runs the worker's own Cron Trigger handler (src/index.ts `scheduled`) as the runtime would,
 * at `scheduledTime` (default now), and waits for the work it scheduled with waitUntil.
 */
export async function runScheduledJobs(scheduledTime = Date.now()): Promise<void> {
  const controller = createScheduledController({ scheduledTime, cron: "* * * * *" });
  const ctx = createExecutionContext();
  await worker.scheduled(controller, env, ctx);
  await waitOnExecutionContext(ctx);
}
