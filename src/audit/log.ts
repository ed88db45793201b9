/** The operator audit log: every change the operator makes, written in the change's own batch. */
export function auditStatement(
  db: D1Database,
  entry: { at: number; actor: string; action: string; target: string; detail: unknown },
): D1PreparedStatement {
  return db
    .prepare("INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)")
    .bind(entry.at, entry.actor, entry.action, entry.target, JSON.stringify(entry.detail ?? {}));
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
export async function listAudit(
  db: D1Database,
  opts: { limit: number; beforeId?: number; actor?: string; action?: string },
): Promise<AuditEntry[]> {
  const result = await db
    .prepare(
      `SELECT id, at, actor, action, target, detail FROM audit_log
        WHERE (?1 IS NULL OR id < ?1) AND (?2 IS NULL OR actor = ?2) AND (?3 IS NULL OR action = ?3)
        ORDER BY id DESC LIMIT ?4`,
    )
    .bind(opts.beforeId ?? null, opts.actor ?? null, opts.action ?? null, opts.limit)
    .all<AuditEntry>();
  return result.results;
}
