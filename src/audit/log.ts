import { all, prepare, type Sql, sql } from "../db/sql-template";

/** The operator audit log: every change the operator makes, written in the change's own batch. */
export function auditStatement(entry: { at: number; actor: string; action: string; target: string; detail: unknown }): Sql {
  return sql`INSERT INTO audit_log (at, actor, action, target, detail)
    VALUES (${entry.at}, ${entry.actor}, ${entry.action}, ${entry.target}, ${JSON.stringify(entry.detail ?? {})})`;
}

export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  action: string;
  target: string;
  detail: string;
}

/** Newest first, keyset-paginated by id. */
export function listAudit(
  db: D1Database,
  opts: { limit: number; beforeId?: number; actor?: string; action?: string },
): Promise<AuditEntry[]> {
  return all<AuditEntry>(
    db,
    sql`SELECT id, at, actor, action, target, detail FROM audit_log
         WHERE (${opts.beforeId ?? null} IS NULL OR id < ${opts.beforeId ?? null})
           AND (${opts.actor ?? null} IS NULL OR actor = ${opts.actor ?? null})
           AND (${opts.action ?? null} IS NULL OR action = ${opts.action ?? null})
         ORDER BY id DESC LIMIT ${opts.limit}`,
  );
}

/** `auditStatement` as a D1 statement, for routes that build their batch by hand. */
export function auditPrepared(db: D1Database, entry: Parameters<typeof auditStatement>[0]): D1PreparedStatement {
  return prepare(db, auditStatement(entry));
}
