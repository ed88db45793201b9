import { guard } from "../db/guard";
import { raw, runBatch, type Sql, sql } from "../db/sql-template";
import type { CoalitionSettings } from "../ledger/expiry-policy";
import { parseRateCardRow, type RateCard, type RateCardRow } from "../rates/cards";
import type { RuleSet } from "../risk/rules";
import { ruleSetFromRow } from "../risk/store";

/**
 * The operator's catalogue, as the writes of this isolate decide on it: each partner's settings,
 * its rate-card versions (the one in force when loaded and every later one, so a version that
 * takes effect later is picked by time, not by a reload), the coalition's policy and the risk
 * rules. Cached per isolate and never trusted blindly: every batch decided on it carries
 * `catalogueGuard(version)`, and triggers bump the version with every change to what is cached
 * (migrations/0007_one_batch.sql), so a batch decided on a stale catalogue fails its guard, commits
 * nothing, and is decided again on a fresh one. A partner's status and keys are not trusted from
 * here at all: the admission guard re-reads them in the request's own batch.
 */

export interface PartnerSettings {
  id: string;
  name: string;
  status: "active" | "suspended";
  fundingMode: "prepaid" | "postpaid";
  pendingDays: number;
  holdTtlSeconds: number;
}

export interface Catalogue {
  version: number;
  partners: ReadonlyMap<string, PartnerSettings>;
  /** Per partner, the versions in force at load time and later, newest first. */
  rateCards: ReadonlyMap<string, readonly RateCard[]>;
  settings: CoalitionSettings;
  rules: RuleSet;
}

/** Thrown by a command that finds the catalogue lacks what the request names (it changed since it was loaded). */
export class StaleCatalogue extends Error {}

let cached: Promise<Catalogue> | undefined;

/** The cached catalogue (loaded on first use). */
export function catalogue(db: D1Database, now: number): Promise<Catalogue> {
  if (!cached) {
    cached = loadCatalogue(db, now);
    // A failed load is not cached.
    cached.catch(() => {
      cached = undefined;
    });
  }
  return cached;
}

/** Drops the cache after a batch found it stale (or a change this isolate made). */
export function forgetCatalogue(): void {
  cached = undefined;
}

/** The guard every batch decided on `version` carries. */
export function catalogueGuard(version: number): Sql {
  return guard("catalogue_stale", sql`(SELECT version FROM catalogue_version WHERE id = 1) <> ${version}`);
}

/** SQL: the catalogue version (a read to compare with the cache, for batches that only read). */
export const CATALOGUE_VERSION: Sql = raw("SELECT version FROM catalogue_version WHERE id = 1");

/** The card of `partnerId` in force at `now` (the latest effective version), or undefined. */
export function rateCardAt(cat: Catalogue, partnerId: string, now: number): RateCard | undefined {
  return cat.rateCards.get(partnerId)?.find((card) => card.effectiveFrom <= now);
}

async function loadCatalogue(db: D1Database, now: number): Promise<Catalogue> {
  const [version, partners, cards, settings, rules] = await runBatch(db, [
    CATALOGUE_VERSION,
    raw("SELECT id, name, status, funding_mode, pending_days, hold_ttl_seconds FROM partners"),
    sql`SELECT r.* FROM rate_cards r
         WHERE r.effective_from > ${now}
            OR r.rowid = (SELECT x.rowid FROM rate_cards x WHERE x.partner_id = r.partner_id AND x.effective_from <= ${now}
                           ORDER BY x.effective_from DESC, x.created_at DESC, x.rowid DESC LIMIT 1)
         ORDER BY r.partner_id, r.effective_from DESC, r.created_at DESC, r.rowid DESC`,
    raw("SELECT expiry_months, reporting_window_days, review_timeout_seconds FROM coalition_settings WHERE id = 1"),
    raw("SELECT rules FROM risk_rule_set WHERE id = 1"),
  ]);
  const byPartner = new Map<string, RateCard[]>();
  for (const row of (cards?.results ?? []) as RateCardRow[]) {
    const list = byPartner.get(row.partner_id) ?? [];
    list.push(parseRateCardRow(row));
    byPartner.set(row.partner_id, list);
  }
  const s = settings?.results[0] as { expiry_months: number; reporting_window_days: number; review_timeout_seconds: number };
  const v = version?.results[0] as { version: number } | undefined;
  if (!v) throw new Error("catalogue_version has no row");
  return {
    version: v.version,
    partners: new Map(
      (
        (partners?.results ?? []) as {
          id: string;
          name: string;
          status: "active" | "suspended";
          funding_mode: "prepaid" | "postpaid";
          pending_days: number;
          hold_ttl_seconds: number;
        }[]
      ).map((p) => [
        p.id,
        {
          id: p.id,
          name: p.name,
          status: p.status,
          fundingMode: p.funding_mode,
          pendingDays: p.pending_days,
          holdTtlSeconds: p.hold_ttl_seconds,
        },
      ]),
    ),
    rateCards: byPartner,
    settings: {
      expiryMonths: s.expiry_months,
      reportingWindowDays: s.reporting_window_days,
      reviewTimeoutSeconds: s.review_timeout_seconds,
    },
    rules: ruleSetFromRow(rules?.results[0]),
  };
}
