/** The bench's one plain-text report. */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import type { ScenarioResult } from "./load";
import type { OpsAtSize } from "./ops";
import type { PathCalls } from "./paths";
import {
  type RiskRows,
  renderBudgets,
  renderCapacity,
  renderExplain,
  renderJobs,
  renderOps,
  renderPaths,
  renderRisk,
} from "./report-d1";
import type { CloseTiming } from "./settlement";
import { int, ms, ratio, table } from "./table";

export interface Settings {
  seconds: number;
  warmupSeconds: number;
  connections: number;
  quick: boolean;
  /** Fresh members, and operations of each kind per member, of the per-operation measurement. */
  members: number;
  perMember: number;
  rounds: number;
  explain: boolean;
  bytesOps: number;
}

export interface BenchReport {
  started: Date;
  /** os.loadavg() when the bench started (the machine may be shared). */
  loadAtStart: number[];
  settings: Settings;
  scenarios: ScenarioResult[];
  baseline?: ScenarioResult;
  /** The bare batch that commits one row (the issue's goal is against `baseline`, which commits nothing). */
  writeBaseline?: ScenarioResult;
  ops: { small?: OpsAtSize; large?: OpsAtSize; error?: string };
  paths: { calls?: PathCalls[]; error?: string };
  /** Rows of earns and burns with and without the default risk rules, per ledger size. */
  riskRows: { rows: RiskRows[]; error?: string };
  risk: { unavailable?: string; none?: ScenarioResult; withDefaults?: ScenarioResult; error?: string };
  settlement: { unavailable?: string; flushMs?: number; timings?: CloseTiming[]; error?: string };
}

