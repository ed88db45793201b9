/** The bench's one plain-text report. */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { prefixMean, type RowsPerOp } from "./history";
import type { ScenarioResult } from "./load";
import type { CloseTiming } from "./settlement";

export interface Settings {
  seconds: number;
  warmupSeconds: number;
  connections: number;
  quick: boolean;
  rowsOps: number;
  rounds: number;
}

export interface RowsAtSize {
  transactions: number;
  rows: RowsPerOp[];
  /** The same sequence with the default risk rules (fewer burns), when the risk endpoint exists. */
  checked?: RowsPerOp[];
}

export interface BenchReport {
  started: Date;
  /** os.loadavg() when the bench started (the machine may be shared). */
  loadAtStart: number[];
  settings: Settings;
  scenarios: ScenarioResult[];
  baseline?: ScenarioResult;
  rows: { small?: RowsAtSize; large?: RowsAtSize; error?: string; checkedError?: string };
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

function table(header: string[], rows: string[][], rightAligned: ReadonlySet<number>): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)];
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(n < 10 ? 2 : 1) : "-");
const ratio = (a: number, b: number) => (b > 0 && Number.isFinite(a) ? `${(a / b).toFixed(2)}x` : "-");
const rows1 = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));

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
      `every partner request signed fresh${settings.quick ? ", BENCH_QUICK=1" : ""}`,
    "",
  );
  out.push(
    ...table(
      ["scenario", "req/s", "p50 ms", "p99 ms", "non-2xx", "errors", "vs bare batch"],
      report.scenarios.map((r) => [
        r.name,
        `${int(r.rate)}${r.pair ? " pairs" : ""}`,
        ms(r.p50),
        ms(r.p99),
        String(r.non2xx),
        String(r.errors),
        ratio(r.rate, base),
      ]),
      new Set([1, 2, 3, 4, 5, 6]),
    ),
  );
  out.push("req/s counts 2xx responses (hold + capture: completed pairs/s; its latency is the pair's two requests summed).");
  const failed = report.scenarios.map(failures).filter(Boolean);
  if (failed.length > 0) out.push("non-2xx by code:", ...failed);

  out.push("", "D1 rows per operation (the request's write batch, from D1 batch meta; mean over a fresh member's operations):");
  const { small, large } = report.rows;
  if (small && large) {
    const ops = small.rows.map((r) => r.op);
    out.push(
      ...table(
        [
          "operation",
          `read @${int(small.transactions)} txns`,
          `written @${int(small.transactions)}`,
          `read @${int(large.transactions)} txns`,
          `written @${int(large.transactions)}`,
          "read ratio",
          "written ratio",
        ],
        ops.map((op) => {
          const a = small.rows.find((r) => r.op === op);
          const b = large.rows.find((r) => r.op === op);
          return [
            `${op} (n=${a?.count ?? 0}/${b?.count ?? 0})`,
            a ? rows1(a.read) : "-",
            a ? rows1(a.written) : "-",
            b ? rows1(b.read) : "-",
            b ? rows1(b.written) : "-",
            a && b ? ratio(b.read, a.read) : "-",
            a && b ? ratio(b.written, a.written) : "-",
          ];
        }),
        new Set([1, 2, 3, 4, 5, 6]),
      ),
    );
    const missing = [...small.rows, ...large.rows, ...(small.checked ?? []), ...(large.checked ?? [])].filter(
      (r) => r.missing > 0,
    );
    for (const r of missing) out.push(`  ${r.op}: ${r.missing} responses without D1-Rows headers (not 2xx)`);
    if (small.checked && large.checked) {
      out.push("", "the same, with the default risk rules (another fresh member, same sequence; burns: the first n):");
      const lines: string[][] = [];
      for (const op of small.checked.map((r) => r.op)) {
        for (const at of [small, large]) {
          const checked = at.checked?.find((r) => r.op === op);
          const plain = at.rows.find((r) => r.op === op);
          if (!checked || !plain) continue;
          const none = prefixMean(plain, checked.count);
          lines.push([
            `${op} (n=${checked.count})`,
            int(at.transactions),
            rows1(none.read),
            rows1(checked.read),
            rows1(none.written),
            rows1(checked.written),
          ]);
        }
      }
      out.push(
        ...table(
          ["operation", "ledger txns", "read, no rules", "read, default rules", "written, no rules", "written, default rules"],
          lines,
          new Set([1, 2, 3, 4, 5]),
        ),
      );
    }
  } else {
    out.push(`  not measured${report.rows.error ? `: ${report.rows.error}` : ""}`);
  }
  if (report.rows.checkedError) out.push(`  with the default risk rules: not measured: ${report.rows.checkedError}`);

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
      "settlement close (src/settlement/bench.ts hook: N synthetic transactions with their settlement entries in one daily period,",
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
