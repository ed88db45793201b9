import type { Context } from "hono";
import type { AppEnv } from "../http/context";
import { ApiError } from "../http/errors";
import type { CoalitionSettings } from "../ledger/expiry-policy";
import type { PointValue } from "../ledger/render";
import { type RateCard, rateCardFrom, rateCardInForceStatement } from "../rates/cards";
import type { RuleSet } from "../risk/rules";
import { RULE_SET_SQL, ruleSetFromRow } from "../risk/store";

/**
 * What a ledger request needs before it builds its batch: the member behind the partner's ref, the
 * partner's settings, its rate card in force, the coalition policy, the risk rules.
 */
export interface LedgerContext {
  memberId: string;
  memberCreatedAt: number;
  partner: { id: string; pendingDays: number; holdTtlSeconds: number; fundingMode: "prepaid" | "postpaid" };
  card: RateCard | undefined;
  settings: CoalitionSettings;
  /** The operator's risk rules (src/risk), checked inside the request's batch. */
  riskRules: RuleSet;
}

/**
 * The reads, as statements: sent in the idempotency claim's batch (`idempotent`'s prefetch), so
 * the context costs no round trip of its own.
 */
export function ledgerContextStatements(c: Context<AppEnv>): D1PreparedStatement[] {
  const db = c.env.DB;
  const partnerId = c.get("partner").id;
  const now = c.get("now");
  return [
    db.prepare("SELECT pending_days, hold_ttl_seconds, funding_mode FROM partners WHERE id = ?1").bind(partnerId),
    rateCardInForceStatement(db, partnerId, now),
    db.prepare("SELECT expiry_months, reporting_window_days, review_timeout_seconds FROM coalition_settings WHERE id = 1"),
    db.prepare(RULE_SET_SQL),
  ];
}

/** The member statement goes last: its ref comes from the validated body. */
export function memberStatement(c: Context<AppEnv>, memberRef: string): D1PreparedStatement {
  return c.env.DB.prepare(
    `SELECT m.id, m.created_at FROM member_links l JOIN members m ON m.id = l.member_id
      WHERE l.partner_id = ?1 AND l.member_ref = ?2`,
  ).bind(c.get("partner").id, memberRef);
}

export function ledgerContextPrefetch(c: Context<AppEnv>, memberRef: string): D1PreparedStatement[] {
  return [...ledgerContextStatements(c), memberStatement(c, memberRef)];
}

/** The context from the prefetched results (in `ledgerContextPrefetch` order). */
export function ledgerContextFrom(c: Context<AppEnv>, results: D1Result[]): LedgerContext {
  const [partner, card, settings, risk, member] = results;
  const m = member?.results[0] as { id: string; created_at: number } | undefined;
  if (!m) throw new ApiError("member_not_found", "no member with this member_ref is linked to this partner", "member_ref");
  const p = partner?.results[0] as { pending_days: number; hold_ttl_seconds: number; funding_mode: "prepaid" | "postpaid" };
  const s = settings?.results[0] as { expiry_months: number; reporting_window_days: number; review_timeout_seconds: number };
  return {
    memberId: m.id,
    memberCreatedAt: m.created_at,
    partner: {
      id: c.get("partner").id,
      pendingDays: p.pending_days,
      holdTtlSeconds: p.hold_ttl_seconds,
      fundingMode: p.funding_mode,
    },
    card: rateCardFrom(card),
    settings: {
      expiryMonths: s.expiry_months,
      reportingWindowDays: s.reporting_window_days,
      reviewTimeoutSeconds: s.review_timeout_seconds,
    },
    riskRules: ruleSetFromRow(risk?.results[0]),
  };
}

/** What one point is worth at this partner: its first burn unit's value per point. */
export function pointValue(card: RateCard | undefined): PointValue | undefined {
  const burn = card?.burn[0];
  return burn ? { unit: burn.unit, units: burn.valuePerPoint.units, scale: burn.valuePerPoint.scale } : undefined;
}

export function requireCard(card: RateCard | undefined): RateCard {
  if (!card) throw new ApiError("no_rate_card", "this partner has no rate card in force");
  return card;
}
