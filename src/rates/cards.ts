/**
 * Rate cards (operator-api.md "Rates", economics.md "Prices and rates"): versioned per partner,
 * each in force from its `effective_from` until a later version takes over. A transaction uses
 * the version in force when it is booked and stores its id.
 *
 * Rows keep the operator's decimal strings as given (and the prices also as exact micros for SQL);
 * `RateCard` carries them parsed into exact `Decimal`s. No floating point anywhere.
 */
import { auditStatement } from "../audit/log";
import { newId } from "../db/ids";
import { sqlInt } from "../db/sql";
import { all, first, raw, runBatch, sql } from "../db/sql-template";
import { parseRfc3339, toRfc3339 } from "../db/time";
import { ApiError } from "../http/errors";
import type { Campaign } from "./conversion";
import { type Decimal, formatDecimal, parseDecimal } from "./decimal";
import { toMicros } from "./micros";

export interface EarnRate {
  unit: string;
  /** Coalition points earned per 1 unit spent. */
  pointsPerUnit: Decimal;
}

export interface BurnRate {
  unit: string;
  /** The discount, in `unit`, that one point buys. */
  valuePerPoint: Decimal;
}

export interface RateCard {
  id: string;
  partnerId: string;
  /** ms since the epoch. */
  effectiveFrom: number;
  earn: EarnRate[];
  burn: BurnRate[];
  /** Settlement-currency money per point issued / redeemed. */
  issuePrice: Decimal;
  redeemPrice: Decimal;
  issuePriceMicros: bigint;
  redeemPriceMicros: bigint;
  /** As stored (decimal strings, RFC 3339 times), ready for `activeCampaignMultipliers`. */
  campaigns: Campaign[];
  createdAt: number;
  createdBy: string;
}

/** A creation request, already validated (src/rates/schemas.ts). Decimal strings as given. */
export interface RateCardInput {
  earn: { unit: string; points_per_unit: string }[];
  burn: { unit: string; value_per_point: string }[];
  issue_price: string;
  redeem_price: string;
  campaigns: Campaign[];
}

/** The row of `rate_cards` (migrations/0002_ledger.sql). */
export interface RateCardRow {
  id: string;
  partner_id: string;
  effective_from: number;
  earn: string;
  burn: string;
  issue_price: string;
  redeem_price: string;
  issue_price_micros: number;
  redeem_price_micros: number;
  campaigns: string;
  created_at: number;
  created_by: string;
}

/**
 * Order of versions: the one in force is the latest effective, ties by the latest created, and
 * within one millisecond by insertion order (the table's rowid), so the order is total and stable.
 */
const VERSION_ORDER = raw("effective_from DESC, created_at DESC, rowid DESC");

/** Parses a stored row. Throws on a row that does not hold a valid card (a bug, never user input). */
export function parseRateCardRow(row: RateCardRow): RateCard {
  const earn = JSON.parse(row.earn) as { unit: string; points_per_unit: string }[];
  const burn = JSON.parse(row.burn) as { unit: string; value_per_point: string }[];
  return {
    id: row.id,
    partnerId: row.partner_id,
    effectiveFrom: row.effective_from,
    earn: earn.map((e) => ({ unit: e.unit, pointsPerUnit: parseDecimal(e.points_per_unit) })),
    burn: burn.map((b) => ({ unit: b.unit, valuePerPoint: parseDecimal(b.value_per_point) })),
    issuePrice: parseDecimal(row.issue_price),
    redeemPrice: parseDecimal(row.redeem_price),
    issuePriceMicros: BigInt(row.issue_price_micros),
    redeemPriceMicros: BigInt(row.redeem_price_micros),
    campaigns: JSON.parse(row.campaigns) as Campaign[],
    createdAt: row.created_at,
    createdBy: row.created_by,
  };
}

/** The version of the partner's card in force at `at` (ms): the latest `effective_from <= at`. */
export async function rateCardInForce(db: D1Database, partnerId: string, at: number): Promise<RateCard | undefined> {
  const row = await first<RateCardRow>(
    db,
    sql`SELECT * FROM rate_cards WHERE partner_id = ${partnerId} AND effective_from <= ${at} ORDER BY ${VERSION_ORDER} LIMIT 1`,
  );
  return row ? parseRateCardRow(row) : undefined;
}

export async function getRateCard(db: D1Database, id: string): Promise<RateCard | undefined> {
  const row = await first<RateCardRow>(db, sql`SELECT * FROM rate_cards WHERE id = ${id}`);
  return row ? parseRateCardRow(row) : undefined;
}

/** Position of a card in the version order, for keyset pagination. */
export interface RateCardPosition {
  effectiveFrom: number;
  createdAt: number;
  /** The row's insertion order (rowid). */
  seq: number;
}

