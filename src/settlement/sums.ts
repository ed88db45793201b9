import { all, raw, sql } from "../db/sql-template";
import type { Env } from "../env";
import { readEveryShard } from "../shards/fan-out";
import { BUCKET_MS } from "./periods";
import type { SumRow } from "./report-types";

/** What a period's report is built from: the sums of its settlement entries, per shard and over every shard. */

const GROUP = raw("kind, issuer_id, redeemer_id, issue_price_micros, redeem_price_micros");
/**
 * Entries are keyed by (issuer, time): a time range is read per issuer (every partner and the
 * operator). On a shard, `partners` is its copy of main's catalogue (src/catalogue/replicate.ts),
 * which a shard's writes are decided on, so it names every issuer of the shard's entries.
 */
const ISSUERS = raw("(SELECT id FROM partners UNION ALL SELECT 'operator')");
const ENTRY_COLUMNS = raw(`kind, issuer_id, COALESCE(redeemer_id, '') AS redeemer_id, issue_price_micros, redeem_price_micros,
  points, 1 AS lines`);

/**
 * The sums of every entry settled in [start, end): whole 15-minute buckets from the aggregates,
 * and the entries of the (at most two) partial buckets at the ends of an off-cycle period read
 * directly. The cost depends on the period's length and the number of distinct
 * (kind, issuer, redeemer, price) combinations, never on the number of transactions.
 */
export async function sumRange(db: D1Database, start: number, end: number): Promise<SumRow[]> {
  const firstFull = Math.ceil(start / BUCKET_MS) * BUCKET_MS;
  const lastFull = Math.floor(end / BUCKET_MS) * BUCKET_MS;
  const partial: [number, number][] =
    firstFull >= lastFull
      ? [[start, end]]
      : [
          [start, firstFull],
          [lastFull, end],
        ];
  const [head = [0, 0], tail = [0, 0]] = partial;
  const full: [number, number] = firstFull < lastFull ? [firstFull, lastFull] : [0, 0];
  const entriesIn = ([from, to]: [number, number]) =>
    sql`SELECT ${ENTRY_COLUMNS} FROM settlement_entries WHERE issuer_id IN ${ISSUERS} AND at >= ${from} AND at < ${to}`;
  return all<SumRow>(
    db,
    sql`SELECT ${GROUP}, SUM(points) AS points, SUM(lines) AS lines FROM (
         SELECT ${GROUP}, points, lines FROM settlement_aggregates WHERE bucket >= ${full[0]} AND bucket < ${full[1]}
         UNION ALL ${entriesIn(head)}
         UNION ALL ${entriesIn(tail)})
       GROUP BY ${GROUP} ORDER BY ${GROUP}`,
  );
}

const GROUP_KEYS = ["kind", "issuer_id", "redeemer_id", "issue_price_micros", "redeem_price_micros"] as const;

/** Every shard's sums of [start, end), in parallel, added up: O(shards × combinations), never O(transactions). */
export async function sumShards(env: Env, start: number, end: number): Promise<SumRow[]> {
  return mergeSums(await readEveryShard(env, (db) => sumRange(db, start, end)));
}

/** Sums of several shards added per (kind, issuer, redeemer, prices), in sumRange's order. */
export function mergeSums(perShard: readonly SumRow[][]): SumRow[] {
  const merged = new Map<string, SumRow>();
  for (const row of perShard.flat()) {
    const key = JSON.stringify(GROUP_KEYS.map((k) => row[k]));
    const seen = merged.get(key);
    if (seen) {
      seen.points += row.points;
      seen.lines += row.lines;
    } else merged.set(key, { ...row });
  }
  return [...merged.values()].sort(
    (a, b) =>
      byText(a.kind, b.kind) ||
      byText(a.issuer_id, b.issuer_id) ||
      byText(a.redeemer_id, b.redeemer_id) ||
      a.issue_price_micros - b.issue_price_micros ||
      a.redeem_price_micros - b.redeem_price_micros,
  );
}

/** SQLite's BINARY order for the ASCII ids and kinds compared here. */
export function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
