import { env } from "cloudflare:workers";

/**
 * Snapshots of every application table (from sqlite_master, so tables added by later migrations
 * are covered without touching this file), to prove that a rejected or failed request wrote
 * nothing. Internal tables (sqlite_*, D1's _cf_*, the migrations journal) are left out; so is
 * `guard`, which no committed batch can ever leave a row in.
 */

const INTERNAL = /^(sqlite_|_cf_|d1_migrations$|guard$)/;

/** Names of the application tables, sorted. */
export async function tableNames(db: D1Database = env.DB): Promise<string[]> {
  const { results } = await db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    .all<{ name: string }>();
  return results.map((r) => r.name).filter((name) => !INTERNAL.test(name));
}

function quoted(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export type RowCounts = Record<string, number>;

/** Row count of every application table, read in one batch (one consistent moment). */
export async function rowCounts(db: D1Database = env.DB): Promise<RowCounts> {
  const names = await tableNames(db);
  const results = await db.batch(names.map((name) => db.prepare(`SELECT COUNT(*) AS n FROM ${quoted(name)}`)));
  const counts: RowCounts = {};
  names.forEach((name, i) => {
    counts[name] = (results[i]?.results?.[0] as { n: number } | undefined)?.n ?? 0;
  });
  return counts;
}

/** Per table, `after − before` for the tables whose count changed (tables new in `after` count from 0). */
export function countChanges(before: RowCounts, after: RowCounts): Record<string, number> {
  const changes: Record<string, number> = {};
  for (const name of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const delta = (after[name] ?? 0) - (before[name] ?? 0);
    if (delta !== 0) changes[name] = delta;
  }
  return changes;
}

export type TableDigests = Record<string, string>;

/**
 * A digest of every application table's full content (row order independent), so that an UPDATE
 * (a partner's exposure, a lot's remaining, a member's debt) is caught as well as an INSERT or
 * DELETE. Meant for the small per-file test databases.
 */
export async function tableDigests(db: D1Database = env.DB, opts: { except?: readonly string[] } = {}): Promise<TableDigests> {
  const names = (await tableNames(db)).filter((n) => !opts.except?.includes(n));
  const results = await db.batch(names.map((name) => db.prepare(`SELECT * FROM ${quoted(name)}`)));
  const digests: TableDigests = {};
  for (const [i, name] of names.entries()) {
    const rows = (results[i]?.results ?? []).map((row) => JSON.stringify(row)).sort();
    const bytes = new TextEncoder().encode(rows.join("\n"));
    const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    digests[name] = `${rows.length}:${Array.from(hash.slice(0, 12), (b) => b.toString(16).padStart(2, "0")).join("")}`;
  }
  return digests;
}

/** Names of the tables whose content differs between two digests. */
export function changedTables(before: TableDigests, after: TableDigests): string[] {
  return [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((n) => before[n] !== after[n]).sort();
}

/**
 * Table digests kept between requests that must not write: after a rejected request the tables
 * are read again (and compared), and that reading is the "before" of the next request, so a
 * fuzz run reads the tables once, not twice. Invalidate after anything that may write.
 */
export class DigestCache {
  private cached: TableDigests | undefined;

  constructor(
    private readonly except: readonly string[] = [],
    private readonly db: D1Database = env.DB,
  ) {}

  async current(): Promise<TableDigests> {
    this.cached ??= await tableDigests(this.db, { except: this.except });
    return this.cached;
  }

  async fresh(): Promise<TableDigests> {
    this.cached = await tableDigests(this.db, { except: this.except });
    return this.cached;
  }

  invalidate(): void {
    this.cached = undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Fault injection: triggers a test arms so that a statement fails in the middle of a batch
// ---------------------------------------------------------------------------------------------

export const FAULT_MESSAGE = "injected fault";
export type WriteOp = "INSERT" | "UPDATE" | "DELETE";

/**
 * Arms `BEFORE <op> ON <table>` triggers that abort any statement writing `table` (directly or
 * from another trigger), as a failing disk or a constraint would: D1 answers the batch with an
 * error and must roll all of it back. Disarm with `disarmFaults`.
 */
export async function armFault(
  table: string,
  ops: readonly WriteOp[] = ["INSERT", "UPDATE", "DELETE"],
  db: D1Database = env.DB,
): Promise<void> {
  for (const op of ops) {
    const name = quoted(`fault_${table}_${op.toLowerCase()}`);
    await db.exec(`CREATE TRIGGER ${name} BEFORE ${op} ON ${quoted(table)} BEGIN SELECT RAISE(ABORT, '${FAULT_MESSAGE}'); END`);
  }
}

/** Drops every trigger `armFault` created. */
export async function disarmFaults(db: D1Database = env.DB): Promise<void> {
  const { results } = await db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'fault\\_%' ESCAPE '\\'")
    .all<{ name: string }>();
  for (const { name } of results) await db.exec(`DROP TRIGGER IF EXISTS ${quoted(name)}`);
}
