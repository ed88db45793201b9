import { firstGuard, guardViolated } from "../db/guard";
import { list, runBatch, type Sql, sql } from "../db/sql-template";
import { ApiError } from "../http/errors";

/**
 * The part of a signed request's check that needs the database (partner-api.md §2): the key is
 * still registered and unrevoked, the partner is active, and the `jti` was not seen in the last
 * 600 s — then the `jti` is recorded. These statements open the request's own batch (its write,
 * or its reads), so a request that passes costs no round trip of its own; the batch's first
 * failing guard answers in the contract's order (unknown_key, partner_suspended, replayed_request).
 * A request whose batch fails for another reason (a business outcome to store, a replay) takes
 * the statements again into the batch that answers it, so every request that passed the checks
 * has its `jti` recorded, and none that failed one.
 */

/** Nonces are kept in generations of their expiry (migrations/0007_one_batch.sql). */
export const NONCE_GENERATION_MS = 300_000;
/** A jti in force at `now` expires within this much of it (its iat ≤ now + 300 s, kept 600 s past). */
const NONCE_HORIZON_MS = 900_000;

export interface Admission {
  partnerId: string;
  kid: string;
  jti: string;
  /** When the jti may be used again (ms): iat + 600 s, or now + 600 s when iat is in the past. */
  nonceExpiresAt: number;
  now: number;
}

/** The generations a jti in force at `now` can sit in. */
export function nonceGenerations(now: number): number[] {
  const first = Math.floor(now / NONCE_GENERATION_MS);
  const last = Math.floor((now + NONCE_HORIZON_MS) / NONCE_GENERATION_MS);
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

export function admissionStatements(a: Admission): Sql[] {
  return [
    firstGuard([
      [
        "unknown_key",
        sql`NOT EXISTS (SELECT 1 FROM partner_keys WHERE partner_id = ${a.partnerId} AND kid = ${a.kid} AND revoked_at IS NULL)`,
      ],
      ["partner_suspended", sql`NOT EXISTS (SELECT 1 FROM partners WHERE id = ${a.partnerId} AND status = 'active')`],
      [
        "replayed_request",
        sql`EXISTS (SELECT 1 FROM request_nonces WHERE gen IN ${list(nonceGenerations(a.now))} AND partner_id = ${a.partnerId}
              AND jti = ${a.jti} AND expires_at > ${a.now})`,
      ],
    ]),
    sql`INSERT INTO request_nonces (gen, partner_id, jti, expires_at)
      VALUES (${Math.floor(a.nonceExpiresAt / NONCE_GENERATION_MS)}, ${a.partnerId}, ${a.jti}, ${a.nonceExpiresAt})
      ON CONFLICT (gen, partner_id, jti) DO UPDATE SET expires_at = excluded.expires_at`,
  ];
}

const ADMISSION_ERRORS = {
  unknown_key: () => new ApiError("unknown_key", "no active key with this kid for this partner"),
  partner_suspended: () => new ApiError("partner_suspended", "this partner is suspended"),
  replayed_request: () => new ApiError("replayed_request", "this jti was already used"),
} as const;

/** The authentication error a batch's admission guard raised, or undefined. */
export function admissionError(error: unknown): ApiError | undefined {
  const code = guardViolated(error);
  return code !== undefined && code in ADMISSION_ERRORS ? ADMISSION_ERRORS[code as keyof typeof ADMISSION_ERRORS]() : undefined;
}

/** The checks on their own (a request that writes nothing, or failed after the checks): one round trip. */
export async function admit(db: D1Database, a: Admission): Promise<void> {
  try {
    await runBatch(db, admissionStatements(a));
  } catch (error) {
    throw admissionError(error) ?? error;
  }
}
