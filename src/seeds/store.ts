import { first, runBatch, sql } from "../db/sql-template";
import { toRfc3339 } from "../db/time";
import { ApiError } from "../http/errors";

/**
 * One-time seeds (migrations/0006_seeds.sql): a record that a named seed ran on this database,
 * so that it runs once per database however often the tool that seeds restarts. `npm start`
 * records `demo-coalition` when its demo seed is done; deleting the record asks for the seed again.
 */

interface SeedRow {
  name: string;
  seeded_at: number;
  seeded_by: string;
  detail: string;
}

export function renderSeed(row: SeedRow) {
  return { name: row.name, seeded_at: toRfc3339(row.seeded_at), seeded_by: row.seeded_by, detail: JSON.parse(row.detail) };
}

export async function getSeed(db: D1Database, name: string): Promise<SeedRow | null> {
  return first<SeedRow>(db, sql`SELECT name, seeded_at, seeded_by, detail FROM seeds WHERE name = ${name}`);
}

export function seedNotFound(name: string): ApiError {
  return new ApiError("seed_not_found", `no seed ${name} has been recorded on this database`, "name");
}

/** Records that the seed ran, unless a record exists (kept as it is); `created` says which. */
export async function recordSeed(
  db: D1Database,
  seed: { name: string; detail: Record<string, unknown>; actor: string; now: number },
): Promise<{ row: SeedRow; created: boolean }> {
  const { name, detail, actor, now } = seed;
  const [insert] = await runBatch(db, [
    sql`INSERT INTO seeds (name, seeded_at, seeded_by, detail) VALUES (${name}, ${now}, ${actor}, ${JSON.stringify(detail)})
        ON CONFLICT (name) DO NOTHING`,
    // Audited only when this request recorded it: changes() is the INSERT's, in the same batch.
    sql`INSERT INTO audit_log (at, actor, action, target, detail)
        SELECT ${now}, ${actor}, 'seed.record', ${name}, ${JSON.stringify({ detail })} WHERE changes() = 1`,
  ]);
  const row = await getSeed(db, name);
  if (!row) throw new Error(`seed ${name} was not stored`);
  return { row, created: insert?.meta.changes === 1 };
}

/** Deletes the seed's record, audited; the record that was deleted, or seed_not_found. */
export async function forgetSeed(db: D1Database, seed: { name: string; actor: string; now: number }): Promise<SeedRow> {
  const { name, actor, now } = seed;
  const [deleted] = await runBatch(db, [
    sql`DELETE FROM seeds WHERE name = ${name} RETURNING name, seeded_at, seeded_by, detail`,
    sql`INSERT INTO audit_log (at, actor, action, target, detail)
        SELECT ${now}, ${actor}, 'seed.delete', ${name}, '{}' WHERE changes() = 1`,
  ]);
  const row = deleted?.results[0] as SeedRow | undefined;
  if (!row) throw seedNotFound(name);
  return row;
}
