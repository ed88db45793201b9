import { auditStatement } from "../audit/log";
import { firstGuard, guard } from "../db/guard";
import { type Sql, sql } from "../db/sql-template";
import { fundingMicros, requireCurrency } from "./money";
import type { CreatePartnerBody, PatchPartnerBody } from "./schemas";

/**
 * The operator's partner writes (operator-api.md "Partners and keys") as statements of one
 * audited batch each; a guard first refuses what cannot be done (the id taken, no such partner or
 * key), so a refused write leaves nothing, its audit entry included. Every change to a partner's
 * settings or keys bumps the catalogue version (a trigger), so writes decided on the old ones are
 * decided again.
 */

interface NewPartner {
  id: string;
  name: string;
  fundingMode: "prepaid" | "postpaid";
  /** The prepaid balance or the credit limit, micros. */
  fundingMicros: number;
  receivables: "payout" | "top_up";
  pendingDays: number;
  holdTtlSeconds: number;
}

export const partnerExists = (id: string) => sql`EXISTS (SELECT 1 FROM partners WHERE id = ${id})`;

function createPartnerStatements(p: NewPartner, actor: string, detail: unknown, now: number): Sql[] {
  const prepaid = p.fundingMode === "prepaid";
  return [
    guard("partner_exists", partnerExists(p.id)),
    sql`INSERT INTO partners (id, name, funding_mode, prepaid_balance_micros, credit_limit_micros, pending_days, hold_ttl_seconds,
        receivables, created_at, updated_at)
      VALUES (${p.id}, ${p.name}, ${p.fundingMode}, ${prepaid ? p.fundingMicros : 0}, ${prepaid ? 0 : p.fundingMicros},
              ${p.pendingDays}, ${p.holdTtlSeconds}, ${p.receivables}, ${now}, ${now})`,
    auditStatement({ at: now, actor, action: "partner.create", target: p.id, detail }),
  ];
}

/** `POST /admin/v1/partners`: the body in the settlement currency, as a new partner; the body is audited as given. */
export function planCreatePartner(body: CreatePartnerBody, currency: string, actor: string, now: number): Sql[] {
  const field = body.funding.mode === "prepaid" ? "balance" : "credit_limit";
  const amount = body.funding.mode === "prepaid" ? body.funding.balance : body.funding.credit_limit;
  requireCurrency(amount.unit, currency, `funding.${field}.unit`);
  const partner: NewPartner = {
    id: body.id,
    name: body.name,
    fundingMode: body.funding.mode,
    fundingMicros: fundingMicros(amount.value, `funding.${field}.value`),
    receivables: (body.funding.mode === "prepaid" && body.funding.receivables) || "payout",
    pendingDays: body.pending_days ?? 0,
    holdTtlSeconds: body.hold_ttl_seconds ?? 900,
  };
  return createPartnerStatements(partner, actor, body, now);
}

interface PartnerChange {
  status?: "active" | "suspended";
  name?: string;
  pendingDays?: number;
  holdTtlSeconds?: number;
  fundingMode?: "prepaid" | "postpaid";
  creditLimitMicros?: number | null;
  receivables?: "payout" | "top_up";
  allowedOrigins?: readonly string[];
}

/** A PATCH: only what is given changes (funding changes the mode or the limit, never a balance). */
function updatePartnerStatements(id: string, ch: PartnerChange, actor: string, detail: unknown, now: number): Sql[] {
  return [
    guard("partner_not_found", sql`NOT ${partnerExists(id)}`),
    sql`UPDATE partners SET status = COALESCE(${ch.status ?? null}, status), name = COALESCE(${ch.name ?? null}, name),
        pending_days = COALESCE(${ch.pendingDays ?? null}, pending_days),
        hold_ttl_seconds = COALESCE(${ch.holdTtlSeconds ?? null}, hold_ttl_seconds),
        funding_mode = COALESCE(${ch.fundingMode ?? null}, funding_mode),
        credit_limit_micros = COALESCE(${ch.creditLimitMicros ?? null}, credit_limit_micros),
        -- A postpaid partner has no receivables option (it is a prepaid one's).
        receivables = CASE WHEN ${ch.fundingMode ?? null} = 'postpaid' THEN 'payout' ELSE COALESCE(${ch.receivables ?? null}, receivables) END,
        allowed_origins = COALESCE(${ch.allowedOrigins ? JSON.stringify(ch.allowedOrigins) : null}, allowed_origins),
        updated_at = ${now}
      WHERE id = ${id}`,
    auditStatement({ at: now, actor, action: "partner.update", target: id, detail }),
  ];
}

/** `PATCH /admin/v1/partners/{id}`: the body as a change (a credit limit in the settlement currency), audited as given. */
export function planUpdatePartner(id: string, body: PatchPartnerBody, currency: string, actor: string, now: number): Sql[] {
  let creditLimit: number | null = null;
  if (body.funding?.mode === "postpaid") {
    requireCurrency(body.funding.credit_limit.unit, currency, "funding.credit_limit.unit");
    creditLimit = fundingMicros(body.funding.credit_limit.value, "funding.credit_limit.value");
  }
  const change: PartnerChange = {
    status: body.status,
    name: body.name,
    pendingDays: body.pending_days,
    holdTtlSeconds: body.hold_ttl_seconds,
    fundingMode: body.funding?.mode,
    creditLimitMicros: creditLimit,
    receivables: body.funding?.mode === "prepaid" ? body.funding.receivables : undefined,
    allowedOrigins: body.allowed_origins ? [...new Set(body.allowed_origins)] : undefined,
  };
  return updatePartnerStatements(id, change, actor, body, now);
}

export function addKeyStatements(
  key: { partnerId: string; kid: string; alg: string; publicJwk: unknown },
  actor: string,
  now: number,
): Sql[] {
  return [
    firstGuard([
      ["partner_not_found", sql`NOT ${partnerExists(key.partnerId)}`],
      ["key_exists", sql`EXISTS (SELECT 1 FROM partner_keys WHERE partner_id = ${key.partnerId} AND kid = ${key.kid})`],
    ]),
    sql`INSERT INTO partner_keys (partner_id, kid, alg, public_jwk, created_at)
      VALUES (${key.partnerId}, ${key.kid}, ${key.alg}, ${JSON.stringify(key.publicJwk)}, ${now})`,
    auditStatement({
      at: now,
      actor,
      action: "key.add",
      target: `${key.partnerId}/${key.kid}`,
      detail: { kid: key.kid, alg: key.alg },
    }),
  ];
}

/** Revokes at once (the next request with the key is refused: the admission guard re-reads it). */
export function revokeKeyStatements(partnerId: string, kid: string, actor: string, now: number): Sql[] {
  return [
    firstGuard([
      ["partner_not_found", sql`NOT ${partnerExists(partnerId)}`],
      ["key_not_found", sql`NOT EXISTS (SELECT 1 FROM partner_keys WHERE partner_id = ${partnerId} AND kid = ${kid})`],
    ]),
    sql`UPDATE partner_keys SET revoked_at = COALESCE(revoked_at, ${now}) WHERE partner_id = ${partnerId} AND kid = ${kid}`,
    auditStatement({ at: now, actor, action: "key.revoke", target: `${partnerId}/${kid}`, detail: { kid } }),
  ];
}
