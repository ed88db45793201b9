import { guard, guardViolated } from "../db/guard";
import { randomToken } from "../db/ids";
import { sqlInt } from "../db/sql";
import { all, first, prepare, raw, runBatch, type Sql, sql } from "../db/sql-template";
import type { Env } from "../env";
import { ApiError } from "../http/errors";
import type { PartnerRow } from "../partners/store";
import { cutOnShards } from "./across-shards";
import { CLOSED_THROUGH, closedThrough, nextBoundary, periodId, readConfig } from "./periods";
import {
  buildPeriodFigures,
  type FundingPositions,
  type PeriodRow,
  type PositionRow,
  type ReportBody,
  type SignedStatement,
} from "./report";
import { deleteReportBody, openReport, putReportBody, reportRow } from "./report-objects";
import { canonicalJson, digestOf, signPayload } from "./signing";
import { sumShards } from "./sums";

/**
 * Closing periods (operator-api.md "Settlement"). A close first claims the period: one INSERT
 * into settlement_periods that succeeds only if the period starts where the last closed one
 * ended. From that commit on, every ledger batch settles at or after the period's end (the
 * settlement triggers of migration 0007), so the period's sums can no longer change; then the
 * report is computed from
 * the aggregates, signed, and stored with the statements, the closing position and the funding
 * update in one batch. A claimed period without a report (a close that died midway) is finished
 * by the next close, with the same content. Closing twice changes nothing.
 */

export interface CloseOptions {
  /** The clock of the close (ms): request time, or the Cron Trigger's scheduled time. */
  now: number;
  /** Who closes: the operator token's sub, or "scheduler". */
  by: string;
  /** Off-cycle cut (ms, ≤ now): close every scheduled period ending by then, then cut there. */
  periodEnd?: number;
  /** Scheduled closes wait for the period's end plus the configured grace. */
  useGrace?: boolean;
  /** Most periods closed by one call (the rest by the next). */
  maxPeriods?: number;
}

/** Closes what is due; returns the closed reports' stored JSON texts, oldest first. */
export async function closePeriods(env: Env, opts: CloseOptions): Promise<string[]> {
  const db = env.DB;
  const closed: string[] = [];
  const max = opts.maxPeriods ?? 100;
  for (const period of await unfinishedPeriods(db)) closed.push(await finalizePeriod(env, period));
  for (let i = 0; closed.length < max && i < max * 2; i++) {
    const config = await readConfig(db);
    const start = await closedThrough(db);
    let end = nextBoundary(start, config);
    let offCycle = 0;
    if (opts.periodEnd === undefined) {
      const grace = opts.useGrace ? config.graceSeconds * 1000 : 0;
      if (end + grace > opts.now) break;
    } else if (end > opts.periodEnd) {
      if (start >= opts.periodEnd) break;
      end = opts.periodEnd;
      offCycle = 1;
    }
    const period: PeriodRow = {
      id: periodId(start),
      start_at: start,
      end_at: end,
      off_cycle: offCycle,
      closed_at: opts.now,
      closed_by: opts.by,
    };
    const claim = await prepare(
      db,
      sql`INSERT INTO settlement_periods (id, start_at, end_at, off_cycle, closed_at, closed_by)
          SELECT ${period.id}, ${period.start_at}, ${period.end_at}, ${period.off_cycle}, ${period.closed_at}, ${period.closed_by}
           WHERE ${CLOSED_THROUGH} = ${period.start_at}`,
    ).run();
    // Someone else closed meanwhile: look again from where they left off.
    if (claim.meta.changes !== 1) continue;
    closed.push(await finalizePeriod(env, period));
  }
  return closed;
}

/**
 * An operator's close (operator-api.md "Settlement"): every ended period, or an off-cycle cut at
 * `periodEnd`. Cutting at a closed period's end answers that report again (finishing it if a first
 * close died after claiming it); a cut inside a closed period is refused.
 */
export async function operatorClose(env: Env, opts: CloseOptions): Promise<string[]> {
  if (opts.periodEnd !== undefined && opts.periodEnd <= (await closedThrough(env.DB))) {
    const same = await first<PeriodRow>(env.DB, sql`SELECT * FROM settlement_periods WHERE end_at = ${opts.periodEnd}`);
    if (!same) throw new ApiError("settlement_closed", "period_end falls in a period that is already closed", "period_end");
    return [await finalizePeriod(env, same)];
  }
  return closePeriods(env, opts);
}

