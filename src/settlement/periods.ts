import { raw, type Sql, sql } from "../db/sql-template";

/**
 * Settlement periods (economics.md "Settlement"): daily, weekly (ISO weeks, from Monday) or
 * monthly, at a fixed UTC offset (UTC unless configured). A period runs from where the previous
 * closed one ended to the next scheduled boundary; an off-cycle close cuts it earlier, and the
 * next period then runs from the cut to its scheduled end.
 *
 * The same schedule exists twice, in TypeScript (the close) and in SQL (a booking names the
 * period of the transaction it reverses, inside its batch); test/settlement checks they agree.
 */

export type PeriodKind = "daily" | "weekly" | "monthly";

export interface SettlementConfig {
  period: PeriodKind;
  utcOffsetMinutes: number;
  graceSeconds: number;
  /** Start of the first period (ms). */
  origin: number;
}

/** Aggregates are kept per 15-minute bucket: every scheduled boundary is a bucket boundary. */
export const BUCKET_MS = 15 * 60 * 1000;
const DAY_MS = 86_400_000;

/**
 * End of the last closed period: no booking settles before it. The settlement triggers of
 * migrations/0007_one_batch.sql repeat this expression (test/settlement/units.test.ts checks).
 */
export const CLOSED_THROUGH_SQL =
  "COALESCE((SELECT MAX(end_at) FROM settlement_periods), (SELECT origin FROM settlement_config WHERE id = 1))";
export const CLOSED_THROUGH: Sql = raw(CLOSED_THROUGH_SQL);

export async function readConfig(db: D1Database): Promise<SettlementConfig> {
  const row = await db
    .prepare("SELECT period, utc_offset_minutes, grace_seconds, origin FROM settlement_config WHERE id = 1")
    .first<{ period: PeriodKind; utc_offset_minutes: number; grace_seconds: number; origin: number }>();
  if (!row) throw new Error("settlement_config row missing (migration 0004)");
  return { period: row.period, utcOffsetMinutes: row.utc_offset_minutes, graceSeconds: row.grace_seconds, origin: row.origin };
}

export async function closedThrough(db: D1Database): Promise<number> {
  const row = await db.prepare(`SELECT ${CLOSED_THROUGH_SQL} AS t`).first<{ t: number }>();
  return row?.t ?? 0;
}

/** The period open now: from the end of the last closed one to its scheduled end (ms). */
export async function openPeriod(db: D1Database): Promise<{ start: number; end: number }> {
  const [start, config] = await Promise.all([closedThrough(db), readConfig(db)]);
  return { start, end: nextBoundary(start, config) };
}

export interface ScheduleChange {
  period?: PeriodKind;
  utc_offset_minutes?: number;
  grace_seconds?: number;
}

/** The statement that changes the schedule; closed periods never move (they are rows of their own). */
export function scheduleChange(change: ScheduleChange, now: number): Sql {
  return sql`UPDATE settlement_config SET period = COALESCE(${change.period ?? null}, period),
      utc_offset_minutes = COALESCE(${change.utc_offset_minutes ?? null}, utc_offset_minutes),
      grace_seconds = COALESCE(${change.grace_seconds ?? null}, grace_seconds), updated_at = ${now}, version = version + 1
    WHERE id = 1`;
}

/** Start of the scheduled period containing `t`. */
export function scheduledStart(t: number, config: Pick<SettlementConfig, "period" | "utcOffsetMinutes">): number {
  const off = config.utcOffsetMinutes * 60_000;
  const local = t + off;
  switch (config.period) {
    case "daily":
      return t - mod(local, DAY_MS);
    case "weekly": {
      const day = Math.floor(local / DAY_MS);
      // 1970-01-01 was a Thursday: (day + 3) mod 7 is 0 on Mondays.
      return (day - mod(day + 3, 7)) * DAY_MS - off;
    }
    case "monthly": {
      const d = new Date(local);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) - off;
    }
  }
}

/** The first scheduled boundary strictly after `t`. */
export function nextBoundary(t: number, config: Pick<SettlementConfig, "period" | "utcOffsetMinutes">): number {
  const start = scheduledStart(t, config);
  switch (config.period) {
    case "daily":
      return start + DAY_MS;
    case "weekly":
      return start + 7 * DAY_MS;
    case "monthly": {
      const off = config.utcOffsetMinutes * 60_000;
      const d = new Date(start + off);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) - off;
    }
  }
}

/** SQL of scheduledStart for the integer expression `t` (config columns of `c`). */
function scheduledStartSql(t: Sql): Sql {
  // CAST: a bound JS number may arrive as REAL, and the divisions below must be integer ones.
  const off = raw("(c.utc_offset_minutes * 60000)");
  const local = sql`(CAST((${t}) AS INTEGER) + ${off})`;
  const day = sql`(${local} / ${raw(String(DAY_MS))})`;
  const dayMs = raw(String(DAY_MS));
  return sql`CASE c.period
    WHEN 'daily' THEN ${local} - (${local} % ${dayMs}) - ${off}
    WHEN 'weekly' THEN (${day} - ((${day} + 3) % 7)) * ${dayMs} - ${off}
    ELSE unixepoch(datetime(${local} / 1000, 'unixepoch', 'start of month')) * 1000 - ${off} END`;
}

/**
 * SQL: the id of the settlement period in which time `t` settles (a closed one, or the open one
 * it will belong to). `t` must be an integer expression; it is evaluated more than once.
 */
export function periodIdAt(t: Sql): Sql {
  return sql`(SELECT CASE WHEN (${t}) < ct.v
      THEN (SELECT p.id FROM settlement_periods p WHERE p.start_at <= (${t}) AND p.end_at > (${t}))
      ELSE 'stl_' || strftime('%Y%m%dT%H%M%SZ', MAX(${scheduledStartSql(t)}, ct.v) / 1000, 'unixepoch') END
    FROM settlement_config c, (SELECT ${CLOSED_THROUGH} AS v) ct WHERE c.id = 1)`;
}

/** The period's id, from its start: `stl_20261123T000000Z`. */
export function periodId(start: number): string {
  const iso = new Date(start).toISOString(); // 2026-11-23T00:00:00.000Z
  return `stl_${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
}

export const PERIOD_ID_PATTERN = /^stl_\d{8}T\d{6}Z$/;

function mod(a: number, m: number): number {
  return ((a % m) + m) % m;
}
