import { copyCatalogueWhereBehind } from "../catalogue/replicate";
import type { Env } from "../env";
import { RETENTION_MS } from "../http/idempotency";
import { expireLots, releasePendingEarns, voidExpiredHolds } from "../ledger/expire";
import { applyFundingCredits } from "../ledger/funding-credits";
import { settleReservations } from "../ledger/funding-reservations";
import { rejectTimedOutReviews } from "../risk/reviews";
import { pruneRiskCounters } from "../risk/store";
import { scheduledClose } from "../settlement/close";
import { readEveryShard } from "../shards/fan-out";
import { pruneIdempotencyKeys, pruneMemberSessions, pruneRequestClaims, pruneRequestNonces } from "./prune";

/**
 * The Cron Trigger's work. Every job is bounded (chunks, a cap per run) and idempotent, so a
 * late, repeated or overlapping run is harmless; what a run leaves, the next one continues.
 */
export interface Job {
  name: string;
  run: (env: Env, now: number) => Promise<Record<string, number>>;
}

type Counts = Record<string, number>;

/**
 * A job over the members' data runs on every shard, in parallel (each shard's rows are its own
 * members'); its counts are summed.
 */
function onEveryShard(run: (db: D1Database, now: number) => Promise<object>): Job["run"] {
  return async (env, now) => {
    const results = (await readEveryShard(env, (db) => run(db, now))) as Counts[];
    const total: Counts = {};
    for (const counts of results) for (const [k, v] of Object.entries(counts)) total[k] = (total[k] ?? 0) + v;
    return total;
  };
}

export const JOBS: Job[] = [
  { name: "void-expired-holds", run: onEveryShard(voidExpiredHolds) },
  { name: "release-pending-earns", run: onEveryShard(releasePendingEarns) },
  { name: "expire-lots", run: onEveryShard(expireLots) },
  { name: "reject-timed-out-reviews", run: onEveryShard(rejectTimedOutReviews) },
  // Funding decided on shards reaches main's positions before a close reads them.
  { name: "settle-funding-reservations", run: async (env, now) => ({ ...(await settleReservations(env, now)) }) },
  { name: "apply-funding-credits", run: (env, now) => applyFundingCredits(env, now) },
  { name: "settlement-close", run: (env, now) => scheduledClose(env, now) },
  { name: "copy-catalogue", run: (env) => copyCatalogueWhereBehind(env) },
  { name: "prune-risk-counters", run: onEveryShard(pruneRiskCounters) },
  { name: "prune-request-nonces", run: async (env, now) => ({ ...(await pruneRequestNonces(env.DB, now)) }) },
  { name: "prune-request-claims", run: async (env, now) => ({ ...(await pruneRequestClaims(env.DB, now, RETENTION_MS)) }) },
  { name: "prune-member-sessions", run: onEveryShard(pruneMemberSessions) },
  { name: "prune-idempotency-keys", run: onEveryShard((db, now) => pruneIdempotencyKeys(db, now, RETENTION_MS)) },
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
