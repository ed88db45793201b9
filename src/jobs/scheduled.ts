import { copyCatalogueWhereBehind } from "../catalogue/replicate";
import type { Env } from "../env";
import { RETENTION_MS } from "../http/idempotency";
import { expireLots, releasePendingEarns, voidExpiredHolds } from "../ledger/expire";
import { rejectTimedOutReviews } from "../risk/reviews";
import { pruneRiskCounters } from "../risk/store";
import { scheduledClose } from "../settlement/close";
import { pruneIdempotencyKeys, pruneMemberSessions, pruneRequestNonces } from "./prune";

/**
 * The Cron Trigger's work. Every job is bounded (chunks, a cap per run) and idempotent, so a
 * late, repeated or overlapping run is harmless; what a run leaves, the next one continues.
 */
export interface Job {
  name: string;
  run: (env: Env, now: number) => Promise<Record<string, number>>;
}

export const JOBS: Job[] = [
  { name: "void-expired-holds", run: async (env, now) => ({ ...(await voidExpiredHolds(env.DB, now)) }) },
  { name: "release-pending-earns", run: async (env, now) => ({ ...(await releasePendingEarns(env.DB, now)) }) },
  { name: "expire-lots", run: async (env, now) => ({ ...(await expireLots(env.DB, now)) }) },
  { name: "reject-timed-out-reviews", run: async (env, now) => ({ ...(await rejectTimedOutReviews(env.DB, now)) }) },
  { name: "settlement-close", run: (env, now) => scheduledClose(env, now) },
  { name: "copy-catalogue", run: (env) => copyCatalogueWhereBehind(env) },
  { name: "prune-risk-counters", run: async (env, now) => ({ ...(await pruneRiskCounters(env.DB, now)) }) },
  { name: "prune-request-nonces", run: async (env, now) => ({ ...(await pruneRequestNonces(env.DB, now)) }) },
  { name: "prune-member-sessions", run: async (env, now) => ({ ...(await pruneMemberSessions(env.DB, now)) }) },
  { name: "prune-idempotency-keys", run: async (env, now) => ({ ...(await pruneIdempotencyKeys(env.DB, now, RETENTION_MS)) }) },
];

export async function runScheduled(env: Env, now: number, jobs: Job[] = JOBS): Promise<Record<string, Record<string, number>>> {
  const report: Record<string, Record<string, number>> = {};
  for (const job of jobs) {
    try {
      report[job.name] = await job.run(env, now);
    } catch (error) {
      // One failing job must not stop the others; the next run retries it.
      console.error(`job ${job.name} failed`, error);
      report[job.name] = { failed: 1 };
    }
  }
  return report;
}
