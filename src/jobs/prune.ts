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

/** jti records past their retention (iat + 600 s). */
export function pruneRequestNonces(db: D1Database, now: number, chunk = 500, maxChunks = 20): Promise<PruneResult> {
  return pruneInChunks(
    db,
    `DELETE FROM request_nonces WHERE (partner_id, jti) IN (
       SELECT partner_id, jti FROM request_nonces WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`,
    [now],
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
