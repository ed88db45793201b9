/**
 * Ledger history and D1 rows per operation. History is synthetic, written directly in D1 by the
 * bench route POST /__bench/history (src/http/bench.ts) in bounded chunks. Rows per operation come
 * from the D1-Rows-Read / D1-Rows-Written headers (BENCH_ROUTES=1 only): the rows of the request's
 * write batch (idempotency guard, ledger statements, stored response) from the batch `meta`.
 */
import type { PartnerClient } from "../../src/client/partner-client";
import { BURN_POINTS, EARN_AMOUNT } from "./scenarios";
import { type BenchMember, enrol, freshMember } from "./setup";

export interface LedgerSize {
  transactions: number;
  lots: number;
  lot_movements: number;
  postings: number;
}

export async function ledgerSize(baseUrl: string): Promise<LedgerSize> {
  const r = await fetch(`${baseUrl}/__bench/ledger`);
  if (!r.ok) throw new Error(`GET /__bench/ledger answered ${r.status}`);
  return (await r.json()) as LedgerSize;
}

const CHUNK = 20_000;
let warnedEntries = false;

/**
 * Writes `count` synthetic transactions of `partnerId` booked evenly in [from, to] (ms), in
 * chunks of at most 20k; reports progress. Returns the wall time in ms.
 */
export async function generateHistory(
  baseUrl: string,
  partnerId: string,
  count: number,
  span: { from: number; to: number },
  log: (m: string) => void,
): Promise<number> {
  const started = performance.now();
  let done = 0;
  let lastLog = started;
  while (done < count) {
    const n = Math.min(CHUNK, count - done);
    // This chunk's share of the time span, in order.
    const from = span.from + Math.floor(((span.to - span.from) * done) / count);
    const to = span.from + Math.floor(((span.to - span.from) * (done + n)) / count);
    const r = await fetch(`${baseUrl}/__bench/history`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ count: n, from, to, partner_id: partnerId }),
    });
    if (!r.ok) throw new Error(`POST /__bench/history answered ${r.status}: ${(await r.text()).slice(0, 300)}`);
    const answer = (await r.json()) as { settlement_entries?: string };
    if (answer.settlement_entries?.startsWith("not written") && !warnedEntries) {
      warnedEntries = true;
      log(`  history: settlement entries ${answer.settlement_entries}`);
    }
    done += n;
    const now = performance.now();
    if (done === count || now - lastLog > 5000) {
      const rate = Math.round(done / ((now - started) / 1000));
      log(`  history: ${done.toLocaleString("en-US")} / ${count.toLocaleString("en-US")} transactions (${rate}/s)`);
      lastLog = now;
    }
  }
  return performance.now() - started;
}

/** Grows the ledger to at least `target` transactions (history booked over the last `spanMs`). */
export async function growLedgerTo(
  baseUrl: string,
  partnerId: string,
  target: number,
  log: (m: string) => void,
  spanMs = 20 * 24 * 3600 * 1000,
): Promise<LedgerSize> {
  const before = await ledgerSize(baseUrl);
  const missing = target - before.transactions;
  if (missing > 0) {
    log(
      `growing the ledger from ${before.transactions.toLocaleString("en-US")} to ${target.toLocaleString("en-US")} transactions`,
    );
    const now = Date.now();
    await generateHistory(baseUrl, partnerId, missing, { from: now - spanMs, to: now - 60_000 }, log);
  }
  return ledgerSize(baseUrl);
}

export interface RowsPerOp {
  op: string;
  count: number;
  read: number;
  written: number;
  /** Responses without the headers (e.g. not 2xx). */
  missing: number;
  /** Each operation's rows, in order. */
  samples: { read: number; written: number }[];
}

/** The mean over the first `n` operations of a measurement (to compare sequences of different lengths). */
export function prefixMean(r: RowsPerOp, n: number): RowsPerOp {
  const samples = r.samples.slice(0, n);
  const count = Math.max(samples.length, 1);
  return {
    ...r,
    count: samples.length,
    read: samples.reduce((a, x) => a + x.read, 0) / count,
    written: samples.reduce((a, x) => a + x.written, 0) / count,
    samples,
  };
}

function rowsOf(response: Response): { read: number; written: number } | undefined {
  const read = response.headers.get("D1-Rows-Read");
  const written = response.headers.get("D1-Rows-Written");
  if (read === null || written === null) return undefined;
  return { read: Number(read), written: Number(written) };
}

class Mean {
  readonly samples: { read: number; written: number }[] = [];
  missing = 0;
  add(response: Response, ok: boolean): void {
    const rows = ok ? rowsOf(response) : undefined;
    if (rows) this.samples.push(rows);
    else this.missing++;
  }
  result(op: string): RowsPerOp {
    const n = Math.max(this.samples.length, 1);
    return {
      op,
      count: this.samples.length,
      read: this.samples.reduce((a, x) => a + x.read, 0) / n,
      written: this.samples.reduce((a, x) => a + x.written, 0) / n,
      missing: this.missing,
      samples: this.samples,
    };
  }
}

/**
 * On a member enrolled now (so its own history is the same at every ledger size), one request at
 * a time: `earns` earns, then `burns` burns (capture), then `holds` holds each captured.
 */
export async function measureRowsPerOp(
  client: PartnerClient,
  currency: string,
  counts: { earns: number; burns: number; holds: number },
): Promise<RowsPerOp[]> {
  const member: BenchMember = freshMember("rows");
  await enrol(client, member);
  const earn = new Mean();
  const burn = new Mean();
  const hold = new Mean();
  const capture = new Mean();
  for (let i = 0; i < counts.earns; i++) {
    const r = await client.post("/v1/earn", {
      member_ref: member.ref,
      amount: { value: EARN_AMOUNT, unit: currency },
      context: member.context,
    });
    earn.add(r.response, r.ok);
  }
  for (let i = 0; i < counts.burns; i++) {
    const r = await client.post("/v1/burns", { member_ref: member.ref, points: BURN_POINTS, context: member.context });
    burn.add(r.response, r.ok);
  }
  for (let i = 0; i < counts.holds; i++) {
    const h = await client.post<{ transaction: { id: string } }>("/v1/burns", {
      member_ref: member.ref,
      points: BURN_POINTS,
      capture: false,
      context: member.context,
    });
    hold.add(h.response, h.ok);
    if (!h.ok) continue;
    const c = await client.post(`/v1/burns/${h.data.transaction.id}/capture`, {});
    capture.add(c.response, c.ok);
  }
  const results = [earn.result("earn"), burn.result("burn (capture)")];
  if (counts.holds > 0) results.push(hold.result("hold"), capture.result("capture"));
  return results;
}
