import type { Env } from "../../../src/env";
import { closePeriods } from "../../../src/settlement/close";
import { BUCKET_MS, closedThrough, nextBoundary, readConfig } from "../../../src/settlement/periods";

/**
 * Bench hooks (`npm run bench`): synthetic settlement load written straight into D1, and a timed
 * close. The load is N transactions spread evenly over [start, end) with their settlement
 * entries (the trigger keeps the aggregates, as in production): half issues by one of three
 * bench partners, half redemptions of one partner's points at the next. Only for a disposable
 * database: it advances the settlement clock by a period per call.
 */

export const BENCH_PARTNERS = ["bench-a", "bench-b", "bench-c"] as const;
const CHUNK = 5_000;

export interface LoadOptions {
  start: number;
  end: number;
  transactions: number;
  /** Also insert the transactions rows (lines need them; the close does not). Default true. */
  withTransactions?: boolean;
  /** First sequence number (ids are txn_bench_<seq>); default after the largest one present. */
  firstSeq?: number;
}

export async function generateSettlementLoad(
  db: D1Database,
  opts: LoadOptions,
): Promise<{ transactions: number; firstSeq: number }> {
  const now = Date.now();
  const setup = [
    db.prepare("INSERT OR IGNORE INTO members (id, created_at, created_by) VALUES ('mbr_bench', ?1, 'bench-a')").bind(now),
    ...BENCH_PARTNERS.map((id, i) =>
      db
        .prepare(
          `INSERT OR IGNORE INTO partners (id, name, funding_mode, prepaid_balance_micros, credit_limit_micros, created_at, updated_at)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)`,
        )
        .bind(id, `Bench ${id}`, i === 0 ? "prepaid" : "postpaid", i === 0 ? 1e15 : 0, i === 0 ? 0 : 1e15, now),
    ),
  ];
  await db.batch(setup);
  const firstSeq =
    opts.firstSeq ??
    ((
      await db
        .prepare("SELECT COALESCE(-MIN(src_id), 0) AS n FROM settlement_entries WHERE src = 'lot' AND src_id < 0")
        .first<{ n: number }>()
    )?.n ?? 0) + 1;
  const n = opts.transactions;
  const span = opts.end - opts.start;
  // Row i (0-based, global) of the load: at = start + floor(i * span / n); even rows issue, odd redeem.
  const rowsCte = `WITH RECURSIVE seq(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < ?2),
    gen AS (SELECT i, ?3 + i AS s, ?4 + (i * ?5) / ?6 AS at,
                   CASE i % 3 WHEN 0 THEN 'bench-a' WHEN 1 THEN 'bench-b' ELSE 'bench-c' END AS issuer,
                   CASE i % 3 WHEN 0 THEN 'bench-b' WHEN 1 THEN 'bench-c' ELSE 'bench-a' END AS redeemer,
                   i % 2 = 0 AS issue, 1 + i % 97 AS points FROM seq)`;
  for (let from = 0; from < n; from += CHUNK) {
    const to = Math.min(n, from + CHUNK);
    const binds = [from, to, firstSeq, opts.start, span, n] as const;
    const statements: D1PreparedStatement[] = [];
    if (opts.withTransactions !== false) {
      statements.push(
        db
          .prepare(
            `${rowsCte}
             INSERT INTO transactions (id, type, status, partner_id, member_id, points, direction, issue_price_micros,
               redeem_price_micros, occurred_at, booked_at)
             SELECT 'txn_bench_' || s, CASE WHEN issue THEN 'earn' ELSE 'burn' END, 'posted', CASE WHEN issue THEN issuer ELSE redeemer END,
                    'mbr_bench', points, CASE WHEN issue THEN 1 ELSE -1 END, 10000, 8000, at, at FROM gen`,
          )
          .bind(...binds),
      );
    }
    statements.push(
      db
        .prepare(
          `${rowsCte}
           INSERT INTO settlement_entries (issuer_id, at, txn_id, src, src_id, kind, redeemer_id, points, issue_price_micros,
             redeem_price_micros)
           SELECT issuer, at, 'txn_bench_' || s, 'lot', -s, CASE WHEN issue THEN 'issue' ELSE 'redeem' END, CASE WHEN issue THEN NULL ELSE redeemer END, points, 10000,
                  CASE WHEN issue THEN 0 ELSE 8000 END FROM gen`,
        )
        .bind(...binds),
    );
    await db.batch(statements);
  }
  return { transactions: n, firstSeq };
}

export interface BenchCloseResult {
  transactions: number;
  period: { start: number; end: number };
  generate_ms: number;
  close_ms: number;
  /** Aggregate rows the close summed (what its cost depends on). */
  aggregate_rows: number;
  report_id: string | null;
}

/**
 * Generates `transactions` into the next scheduled period and closes it as the scheduled job
 * would (at its end plus grace), timing the close alone.
 */
export async function benchSettlementClose(
  env: Env,
  opts: { transactions: number; withTransactions?: boolean },
): Promise<BenchCloseResult> {
  const db = env.DB;
  const config = await readConfig(db);
  const start = await closedThrough(db);
  const end = nextBoundary(start, config);
  const g0 = Date.now();
  await generateSettlementLoad(db, { start, end, transactions: opts.transactions, withTransactions: opts.withTransactions });
  const g1 = Date.now();
  const reports = await closePeriods(env, { now: end + config.graceSeconds * 1000, by: "bench", useGrace: true, maxPeriods: 1 });
  const c1 = Date.now();
  const rows = await db
    .prepare("SELECT COUNT(*) AS n FROM settlement_aggregates WHERE bucket >= ?1 AND bucket < ?2")
    .bind(Math.ceil(start / BUCKET_MS) * BUCKET_MS, end)
    .first<{ n: number }>();
  const last = reports[reports.length - 1];
  return {
    transactions: opts.transactions,
    period: { start, end },
    generate_ms: g1 - g0,
    close_ms: c1 - g1,
    aggregate_rows: rows?.n ?? 0,
    report_id: last ? (JSON.parse(last) as { id: string }).id : null,
  };
}
