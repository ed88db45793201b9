/**
 * `npm run bench`: starts its own exchange (wrangler dev of the bench worker, wrangler.bench.toml:
 * the production app plus bench routes, every request's D1 calls metered; fresh state in
 * .dev/bench-state), seeds a minimal coalition through the APIs, drives it with autocannon from
 * this process and prints one report: bare baselines, signed reads, earn, burn, hold + capture
 * (req/s, p50, p99, non-2xx, ratios to the bare 2-statement batch of the same run, D1 calls and
 * SQL time per request under load); per operation, one request at a time on fresh members with
 * 10k and 1M transactions in the ledger: D1 calls, rows read and written, SQL time and bytes added;
 * the issue's budgets; how many transactions a 10 GB database holds; the D1 calls of the rarer
 * paths; the risk rules' cost; settlement close times; the machine. It asserts nothing: it exits
 * 0 unless the server could not be started and seeded.
 *
 * Settings (environment): BENCH_SECONDS (10) per scenario, BENCH_WARMUP_SECONDS (2),
 * BENCH_CONNECTIONS (16), BENCH_QUICK=1 (settlement periods of 10k and 100k only),
 * BENCH_ROUNDS (2: each scenario's time is split into this many interleaved slices),
 * BENCH_LEDGER_SMALL (10000), BENCH_LEDGER_LARGE (1000000), BENCH_MEMBERS (20) and BENCH_OPS (20:
 * operations of each kind per member), BENCH_BYTES_OPS (2000: the larger sample of an earn's bytes),
 * BENCH_EXPLAIN=1 (each statement's rows), PORT_BENCH (8790).
 */
import { writeFile } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { growLedgerTo } from "./bench/history";
import { type LoadOptions, mergeResults, runScenario, type Scenario, type ScenarioResult } from "./bench/load";
import { measureEarnBurn, measureJobs, measureOps, type OpsAtSize } from "./bench/ops";
import { measurePaths } from "./bench/paths";
import { type BenchReport, render, type Settings } from "./bench/report";
import type { RiskRows } from "./bench/report-d1";
import { riskUnavailable, setRiskRules } from "./bench/risk";
import * as scenarios from "./bench/scenarios";
import { type BenchServer, killAllNow, startBenchServer } from "./bench/server";
import { measureCloses } from "./bench/settlement";
import { BENCH_PARTNER, type BenchCoalition, setupCoalition } from "./bench/setup";
import { checkSignerMatchesClient, SyncSigner } from "./bench/sign";
import { DEV_DIR, shown } from "./lib/paths";

const REPORT_FILE = join(DEV_DIR, "bench-report.txt");
/** Earns and burns per risk-rows measurement (the default member-burn-hourly rule allows 10 burns an hour). */
const RISK_EARNS = 20;
const RISK_BURNS = 8;
const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);

function intEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`${name} must be a number >= ${min}, got ${raw}`);
  return n;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function main(): Promise<number> {
  const settings: Settings = {
    seconds: intEnv("BENCH_SECONDS", 10, 1),
    warmupSeconds: intEnv("BENCH_WARMUP_SECONDS", 2, 0),
    connections: Math.floor(intEnv("BENCH_CONNECTIONS", 16, 1)),
    quick: process.env.BENCH_QUICK === "1",
    members: Math.floor(intEnv("BENCH_MEMBERS", 20, 1)),
    perMember: Math.floor(intEnv("BENCH_OPS", 20, 1)),
    rounds: Math.floor(intEnv("BENCH_ROUNDS", 2, 1)),
    explain: process.env.BENCH_EXPLAIN === "1",
    bytesOps: Math.floor(intEnv("BENCH_BYTES_OPS", 2000, 0)),
  };
  const ledgerSmall = Math.floor(intEnv("BENCH_LEDGER_SMALL", 10_000, 0));
  const ledgerLarge = Math.floor(intEnv("BENCH_LEDGER_LARGE", 1_000_000, 0));
  const settlementSizes = settings.quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000];
  const report: BenchReport = {
    started: new Date(),
    loadAtStart: os.loadavg(),
    settings,
    scenarios: [],
    ops: {},
    paths: {},
    riskRows: { rows: [] },
    risk: {},
    settlement: {},
  };

  let server: BenchServer;
  let coalition: BenchCoalition;
  try {
    server = await startBenchServer(log);
  } catch (e) {
    log(`could not start the exchange: ${errorMessage(e)}`);
    return 1;
  }
  try {
    coalition = await setupCoalition(server, { poolSize: 64, fundPoints: 1_000_000, log });
    await checkSignerMatchesClient(coalition.credentials);
    log("load-generator signer: byte-identical to the partner SDK's signRequest");
  } catch (e) {
    log(`could not seed the exchange: ${errorMessage(e)}`);
    await server.stop();
    return 1;
  }

  const { baseUrl } = server;
  const signer = new SyncSigner(coalition.credentials);
  const { pools, currency, op } = coalition;
  // Each scenario runs in `rounds` interleaved slices of seconds / rounds (warm-up before the first
  // slice only), so a change in the machine's background load hits every scenario alike.
  const sliceSeconds = settings.seconds / settings.rounds;
  const slice = async (scenario: Scenario, round: number): Promise<ScenarioResult> => {
    const warmup = round === 0 ? settings.warmupSeconds : 0;
    log(`round ${round + 1}/${settings.rounds} ${scenario.name}: ${warmup > 0 ? `${warmup} s warm-up + ` : ""}${sliceSeconds} s`);
    const load: LoadOptions = { baseUrl, seconds: sliceSeconds, warmupSeconds: warmup, connections: settings.connections };
    const r = await runScenario(scenario, load);
    log(
      `  ${Math.round(r.rate)}${r.pair ? " pairs" : ""}/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, non-2xx ${r.non2xx}`,
    );
    return r;
  };

  // Per operation at a ledger size, on fresh members; then the risk rules' cost on rows (two more
  // fresh members, one without rules and one with the demo coalition's defaults).
  // A rule change bumps the catalogue version: one signed GET reloads this isolate's catalogue, so
  // the next measured request does not pay the reload (the rarer paths measure that cost).
  const setRules = async (rules: "default" | "none") => {
    await setRiskRules(op, rules);
    await coalition.client.get("/v1/partner");
  };
  const riskMissing = await riskUnavailable(op).catch((e: unknown) => `could not tell (${errorMessage(e)})`);
  if (riskMissing) report.risk.unavailable = riskMissing;
  const atSize = async (target: number): Promise<OpsAtSize> => {
    const size = await growLedgerTo(baseUrl, BENCH_PARTNER, target, log);
    log(`per-operation D1 figures at ${size.transactions.toLocaleString("en-US")} transactions`);
    const ops = await measureOps(baseUrl, coalition.client, currency, {
      members: settings.members,
      perMember: settings.perMember,
      explain: settings.explain,
      bytesOps: settings.bytesOps,
    });
    if (!riskMissing && !report.riskRows.error) {
      try {
        const counts = { earns: RISK_EARNS, burns: RISK_BURNS };
        const none = await measureEarnBurn(coalition.client, currency, counts);
        await setRules("default");
        const rules = await measureEarnBurn(coalition.client, currency, counts);
        report.riskRows.rows.push({ transactions: size.transactions, none, rules } satisfies RiskRows);
      } catch (e) {
        report.riskRows.error = errorMessage(e);
        log(`rows with the default risk rules: ${report.riskRows.error}`);
      } finally {
        await setRules("none");
      }
    }
    const jobs = await measureJobs(baseUrl).catch((e: unknown) => {
      log(`scheduled jobs: ${errorMessage(e)}`);
      return undefined;
    });
    return { transactions: size.transactions, ...ops, ...(jobs ? { jobs } : {}) };
  };

  try {
    // With ~10k transactions in the ledger (before the load adds its own); the rarer paths.
    try {
      report.ops.small = await atSize(ledgerSmall);
    } catch (e) {
      report.ops.error = errorMessage(e);
      log(`per-operation figures: ${report.ops.error}`);
    }
    try {
      report.paths.calls = await measurePaths(baseUrl, coalition.client, currency, op);
    } catch (e) {
      report.paths.error = errorMessage(e);
      log(`rarer paths: ${report.paths.error}`);
    }

    // Throughput, in interleaved rounds. Risk: the same earn with the demo coalition's default
    // rules, in every round right after the earn without rules.
    const plan: { key: string; scenario: Scenario; risk?: boolean }[] = [
      { key: "noop", scenario: scenarios.bareNoop() },
      { key: "batch", scenario: scenarios.bareBatch() },
      { key: "write", scenario: scenarios.bareWriteBatch() },
      { key: "whoami", scenario: scenarios.signedWhoami(signer) },
      { key: "balance", scenario: scenarios.balanceRead(signer, pools.earn) },
      { key: "earn", scenario: scenarios.earn(signer, pools.earn, currency) },
      ...(riskMissing
        ? []
        : [{ key: "earn-risk", scenario: scenarios.earn(signer, pools.earn, currency, "earn, default risk rules"), risk: true }]),
      { key: "burn", scenario: scenarios.burnCapture(signer, pools.burn) },
      { key: "hold", scenario: scenarios.holdThenCapture(signer, pools.hold) },
    ];
    const parts = new Map<string, ScenarioResult[]>();
    for (let round = 0; round < settings.rounds; round++) {
      for (const step of plan) {
        if (step.risk) {
          if (report.risk.error) continue;
          try {
            await setRules("default");
            parts.set(step.key, [...(parts.get(step.key) ?? []), await slice(step.scenario, round)]);
          } catch (e) {
            report.risk.error = errorMessage(e);
            log(`risk: ${report.risk.error}`);
          } finally {
            await setRules("none").catch((e: unknown) => {
              report.risk.error = `clearing the rules failed: ${errorMessage(e)}`;
              log(`risk: ${report.risk.error}`);
            });
          }
          continue;
        }
        parts.set(step.key, [...(parts.get(step.key) ?? []), await slice(step.scenario, round)]);
      }
    }
    const merged = (key: string) => {
      const p = parts.get(key);
      return p && p.length > 0 ? mergeResults(p) : undefined;
    };
    for (const step of plan) {
      const r = merged(step.key);
      if (r && !step.risk) report.scenarios.push(r);
    }
    report.baseline = merged("batch");
    report.writeBaseline = merged("write");
    if (!riskMissing && !report.risk.error) {
      report.risk.none = merged("earn");
      report.risk.withDefaults = merged("earn-risk");
    }

    // Per operation with 1M transactions in the ledger, on other fresh members.
    if (report.ops.small) {
      try {
        report.ops.large = await atSize(ledgerLarge);
      } catch (e) {
        report.ops.error = errorMessage(e);
        log(`per-operation figures (large ledger): ${report.ops.error}`);
      }
    }

    // Settlement.
    try {
      const outcome = await measureCloses(baseUrl, settlementSizes, log);
      if ("unavailable" in outcome) report.settlement.unavailable = outcome.unavailable;
      else {
        report.settlement.flushMs = outcome.flushMs;
        report.settlement.timings = outcome.timings;
      }
    } catch (e) {
      report.settlement.error = errorMessage(e);
      log(`settlement: ${report.settlement.error}`);
    }
  } catch (e) {
    log(`bench interrupted: ${errorMessage(e)}`);
  } finally {
    log("stopping the exchange");
    await server.stop();
  }

  const text = render(report);
  process.stdout.write(`\n${text}\n`);
  await writeFile(REPORT_FILE, `${text}\n`).catch(() => undefined);
  log(`report also written to ${shown(REPORT_FILE)}`);
  return 0;
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    log(`${signal}: stopping`);
    killAllNow();
    process.exit(signal === "SIGINT" ? 130 : 143);
  });
}
process.on("exit", killAllNow);

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    log(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    killAllNow();
    process.exit(1);
  },
);
