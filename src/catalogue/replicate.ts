import { first, join, raw, runBatch, type Sql, sql } from "../db/sql-template";
import type { Env } from "../env";
import { copyToShards } from "../shards/fan-out";
import { shardsOf } from "../shards/registry";

/**
 * The catalogue copied to every shard (docs/design/shards.md "Catalogue replication"): a shard
 * decides its members' writes on its own copy of the partners' settings and status, their keys
 * and rate cards, the risk rules and the coalition's settings, guarded by the copy's version.
 * A copy is main's tables read in one batch (one snapshot) and written to each shard in one batch
 * of upserts, ending with main's catalogue_version: a shard's copy is always whole, at one version.
 *
 * Nothing reads the copies yet (step 2 routes the writes to the shards); until then they are kept
 * current so that step can rely on them. Main never deletes catalogue rows (keys are revoked,
 * rate cards superseded), so upserts are the whole of a copy.
 */

interface CatalogueTable {
  table: string;
  key: readonly string[];
  /** Columns that are main's own state, never copied (a partner's funding: step 3 gives shards slices of it). */
  mainOnly?: readonly string[];
}

/** In foreign-key order: partners before what references them. */
const CATALOGUE: readonly CatalogueTable[] = [
  { table: "partners", key: ["id"], mainOnly: ["prepaid_balance_micros", "exposure_micros", "payout_due_micros"] },
  { table: "partner_keys", key: ["partner_id", "kid"] },
  { table: "rate_cards", key: ["id"] },
  { table: "risk_rule_set", key: ["id"] },
  { table: "coalition_settings", key: ["id"] },
];

/** Main's catalogue at one version, as the statements that make a shard's copy equal to it. */
export async function catalogueCopy(main: D1Database): Promise<Sql[]> {
  const [versionRow, ...tables] = await runBatch(main, [
    raw("SELECT version FROM catalogue_version WHERE id = 1"),
    ...CATALOGUE.map((t) => raw(`SELECT * FROM ${t.table}`)),
  ]);
  const version = (versionRow?.results[0] as { version: number } | undefined)?.version;
  if (version === undefined) throw new Error("catalogue_version has no row (migration 0007)");
  const statements = CATALOGUE.flatMap((t, i) => upsert(t, (tables[i]?.results ?? []) as Record<string, unknown>[]));
  statements.push(sql`UPDATE catalogue_version SET version = ${version} WHERE id = 1`);
  return statements;
}

function upsert(t: CatalogueTable, rows: Record<string, unknown>[]): Sql[] {
  const [sample] = rows;
  if (sample === undefined) return [];
  const columns = Object.keys(sample).filter((c) => !t.mainOnly?.includes(c));
  const kept = rows.map((row) => Object.fromEntries(columns.map((c) => [c, row[c]])));
  const names = raw(columns.join(", "));
  const values = join(columns.map((c) => raw(`json_extract(value, '$.${c}')`)));
  const updates = raw(
    columns
      .filter((c) => !t.key.includes(c))
      .map((c) => `${c} = excluded.${c}`)
      .join(", "),
  );
  return [
    sql`INSERT INTO ${raw(t.table)} (${names}) SELECT ${values} FROM json_each(${JSON.stringify(kept)}) WHERE true
        ON CONFLICT (${raw(t.key.join(", "))}) DO UPDATE SET ${updates}`,
  ];
}

/** Copies main's catalogue to every other shard (nothing to do at N = 1). */
export async function copyCatalogue(env: Env): Promise<void> {
  if (shardsOf(env).length === 1) return;
  await copyToShards(env, await catalogueCopy(env.DB));
}

/** The scheduled job: copies the catalogue again when a shard's copy is not at main's version (a copy that failed, or crossed an older one). */
export async function copyCatalogueWhereBehind(env: Env): Promise<{ shards_behind: number }> {
  const shards = shardsOf(env);
  if (shards.length === 1) return { shards_behind: 0 };
  const versionOf = async (db: D1Database) =>
    (await first<{ version: number }>(db, raw("SELECT version FROM catalogue_version WHERE id = 1")))?.version;
  const [main, ...others] = await Promise.all(shards.map((s) => versionOf(s.db)));
  const behind = others.filter((v) => v !== main).length;
  if (behind > 0) await copyCatalogue(env);
  return { shards_behind: behind };
}

/**
 * After an operator write that changed the catalogue: copies it to every other shard (one
 * snapshot read of main, then one batch per shard in parallel; nothing at N = 1). A copy that
 * fails leaves the committed change answered as such; the scheduled job copies it again within a minute.
 */
export async function copyCatalogueAfterChange(env: Env): Promise<void> {
  try {
    await copyCatalogue(env);
  } catch (error) {
    console.error("catalogue copy to the shards failed; the scheduled job retries", error);
  }
}
