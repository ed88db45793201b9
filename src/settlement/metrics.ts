import { all, sql } from "../db/sql-template";
import { toRfc3339 } from "../db/time";
import type { Env } from "../env";
import { decimal, formatDecimal } from "../rates/decimal";
import { formatMicros } from "../rates/micros";
import { figure } from "./money";
import { periodId } from "./periods";
import { buildPeriodFigures, type PeriodRow, type PositionRow } from "./report";
import { sumShards } from "./sums";

/**
 * Points-economy health (operator-api.md "Settlement", `GET /admin/v1/metrics`): outstanding
 * points and liability by issuer now, issued vs redeemed vs expired per period, breakage rate,
 * and each partner's funding exposure. Reads the last closed position plus the aggregates since
 * (never every transaction or lot).
 */
export async function pointsMetrics(env: Env, now: number, periods: number): Promise<Record<string, unknown>> {
  const db = env.DB;
  const currency = env.SETTLEMENT_CURRENCY;
  const last = await db
    .prepare("SELECT p.* FROM settlement_periods p JOIN settlement_reports r ON r.id = p.id ORDER BY p.end_at DESC LIMIT 1")
    .first<PeriodRow>();
  const since =
    last?.end_at ??
    (await db.prepare("SELECT origin FROM settlement_config WHERE id = 1").first<{ origin: number }>())?.origin ??
    0;
  const opening = last
    ? await all<PositionRow>(db, sql`SELECT * FROM settlement_positions WHERE settlement_id = ${last.id}`)
    : [];
  const rows = await sumShards(env, since, Number.MAX_SAFE_INTEGER);
  const open = buildPeriodFigures(
    { id: periodId(since), start_at: since, end_at: Math.max(now, since + 1), off_cycle: 0, closed_at: now, closed_by: "" },
    rows,
    opening,
    currency,
  );

  const closed = await all<{
    id: string;
    start_at: number;
    end_at: number;
    issued: number;
    redeemed: number;
    expired: number;
    reversed: number;
  }>(
    db,
    sql`SELECT p.id, p.start_at, p.end_at, SUM(s.issued) AS issued, SUM(s.redeemed) AS redeemed, SUM(s.expired) AS expired,
               SUM(s.reversed) AS reversed
          FROM (SELECT * FROM settlement_periods ORDER BY end_at DESC LIMIT ${periods}) p
          JOIN settlement_positions s ON s.settlement_id = p.id
         GROUP BY p.id ORDER BY p.end_at DESC`,
  );
  const allTime = await db
    .prepare("SELECT COALESCE(SUM(redeemed), 0) AS redeemed, COALESCE(SUM(expired), 0) AS expired FROM settlement_positions")
    .first<{ redeemed: number; expired: number }>();
  const openTotal = open.report.points_position.total;

  const partners = (
    await db
      .prepare(
        `SELECT id, name, status, funding_mode, prepaid_balance_micros, credit_limit_micros, exposure_micros, payout_due_micros
           FROM partners ORDER BY id`,
      )
      .all<{
        id: string;
        name: string;
        status: string;
        funding_mode: "prepaid" | "postpaid";
        prepaid_balance_micros: number;
        credit_limit_micros: number;
        exposure_micros: number;
        payout_due_micros: number;
      }>()
  ).results;
  const money = (micros: number) => ({ value: formatMicros(micros), unit: currency });

  const byIssuer = open.report.points_position.by_issuer.map((p) => ({
    issuer: p.issuer,
    points: p.closing,
    liability: p.liability,
  }));
  const totalLiability = figure(
    open.positions.reduce((s, p) => s + BigInt(p.closing) * BigInt(p.issue_price_micros), 0n),
    currency,
  );
  return {
    as_of: toRfc3339(now),
    currency,
    closed_through: toRfc3339(since),
    outstanding: {
      by_issuer: byIssuer,
      total: { points: openTotal.closing, liability: totalLiability.amount },
    },
    periods: [
      {
        settlement_id: null,
        open: true,
        start: toRfc3339(since),
        end: null,
        issued: openTotal.issued,
        redeemed: openTotal.redeemed,
        expired: openTotal.expired,
        reversed: openTotal.reversed,
        breakage_rate: rate(openTotal.expired, openTotal.redeemed),
      },
      ...closed.map((p) => ({
        settlement_id: p.id,
        open: false,
        start: toRfc3339(p.start_at),
        end: toRfc3339(p.end_at),
        issued: p.issued,
        redeemed: p.redeemed,
        expired: p.expired,
        reversed: p.reversed,
        breakage_rate: rate(p.expired, p.redeemed),
      })),
    ],
    breakage: {
      redeemed: (allTime?.redeemed ?? 0) + openTotal.redeemed,
      expired: (allTime?.expired ?? 0) + openTotal.expired,
      rate: rate((allTime?.expired ?? 0) + openTotal.expired, (allTime?.redeemed ?? 0) + openTotal.redeemed),
    },
    exposure: partners.map((p) => ({
      partner_id: p.id,
      name: p.name,
      status: p.status,
      funding_mode: p.funding_mode,
      ...(p.funding_mode === "prepaid"
        ? { balance: money(p.prepaid_balance_micros) }
        : { credit_limit: money(p.credit_limit_micros), available_credit: money(p.credit_limit_micros - p.exposure_micros) }),
      exposure: money(p.exposure_micros),
      payout_due: money(p.payout_due_micros),
    })),
  };
}

/** Breakage rate: expired ÷ (expired + redeemed), to 6 decimals (half up); "0" when nothing left lots. */
function rate(expired: number, redeemed: number): string {
  const total = BigInt(expired) + BigInt(redeemed);
  if (total <= 0n) return "0";
  const scaled = (2n * BigInt(expired) * 1_000_000n + total) / (2n * total);
  return formatDecimal(decimal(scaled, 6));
}