/** The Cron Trigger's job: closes the periods whose end plus grace has passed (at most a day's worth of hours per run). */
export async function scheduledClose(env: Env, now: number): Promise<{ closed: number }> {
  return { closed: (await closePeriods(env, { now, by: "scheduler", useGrace: true, maxPeriods: 24 })).length };
}

function unfinishedPeriods(db: D1Database): Promise<PeriodRow[]> {
  return all<PeriodRow>(
    db,
    raw(`SELECT p.* FROM settlement_periods p WHERE NOT EXISTS (SELECT 1 FROM settlement_reports r WHERE r.id = p.id)
          ORDER BY p.start_at`),
  );
}

/** Attempts at storing a report whose funding split was overtaken by a concurrent write. */
const MAX_FINALIZE_ATTEMPTS = 5;

/**
 * The report of a claimed period: computed, signed and stored once; its stored text. The split of
 * each receivable (close-funding.ts) depends on the partner's funding when the report is decided;
 * the batch that stores it guards that position, and a close overtaken by a payment or a reversal
 * credit decides again (nothing was stored).
 */
export async function finalizePeriod(env: Env, period: PeriodRow): Promise<string> {
  for (let attempt = 1; attempt <= MAX_FINALIZE_ATTEMPTS; attempt++) {
    const existing = await storedReport(env, period.id);
    if (existing !== null) return existing;
    try {
      await storeReport(env, period);
    } catch (error) {
      if (guardViolated(error) !== "close_funding_moved" || attempt === MAX_FINALIZE_ATTEMPTS) throw error;
    }
  }
  const stored = await storedReport(env, period.id);
  if (stored === null) throw new Error(`settlement ${period.id} was not stored`);
  return stored;
}

async function storeReport(env: Env, period: PeriodRow): Promise<void> {
  const db = env.DB;
  const previous = await first<PeriodRow>(db, sql`SELECT * FROM settlement_periods WHERE end_at = ${period.start_at}`);
  if (previous && (await reportRow(db, previous.id)) === null) await finalizePeriod(env, previous);
  const opening = previous
    ? await all<PositionRow>(
        db,
        sql`SELECT * FROM settlement_positions WHERE settlement_id = ${previous.id} ORDER BY issuer_id, issue_price_micros`,
      )
    : [];
  // Every shard stops settling into the period before any shard's sums are read (across-shards.ts).
  await cutOnShards(env, period);
  const rows = await sumShards(env, period.start_at, period.end_at);
  const currency = env.SETTLEMENT_CURRENCY;
  const figures = buildPeriodFigures(period, rows, opening, currency, await fundingPositions(db));

  const key = env.STATEMENT_SIGNING_JWK;
  const statements: SignedStatement[] = [];
  for (const body of figures.statements) {
    const digest = await digestOf({ ...body });
    const signature = await signPayload(key, { settlement_id: period.id, partner_id: body.partner_id, digest });
    statements.push({ ...body, digest, signature });
  }
  const body: ReportBody = { ...figures.report, statements };
  const digest = await digestOf({ ...body });
  const signature = await signPayload(key, { settlement_id: period.id, digest });
  const signed = { ...body, digest, signature };
  const text = canonicalJson(signed);
  const summary = canonicalJson({
    id: period.id,
    period: body.period,
    off_cycle: body.off_cycle,
    closed_at: body.closed_at,
    closed_by: period.closed_by,
    partners: statements.length,
    totals: body.totals,
    digest,
  });

  const token = randomToken(16);
  // Only the batch whose report insert won writes the rest (a concurrent close may have stored it first).
  const won = sql`EXISTS (SELECT 1 FROM settlement_reports WHERE id = ${period.id} AND close_token = ${token})`;
  const funding = JSON.stringify(
    figures.funding.map((f) => ({ id: f.id, set_off: sqlInt(f.setOff), top_up: sqlInt(f.topUp), payout: sqlInt(f.payout) })),
  );
  const statementRows = JSON.stringify(statements.map((s) => ({ p: s.partner_id, s: canonicalJson(s), d: s.digest })));
  const auditDetail = JSON.stringify({
    period: body.period,
    off_cycle: body.off_cycle,
    digest,
    funding: figures.funding.map((f) => ({
      partner_id: f.id,
      set_off_micros: f.setOff.toString(),
      top_up_micros: f.topUp.toString(),
      payout_micros: f.payout.toString(),
    })),
  });
  const field = (name: string) => raw(`json_extract(value, '$.${name}')`);
  // The body first (R2, keyed by its digest): the row that commits names objects that exist.
  const bodyKey = await putReportBody(env.SETTLEMENT_REPORTS, signed, text);
  await runBatch(db, [
    sql`INSERT INTO settlement_reports (id, start_at, end_at, report, summary, digest, close_token, created_at, body_key,
          matrix_lines)
        VALUES (${period.id}, ${period.start_at}, ${period.end_at}, '', ${summary}, ${digest}, ${token}, ${Date.now()},
                ${bodyKey}, ${signed.matrix.length})
        ON CONFLICT (id) DO NOTHING`,
    closeFundingGuard(won, funding),
    sql`INSERT INTO settlement_statements (settlement_id, partner_id, statement, digest)
        SELECT ${period.id}, ${field("p")}, ${field("s")}, ${field("d")} FROM json_each(${statementRows}) WHERE ${won}`,
    sql`INSERT INTO settlement_positions (settlement_id, issuer_id, issue_price_micros, opening, issued, reversed, redeemed,
          expired, debt_created, debt_repaid, closing)
        SELECT ${period.id}, ${field("issuer_id")}, ${field("issue_price_micros")}, ${field("opening")}, ${field("issued")},
               ${field("reversed")}, ${field("redeemed")}, ${field("expired")}, ${field("debt_created")}, ${field("debt_repaid")},
               ${field("closing")}
          FROM json_each(${JSON.stringify(figures.positions)}) WHERE ${won}`,
    // Funding (economics.md "What a close does to funding"): the ledger moved the payable side as
    // it booked; the close applies each receivable as its statement says, once (this batch won).
    sql`UPDATE partners SET
          exposure_micros = exposure_micros - f.set_off,
          prepaid_balance_micros = prepaid_balance_micros + f.top_up,
          payout_due_micros = payout_due_micros + f.payout,
          updated_at = ${period.closed_at}
         FROM (SELECT ${field("id")} AS id, ${field("set_off")} AS set_off, ${field("top_up")} AS top_up, ${field("payout")} AS payout
                 FROM json_each(${funding})) AS f
        WHERE partners.id = f.id AND (f.set_off <> 0 OR f.top_up <> 0 OR f.payout <> 0) AND ${won}`,
    sql`INSERT INTO audit_log (at, actor, action, target, detail)
        SELECT ${period.closed_at}, ${period.closed_by}, 'settlement.close', ${period.id}, ${auditDetail} WHERE ${won}`,
  ]);
  // A concurrent close stored a different report (its funding split differed): ours is litter.
  const stored = await reportRow(db, period.id);
  if (stored !== null && stored.body_key !== bodyKey) await deleteReportBody(env.SETTLEMENT_REPORTS, bodyKey);
}

