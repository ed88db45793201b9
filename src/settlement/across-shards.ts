import { first, raw, type Sql, sql } from "../db/sql-template";
import type { Env } from "../env";
import { copyToShards, readEveryShard } from "../shards/fan-out";
import { shardsOf } from "../shards/registry";
import type { PeriodRow } from "./report-types";
import { type LinePosition, type LineRow, listLines } from "./store";
import { byText } from "./sums";

/**
 * Settlement over the ledger's shards (issue 11 §4, docs/design/shards.md "Settlement across
 * shards"). The period is claimed in main; `cutOnShards` then gives every other shard the
 * period's row, after which its settlement triggers settle every booking at or after the
 * period's end (CLOSED_THROUGH reads that shard's own rows). A batch a shard committed before
 * the row arrived booked inside the period; none can after: once every shard has the row, the
 * period's sums are final everywhere, and only then are they read.
 */
export async function cutOnShards(env: Env, period: PeriodRow): Promise<void> {
  if (shardsOf(env).length === 1) return; // main is the only shard, and holds the claim
  await copyToShards(env, [
    await scheduleCopy(env.DB),
    sql`INSERT INTO settlement_periods (id, start_at, end_at, off_cycle, closed_at, closed_by)
        VALUES (${period.id}, ${period.start_at}, ${period.end_at}, ${period.off_cycle}, ${period.closed_at}, ${period.closed_by})
        ON CONFLICT DO NOTHING`,
  ]);
}

/**
 * Main's schedule copied to every other shard after an operator changed it. A copy that fails
 * leaves the committed change answered as such: every close copies the schedule again before
 * its cut (as the catalogue's copy does, src/catalogue/replicate.ts).
 */
export async function copySchedule(env: Env): Promise<void> {
  if (shardsOf(env).length === 1) return;
  try {
    await copyToShards(env, [await scheduleCopy(env.DB)]);
  } catch (error) {
    console.error("schedule copy to the shards failed; the next close copies it", error);
  }
}

/**
 * The statement that makes a shard's schedule main's, origin included (each database's own
 * migration set it to the day it ran). A copy older than the shard's (a lower version, read
 * before a later change that already arrived) changes nothing.
 */
async function scheduleCopy(main: D1Database): Promise<Sql> {
  const c = await first<ScheduleRow>(
    main,
    raw("SELECT period, utc_offset_minutes, grace_seconds, origin, updated_at, version FROM settlement_config WHERE id = 1"),
  );
  if (c === null) throw new Error("settlement_config row missing (migration 0004)");
  return sql`UPDATE settlement_config SET period = ${c.period}, utc_offset_minutes = ${c.utc_offset_minutes},
      grace_seconds = ${c.grace_seconds}, origin = ${c.origin}, updated_at = ${c.updated_at}, version = ${c.version}
    WHERE id = 1 AND version <= ${c.version}`;
}

interface ScheduleRow {
  period: string;
  utc_offset_minutes: number;
  grace_seconds: number;
  origin: number;
  updated_at: number;
  version: number;
}

/**
 * A page of a partner's statement lines over every shard: each shard's first `limit` after the
 * cursor, merged in the one order (settled_at, transaction, source) descending. Transaction ids
 * are unique across shards, so that order is total and the cursor needs no shard position.
 */
export async function linesAcrossShards(
  env: Env,
  partnerId: string,
  period: PeriodRow,
  limit: number,
  cursor?: LinePosition,
): Promise<LineRow[]> {
  const pages = await readEveryShard(env, (db) => listLines(db, partnerId, period, limit, cursor));
  return pages
    .flat()
    .sort((a, b) => b.at - a.at || byText(b.txn_id, a.txn_id) || byText(b.src, a.src) || b.src_id - a.src_id)
    .slice(0, limit);
}
