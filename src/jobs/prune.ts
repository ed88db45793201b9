import { NONCE_GENERATION_MS } from "../auth/admission";
import { all, first, runBatch, type Sql, sql } from "../db/sql-template";

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

/** Idempotency-Key claims (main, at N > 1; migration 0015) older than the records they point to are kept. */
export function pruneRequestClaims(
  db: D1Database,
  now: number,
  retentionMs: number,
  chunk = 500,
  maxChunks = 20,
): Promise<PruneResult> {
  return pruneInChunks(
    db,
    `DELETE FROM request_claims WHERE (scope, key) IN (
       SELECT scope, key FROM request_claims WHERE created_at < ? ORDER BY created_at LIMIT ?)`,
    [now - retentionMs],
    chunk,
    maxChunks,
  );
}

/** Member sessions past their expiry (they answer 401 from then on; this only reclaims the rows). */
export function pruneMemberSessions(db: D1Database, now: number, chunk = 500, maxChunks = 20): Promise<PruneResult> {
  return pruneInChunks(
    db,
    `DELETE FROM member_sessions WHERE token_hash IN (
       SELECT token_hash FROM member_sessions WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`,
    [now],
    chunk,
    maxChunks,
  );
}

/**
 * Idempotency records older than 30 days (kept at least that long, partner-api.md §3). The records
 * have no index on time (a write would pay a row for it): the job walks their key in chunks from
 * where its last run stopped (`job_cursors`), deleting what is past retention, and starts over at
 * the end. With `chunk` × `maxChunks` keys a run, a record lives its 30 days plus one lap.
 */
export async function pruneIdempotencyKeys(
  db: D1Database,
  now: number,
  retentionMs: number,
  chunk = 2_000,
  maxChunks = 5,
): Promise<PruneResult & { scanned: number }> {
  const cutoff = now - retentionMs;
  const saved = await first<{ position: string }>(db, sql`SELECT position FROM job_cursors WHERE job = ${PRUNE_JOB}`);
  let from = saved ? (JSON.parse(saved.position) as { scope: string; key: string }) : { scope: "", key: "" };
  let deleted = 0;
  let scanned = 0;
  for (let i = 0; i < maxChunks; i++) {
    const window = await all<{ scope: string; key: string }>(
      db,
      sql`SELECT scope, key FROM idempotency_keys WHERE (scope, key) > (${from.scope}, ${from.key}) ORDER BY scope, key LIMIT ${chunk}`,
    );
    const last = window[window.length - 1];
    if (!last) {
      // Past the last key: the next run starts over from the first.
      await runBatch(db, [saveCursor({ scope: "", key: "" })]);
      break;
    }
    const next = window.length === chunk ? last : { scope: "", key: "" };
    // Bounded on both sides, so the delete reads only the window's keys.
    const [removed] = await runBatch(db, [
      sql`DELETE FROM idempotency_keys WHERE (scope, key) > (${from.scope}, ${from.key})
            AND (scope, key) <= (${last.scope}, ${last.key}) AND created_at <= ${cutoff}`,
      saveCursor(next),
    ]);
    deleted += removed?.meta.changes ?? 0;
    scanned += window.length;
    from = next;
    if (window.length < chunk) break;
  }
  return { deleted, scanned };
}

const PRUNE_JOB = "prune-idempotency-keys";

function saveCursor(position: { scope: string; key: string }): Sql {
  return sql`INSERT INTO job_cursors (job, position) VALUES (${PRUNE_JOB}, ${JSON.stringify(position)})
    ON CONFLICT (job) DO UPDATE SET position = excluded.position`;
}