/** Every partner's funding position now, as the close splits receivables against it. */
async function fundingPositions(db: D1Database): Promise<FundingPositions> {
  const { results } = await db
    .prepare("SELECT id, funding_mode, receivables, exposure_micros, prepaid_balance_micros, payout_due_micros FROM partners")
    .all<
      Pick<PartnerRow, "id" | "funding_mode" | "receivables" | "exposure_micros" | "prepaid_balance_micros" | "payout_due_micros">
    >();
  return new Map(
    results.map((p) => [
      p.id,
      {
        fundingMode: p.funding_mode,
        receivables: p.receivables,
        exposureMicros: BigInt(p.exposure_micros),
        balanceMicros: BigInt(p.prepaid_balance_micros),
        payoutDueMicros: BigInt(p.payout_due_micros),
      },
    ]),
  );
}

/**
 * The split was decided on each partner's position read before this batch; a write in between
 * (a payment, a reversal's credit, a recorded payout) may leave too little to take a negative part
 * from. Then nothing of this batch commits and the close decides again.
 */
function closeFundingGuard(won: Sql, funding: string): Sql {
  return guard(
    "close_funding_moved",
    sql`${won} AND EXISTS (
       SELECT 1 FROM partners p JOIN json_each(${funding}) f ON p.id = json_extract(f.value, '$.id')
        WHERE (json_extract(f.value, '$.set_off') > 0 AND p.exposure_micros < json_extract(f.value, '$.set_off'))
           OR (json_extract(f.value, '$.top_up') < 0 AND p.prepaid_balance_micros < -json_extract(f.value, '$.top_up'))
           OR (json_extract(f.value, '$.payout') < 0 AND p.payout_due_micros < -json_extract(f.value, '$.payout')))`,
  );
}

/** A closed report's stored text (the canonical signed report), or null when not closed. */
export async function storedReport(env: Env, id: string): Promise<string | null> {
  const parts = await openReport(env, id);
  return parts === null ? null : parts.text();
}
