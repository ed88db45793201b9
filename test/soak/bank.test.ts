import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { formatSummary, runBankTest } from "../../scripts/soak/bank-test";
import { BASE_URL, operatorToken, workerFetch } from "../support/exchange";
import { runScheduledJobs } from "../support/jobs";

/**
 * The bank test of `npm run soak` (scripts/soak/bank-test.ts), small, inside workerd: the same
 * workload and checks against the worker's own fetch (exports.default.fetch) and this test file's
 * D1. The scheduled jobs run through the worker's scheduled() handler; the 60 s holds cannot be
 * waited for here, so the job runs once at their expiry time instead (holdExpiry "scheduled").
 */
describe("bank test, small", () => {
  it("conserves points under concurrency: ~300 operations by 16 clients, zero violations", async () => {
    const log: string[] = [];
    const report = await runBankTest({
      fetch: workerFetch,
      baseUrl: BASE_URL,
      operatorToken: () => operatorToken({ sub: "bank-test" }),
      openDb: async () => env.DB,
      runScheduled: (scheduledTime) => runScheduledJobs(scheduledTime),
      operations: 300,
      concurrency: 16,
      seed: 20_261_123,
      holdExpiry: "scheduled",
      scheduledEveryMs: 1000,
      shortHoldTtlSeconds: 60,
      maxRetries: 3,
      log: (line) => log.push(line),
    });
    const summary = formatSummary(report);
    expect(report.violations, `${log.join("\n")}\n${summary}`).toEqual([]);
    expect(report.operations).toBeGreaterThanOrEqual(300);
    // The run exercised what it is about: concurrent duplicates, replays, holds, reversals, the ledger checks.
    const checked = new Map(report.checks.map((c) => [c.name, c.checked]));
    for (const name of [
      "concurrent duplicates apply once",
      "replayed signatures are refused",
      "invariants 1-4 of economics.md (DB, shared SQL)",
      "successes in the ledger exactly once",
      "failures left nothing",
      "balances = model (API)",
      "funding after each close (API)",
      "Σ set_off + top_up + payout = Σ receivable",
      "payouts (API)",
      "funding follows payable (DB)",
    ]) {
      expect(checked.get(name) ?? 0, name).toBeGreaterThan(0);
    }
  }, 60_000);
});
