import { all, first, raw, sql } from "../db/sql-template";
import { toRfc3339 } from "../db/time";
import { ApiError } from "../http/errors";
import { formatMicros } from "../rates/micros";

/** Partners and their keys in D1 (operator-api.md "Partners and keys"). */

export interface PartnerRow {
  id: string;
  name: string;
  status: "active" | "suspended";
  funding_mode: "prepaid" | "postpaid";
  prepaid_balance_micros: number;
  credit_limit_micros: number;
  exposure_micros: number;
  /** Prepaid only: where a close puts what is left of a receivable after the set-off. */
  receivables: "payout" | "top_up";
  /** What closed statements (and credits beyond the exposure) leave the operator owing the partner. */
  payout_due_micros: number;
  pending_days: number;
  hold_ttl_seconds: number;
  /** JSON array of the browser origins of the partner's app (CORS on /v1/me). */
  allowed_origins: string;
  created_at: number;
  updated_at: number;
}

export interface KeyRow {
  kid: string;
  alg: string;
  public_jwk: string;
  created_at: number;
  revoked_at: number | null;
}

async function getPartner(db: D1Database, id: string): Promise<PartnerRow | null> {
  return first<PartnerRow>(db, sql`SELECT * FROM partners WHERE id = ${id}`);
}

export async function mustGetPartner(db: D1Database, id: string): Promise<PartnerRow> {
  const p = await getPartner(db, id);
  if (!p) throw new ApiError("partner_not_found", `no partner ${id}`);
  return p;
}

/** A partner as the operator sees one: with its funding position, its units in force and its keys. */
export async function partnerDetail(db: D1Database, id: string, currency: string, now: number) {
  const p = await mustGetPartner(db, id);
  const [units, keys] = await Promise.all([partnerUnits(db, id, now), listKeys(db, id)]);
  return renderPartner(p, currency, units, keys);
}

export async function listPartners(db: D1Database, opts: { limit: number; afterId?: string }): Promise<PartnerRow[]> {
  const after = opts.afterId === undefined ? raw("") : sql`WHERE id > ${opts.afterId}`;
  return all<PartnerRow>(db, sql`SELECT * FROM partners ${after} ORDER BY id LIMIT ${opts.limit}`);
}

async function listKeys(db: D1Database, partnerId: string): Promise<KeyRow[]> {
  return all<KeyRow>(
    db,
    sql`SELECT kid, alg, public_jwk, created_at, revoked_at FROM partner_keys WHERE partner_id = ${partnerId}
         ORDER BY created_at, kid LIMIT 100`,
  );
}

/** The units a partner earns and burns in, from its rate card in force (empty before one exists). */
async function partnerUnits(db: D1Database, partnerId: string, now: number): Promise<{ earn: string[]; burn: string[] }> {
  const row = await first<{ earn: string; burn: string }>(
    db,
    sql`SELECT earn, burn FROM rate_cards WHERE partner_id = ${partnerId} AND effective_from <= ${now}
         ORDER BY effective_from DESC, created_at DESC, rowid DESC LIMIT 1`,
  );
  if (!row) return { earn: [], burn: [] };
  const units = (json: string) => (JSON.parse(json) as { unit: string }[]).map((r) => r.unit);
  return { earn: units(row.earn), burn: units(row.burn) };
}

export function renderPartner(p: PartnerRow, currency: string, units?: { earn: string[]; burn: string[] }, keys?: KeyRow[]) {
  const money = (micros: number) => ({ value: formatMicros(micros), unit: currency });
  return {
    id: p.id,
    name: p.name,
    status: p.status,
    funding:
      p.funding_mode === "prepaid"
        ? {
            mode: "prepaid" as const,
            balance: money(p.prepaid_balance_micros),
            exposure: money(p.exposure_micros),
            receivables: p.receivables,
          }
        : {
            mode: "postpaid" as const,
            credit_limit: money(p.credit_limit_micros),
            exposure: money(p.exposure_micros),
            available_credit: money(p.credit_limit_micros - p.exposure_micros),
          },
    payout_due: money(p.payout_due_micros),
    pending_days: p.pending_days,
    hold_ttl_seconds: p.hold_ttl_seconds,
    allowed_origins: JSON.parse(p.allowed_origins) as string[],
    ...(units ? { earn_units: units.earn, burn_units: units.burn } : {}),
    ...(keys
      ? {
          keys: keys.map((k) => ({
            kid: k.kid,
            alg: k.alg,
            status: k.revoked_at === null ? "active" : "revoked",
            created_at: toRfc3339(k.created_at),
            ...(k.revoked_at === null ? {} : { revoked_at: toRfc3339(k.revoked_at) }),
          })),
        }
      : {}),
    created_at: toRfc3339(p.created_at),
  };
}
