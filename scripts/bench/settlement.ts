/**
 * Settlement close times through the settlement module's own bench hook
 * (scripts/bench/worker/settlement.ts, served by the bench worker at
 * POST /__bench/settlement/close?transactions=N): it writes N synthetic transactions with their settlement entries (the
 * trigger keeps the 15-minute aggregates, as the ledger's batches do) spread over the next
 * scheduled period, then closes that period as the scheduled job would, timing the close alone
 * inside the worker. The first call (N = 1) is a flush: it closes the current period, which holds
 * the bench's own live traffic, so that each measured period holds only its N transactions.
 */
import { request } from "node:http";

export interface CloseTiming {
  transactions: number;
  closeMs?: number;
  generateMs?: number;
  /** Wall time of the whole call (generation + close), from the bench. */
  wallMs?: number;
  aggregateRows?: number;
  period?: string;
  reportId?: string | null;
  error?: string;
}

interface HookAnswer {
  transactions: number;
  period: { start: number; end: number };
  generate_ms: number;
  close_ms: number;
  aggregate_rows: number;
  report_id: string | null;
}

/** A POST without a client-side timeout (a 1M-transaction period takes minutes to generate). */
function postNoTimeout(url: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", headers: { "Content-Length": "0" } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

async function hook(
  baseUrl: string,
  transactions: number,
): Promise<{ status: number; answer?: HookAnswer; text: string; ms: number }> {
  const started = performance.now();
  const { status, text } = await postNoTimeout(`${baseUrl}/__bench/settlement/close?transactions=${transactions}`);
  const ms = performance.now() - started;
  let answer: HookAnswer | undefined;
  try {
    answer = status === 200 ? (JSON.parse(text) as HookAnswer) : undefined;
  } catch {
    answer = undefined;
  }
  return { status, text, ms, ...(answer ? { answer } : {}) };
}

function missingRoute(status: number, text: string): boolean {
  if (status !== 404) return false;
  try {
    return (JSON.parse(text) as { error?: { code?: string } }).error?.code === "not_found";
  } catch {
    return false;
  }
}

const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

export type SettlementOutcome = { unavailable: string } | { flushMs: number; timings: CloseTiming[] };

export async function measureCloses(
  baseUrl: string,
  sizes: readonly number[],
  log: (m: string) => void,
): Promise<SettlementOutcome> {
  const flush = await hook(baseUrl, 1);
  if (missingRoute(flush.status, flush.text)) return { unavailable: "not available" };
  if (!flush.answer)
    return { unavailable: `not available (the bench hook answered ${flush.status}: ${flush.text.slice(0, 200)})` };
  log(`settlement: flushed the current period (${iso(flush.answer.period.start)} .. ${iso(flush.answer.period.end)})`);

  const timings: CloseTiming[] = [];
  for (const size of sizes) {
    log(`settlement: generating a period of ${size.toLocaleString("en-US")} transactions and closing it`);
    try {
      const r = await hook(baseUrl, size);
      if (!r.answer) {
        timings.push({ transactions: size, error: `${r.status} ${r.text.slice(0, 200)}` });
        continue;
      }
      const a = r.answer;
      timings.push({
        transactions: a.transactions,
        closeMs: a.close_ms,
        generateMs: a.generate_ms,
        wallMs: r.ms,
        aggregateRows: a.aggregate_rows,
        period: `${iso(a.period.start)} .. ${iso(a.period.end)}`,
        reportId: a.report_id,
      });
      log(`  closed in ${a.close_ms} ms (generation ${(a.generate_ms / 1000).toFixed(1)} s, ${a.aggregate_rows} aggregate rows)`);
    } catch (e) {
      timings.push({ transactions: size, error: e instanceof Error ? e.message : String(e) });
    }
  }
  return { flushMs: flush.answer.close_ms, timings };
}