/** Versions newest first (latest effective_from, then latest created), keyset-paginated. */
export async function listRateCards(
  db: D1Database,
  partnerId: string,
  opts: { limit: number; after?: RateCardPosition },
): Promise<(RateCard & { position: RateCardPosition })[]> {
  const a = opts.after;
  const after = a ? sql`AND (effective_from, created_at, rowid) < (${a.effectiveFrom}, ${a.createdAt}, ${a.seq})` : raw("");
  const rows = await all<RateCardRow & { seq: number }>(
    db,
    sql`SELECT rowid AS seq, * FROM rate_cards WHERE partner_id = ${partnerId} ${after} ORDER BY ${VERSION_ORDER} LIMIT ${opts.limit}`,
  );
  return rows.map((row) => ({
    ...parseRateCardRow(row),
    position: { effectiveFrom: row.effective_from, createdAt: row.created_at, seq: row.seq },
  }));
}

/** When a new version takes over: now, or the time asked for, which must not be in the past. */
export function newCardEffectiveFrom(requested: string | undefined, now: number): number {
  if (requested === undefined) return now;
  const at = parseRfc3339(requested);
  // The schema checked the format; "the past" is anything before this request's second.
  if (at === undefined || at < Math.floor(now / 1000) * 1000) {
    throw new ApiError("invalid_body", "effective_from must not be in the past", "effective_from");
  }
  return at;
}

/**
 * Stores a new version, with its audit entry in the same batch. The caller has validated the
 * input and checked that the partner exists and that `effectiveFrom` is not in the past
 * (`newCardEffectiveFrom`).
 */
export async function createRateCard(
  db: D1Database,
  args: { partnerId: string; effectiveFrom: number; input: RateCardInput; now: number; actor: string },
): Promise<RateCard> {
  const { partnerId, effectiveFrom, input, now, actor } = args;
  const id = newId("rc");
  const earn = input.earn.map((e) => ({ unit: e.unit, points_per_unit: e.points_per_unit }));
  const burn = input.burn.map((b) => ({ unit: b.unit, value_per_point: b.value_per_point }));
  const campaigns = input.campaigns.map(normalizeCampaign);
  const row: RateCardRow = {
    id,
    partner_id: partnerId,
    effective_from: effectiveFrom,
    earn: JSON.stringify(earn),
    burn: JSON.stringify(burn),
    issue_price: input.issue_price,
    redeem_price: input.redeem_price,
    issue_price_micros: sqlInt(toMicros(parseDecimal(input.issue_price))),
    redeem_price_micros: sqlInt(toMicros(parseDecimal(input.redeem_price))),
    campaigns: JSON.stringify(campaigns),
    created_at: now,
    created_by: actor,
  };
  const card = parseRateCardRow(row);
  await runBatch(db, [
    sql`INSERT INTO rate_cards (id, partner_id, effective_from, earn, burn, issue_price, redeem_price, issue_price_micros,
          redeem_price_micros, campaigns, created_at, created_by)
        VALUES (${row.id}, ${row.partner_id}, ${row.effective_from}, ${row.earn}, ${row.burn}, ${row.issue_price},
                ${row.redeem_price}, ${row.issue_price_micros}, ${row.redeem_price_micros}, ${row.campaigns}, ${row.created_at},
                ${row.created_by})`,
    auditStatement({
      at: now,
      actor,
      action: "rate_card.create",
      target: partnerId,
      detail: renderRateCard(card),
    }),
  ]);
  return card;
}

/** A campaign as stored and shown: exactly the contract's fields, `days_of_week` only when given. */
export interface CampaignJson {
  name: string;
  multiplier: string;
  from: string;
  to: string;
  days_of_week?: number[];
}

function normalizeCampaign(c: Campaign): CampaignJson {
  return {
    name: c.name,
    multiplier: c.multiplier,
    from: c.from,
    to: c.to,
    ...(c.days_of_week === undefined ? {} : { days_of_week: [...c.days_of_week] }),
  };
}

/** Points per unit for an earn in `unit`, or undefined when the card does not earn in it. */
export function earnRateFor(card: RateCard, unit: string): Decimal | undefined {
  return card.earn.find((e) => e.unit === unit)?.pointsPerUnit;
}

/** Value per point for a burn in `unit`, or undefined when the card does not redeem in it. */
export function burnRateFor(card: RateCard, unit: string): Decimal | undefined {
  return card.burn.find((b) => b.unit === unit)?.valuePerPoint;
}

/** The wire shape (`{ "rate_card": … }` of the operator API). Decimals in canonical form. */
export function renderRateCard(card: RateCard) {
  return {
    id: card.id,
    partner_id: card.partnerId,
    effective_from: toRfc3339(card.effectiveFrom),
    earn: card.earn.map((e) => ({ unit: e.unit, points_per_unit: formatDecimal(e.pointsPerUnit) })),
    burn: card.burn.map((b) => ({ unit: b.unit, value_per_point: formatDecimal(b.valuePerPoint) })),
    issue_price: formatDecimal(card.issuePrice),
    redeem_price: formatDecimal(card.redeemPrice),
    campaigns: card.campaigns.map(normalizeCampaign),
    created_at: toRfc3339(card.createdAt),
    created_by: card.createdBy,
  };
}
