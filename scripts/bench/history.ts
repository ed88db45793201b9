/**
 * Ledger history: synthetic, written directly in D1 by the bench worker's POST /__bench/history
 * (scripts/bench/worker/history.ts) in chunks of at most 20k transactions.
 */

export interface LedgerSize {
  transactions: number;
  lots: number;
  lot_movements: number;
  transfers: number;
  settlement_entries: number;
}

export async function ledgerSize(baseUrl: string): Promise<LedgerSize> {
  const r = await fetch(`${baseUrl}/__bench/ledger`);
  if (!r.ok) throw new Error(`GET /__bench/ledger answered ${r.status}`);
  return (await r.json()) as LedgerSize;
}

const CHUNK = 20_000;

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
    await r.arrayBuffer();
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
