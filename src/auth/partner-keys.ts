import { importJWK, type JWK } from "jose";
import { first, sql } from "../db/sql-template";

/** A partner's registered public key, as the signature check needs it. */
export interface PartnerKey {
  partnerId: string;
  kid: string;
  alg: "EdDSA" | "ES256";
  key: CryptoKey;
}

/**
 * Imported keys, cached per isolate: importing is the costly part of a check. The cache never
 * decides whether a key is still valid: the request's own batch re-reads the key's and the
 * partner's status (src/auth/admission.ts), so a revocation or suspension takes effect at once.
 */
const MAX_CACHED_KEYS = 1_000;
const cache = new Map<string, PartnerKey>();

function cacheKey(partnerId: string, kid: string): string {
  return `${partnerId}\u0000${kid}`;
}

export async function loadPartnerKey(db: D1Database, partnerId: string, kid: string): Promise<PartnerKey | undefined> {
  const cached = cache.get(cacheKey(partnerId, kid));
  if (cached) return cached;
  const row = await first<{ alg: "EdDSA" | "ES256"; public_jwk: string }>(
    db,
    sql`SELECT alg, public_jwk FROM partner_keys WHERE partner_id = ${partnerId} AND kid = ${kid} AND revoked_at IS NULL`,
  );
  if (!row) return undefined;
  const key = (await importJWK(JSON.parse(row.public_jwk) as JWK, row.alg)) as CryptoKey;
  const entry: PartnerKey = { partnerId, kid, alg: row.alg, key };
  if (cache.size >= MAX_CACHED_KEYS) cache.clear();
  cache.set(cacheKey(partnerId, kid), entry);
  return entry;
}

/** Drops a key from this isolate's cache (after a revocation, to free memory early). */
export function forgetPartnerKey(partnerId: string, kid: string): void {
  cache.delete(cacheKey(partnerId, kid));
}

export interface CallerStatus {
  keyActive: boolean;
  partnerStatus: "active" | "suspended" | undefined;
  partnerName: string | undefined;
}

/** The key's and partner's status right now (used on failure paths to answer in spec order). */
export async function readCallerStatus(db: D1Database, partnerId: string, kid: string): Promise<CallerStatus> {
  const row = await first<{ key_active: number; status: "active" | "suspended"; name: string }>(
    db,
    sql`SELECT k.revoked_at IS NULL AS key_active, p.status, p.name FROM partner_keys k JOIN partners p ON p.id = k.partner_id
         WHERE k.partner_id = ${partnerId} AND k.kid = ${kid}`,
  );
  return {
    keyActive: row?.key_active === 1,
    partnerStatus: row?.status,
    partnerName: row?.name,
  };
}