function packageVersion(name: string): string {
  try {
    const require = createRequire(import.meta.url);
    return (JSON.parse(readFileSync(require.resolve(`${name}/package.json`), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

export function machine(loadAtStart?: number[]): string[] {
  const cpus = os.cpus();
  return [
    `os       ${os.type()} ${os.release()} (${os.platform()}/${os.arch()})`,
    `cpu      ${cpus[0]?.model.trim() ?? "unknown"}, ${cpus.length} cores`,
    `memory   ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB (${(os.freemem() / 2 ** 30).toFixed(1)} GiB free at the end)`,
    `load     ${loadAtStart ? `${loadText(loadAtStart)} at the start, ` : ""}${loadText(os.loadavg())} at the end (1/5/15-minute averages)`,
    `node     ${process.version}`,
    `wrangler ${packageVersion("wrangler")}, workerd ${packageVersion("workerd")}, autocannon ${packageVersion("autocannon")}`,
  ];
}

const loadText = (l: number[]) => l.map((x) => x.toFixed(2)).join(" ");

function failures(r: ScenarioResult): string {
  const parts = Object.entries(r.failures).map(([k, v]) => `${k}: ${v}`);
  return parts.length > 0 ? `  [${r.name}: ${parts.join(", ")}]` : "";
}

export function render(report: BenchReport): string {
  const { settings } = report;
  const base = report.baseline?.rate ?? 0;
  const out: string[] = [];
  out.push(
    `coalition exchange bench — ${report.started.toISOString()}`,
    `settings: ${settings.seconds} s per scenario (${settings.rounds} interleaved rounds of ${+(settings.seconds / settings.rounds).toFixed(2)} s, ` +
      `${settings.warmupSeconds} s warm-up before the first), ${settings.connections} connections, ` +
      `every partner request signed fresh${settings.quick ? ", BENCH_QUICK=1" : ""}${settings.explain ? ", BENCH_EXPLAIN=1" : ""}`,
    "",
  );
  const p99Base = report.baseline?.p99 ?? 0;
  out.push(
    ...table(
      [
        "scenario",
        "req/s",
        "p50 ms",
        "p99 ms",
        "non-2xx",
        "errors",
        "vs bare batch",
        "p99 vs bare",
        "D1 calls/req",
        "SQL ms/req",
      ],
      report.scenarios.map((r) => [
        r.name,
        `${int(r.rate)}${r.pair ? " pairs" : ""}`,
        ms(r.p50),
        ms(r.p99),
        String(r.non2xx),
        String(r.errors),
        ratio(r.rate, base),
        ratio(r.p99, p99Base),
        r.d1.responses > 0
          ? `${(r.d1.calls / r.d1.responses).toFixed(2)}${r.d1.maxCalls > 1 ? ` (max ${r.d1.maxCalls})` : ""}`
          : "-",
        r.d1.responses > 0 ? (r.d1.ms / r.d1.responses).toFixed(2) : "-",
      ]),
      new Set([1, 2, 3, 4, 5, 6, 7, 8, 9]),
    ),
  );
  out.push(
    "req/s counts 2xx responses (hold + capture: completed pairs/s; its latency is the pair's two requests summed);",
    "D1 calls and SQL ms (meta.duration) per request are means over the 2xx responses under load (each request of a pair counts).",
  );
  const failed = report.scenarios.map(failures).filter(Boolean);
  if (failed.length > 0) out.push("non-2xx by code:", ...failed);
  for (const name of ["earn", "burn (capture: true)"]) {
    const r = report.scenarios.find((x) => x.name === name);
    if (!r || base <= 0) continue;
    const rate = r.rate / base;
    const p99 = p99Base > 0 ? r.p99 / p99Base : Number.NaN;
    out.push(
      `goal (issue 10: >= 0.6x of the bare batch, p99 <= 2x): ${name} ${rate.toFixed(2)}x ${rate >= 0.6 ? "met" : "NOT met"}, ` +
        `p99 ${p99.toFixed(2)}x ${p99 <= 2 ? "met" : "NOT met"}`,
    );
  }

  const writeBase = report.writeBaseline?.rate ?? 0;
  const againstWrite = ["earn", "burn (capture: true)"].flatMap((name) => {
    const r = report.scenarios.find((x) => x.name === name);
    return r && writeBase > 0 ? [`${name} ${(r.rate / writeBase).toFixed(2)}x`] : [];
  });
  if (againstWrite.length > 0) {
    out.push(`for comparison, against the bare write batch (it commits, as every write must): ${againstWrite.join(", ")}`);
  }

  out.push("");
  const { small, large } = report.ops;
  const note = `${settings.members} fresh members x ${settings.perMember} of each kind`;
  if (report.ops.error) out.push(`D1 per operation: ${report.ops.error}`);
  out.push(...renderOps(small, large, note), ...renderBudgets(small, large), ...renderCapacity(large ?? small));
  out.push(...renderJobs(small, large));
  out.push(...renderPaths(report.paths.calls, report.paths.error));
  out.push(...renderRisk(report.riskRows.rows, report.riskRows.error));
  if (settings.explain) out.push(...renderExplain(small));

  out.push("");
  const { risk } = report;
  if (risk.unavailable) out.push(`risk: ${risk.unavailable}`);
  else if (risk.none && risk.withDefaults) {
    out.push(
      `risk: earn with the default rules ${int(risk.withDefaults.rate)} req/s (p50 ${ms(risk.withDefaults.p50)} ms, p99 ${ms(
        risk.withDefaults.p99,
      )} ms, non-2xx ${risk.withDefaults.non2xx}) vs no rules ${int(risk.none.rate)} req/s (p50 ${ms(risk.none.p50)} ms, p99 ${ms(
        risk.none.p99,
      )} ms): ratio ${ratio(risk.withDefaults.rate, risk.none.rate)}`,
    );
    const f = failures(risk.withDefaults);
    if (f) out.push(f);
  } else out.push(`risk: not measured${risk.error ? `: ${risk.error}` : ""}`);

  const { settlement } = report;
  if (settlement.unavailable) out.push(`settlement: ${settlement.unavailable}`);
  else if (settlement.timings) {
    out.push(
      "settlement close (scripts/bench/worker/settlement.ts hook: N synthetic transactions with their settlement entries in one daily period,",
      "then the period closed as the scheduled job would; close ms timed inside the worker):",
    );
    const first = settlement.timings.find((t) => t.closeMs !== undefined)?.closeMs ?? 0;
    out.push(
      ...table(
        ["period", "close ms", "vs 10k", "aggregate rows", "generation s"],
        settlement.timings.map((t) => [
          `${int(t.transactions)} txns`,
          t.closeMs === undefined ? "failed" : String(Math.round(t.closeMs)),
          t.closeMs === undefined ? "-" : ratio(t.closeMs, first),
          t.aggregateRows === undefined ? "-" : int(t.aggregateRows),
          t.generateMs === undefined ? "-" : (t.generateMs / 1000).toFixed(1),
        ]),
        new Set([1, 2, 3, 4]),
      ),
    );
    for (const t of settlement.timings) if (t.error) out.push(`  ${int(t.transactions)} txns failed: ${t.error}`);
  } else out.push(`settlement: not measured${settlement.error ? `: ${settlement.error}` : ""}`);

  out.push("", "machine:", ...machine(report.loadAtStart).map((l) => `  ${l}`));
  return out.join("\n");
}
