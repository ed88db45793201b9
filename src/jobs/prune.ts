import { NONCE_GENERATION_MS } from "../auth/admission";

/** Bounded pruning jobs: each deletes at most `chunk` rows per statement and `maxChunks` per run. */
export interface PruneResult {
  deleted: number;
}

async function pruneInChunks(
  db: D1Database,
  sql: string,
  binds: unknown[],
  chunk: number,
  maxChunks: number,
): Promise<PruneResult> {
  let deleted = 0;
  for (let i = 0; i < maxChunks; i++) {
    const r = await db
      .prepare(sql)
      .bind(...binds, chunk)
      .run();
    deleted += r.meta.changes;
    if (r.meta.changes < chunk) break;
  }
  return { deleted };
}

/**
 * jti records past their retention (iat + 600 s): whole generations that expired (the table is
 * keyed by generation first, so this reads only the rows it deletes).
 */
export function pruneRequestNonces(db: D1Database, now: number, chunk = 500, maxChunks = 20): Promise<PruneResult> {
  return pruneInChunks(
    db,
    `DELETE FROM request_nonces WHERE (gen, partner_id, jti) IN (
       SELECT gen, partner_id, jti FROM request_nonces WHERE gen < ? ORDER BY gen LIMIT ?)`,
    [Math.floor(now / NONCE_GENERATION_MS)],
    chunk,
    maxChunks,
  );
}

/** Idempotency records older than 30 days (kept at least that long, partner-api.md §3). */
export function pruneIdempotencyKeys(
  db: D1Database,
  now: number,
  retentionMs: number,
  chunk = 500,
  maxChunks = 20,
): Promise<PruneResult> {
  return pruneInChunks(
    db,
    `DELETE FROM idempotency_keys WHERE (scope, key) IN (
       SELECT scope, key FROM idempotency_keys WHERE created_at <= ? ORDER BY created_at LIMIT ?)`,
    [now - retentionMs],
    chunk,
    maxChunks,
  );
}
