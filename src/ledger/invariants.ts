/**
 * The four invariants of economics.md as SQL over the ledger's tables, shared by the tests
 * (test/support/invariants.ts, against env.DB) and the bank test (scripts/soak/, against D1 or
 * a read-only copy of the local D1 file). `now` (ms) decides time-driven states (expired holds
 * count as released, expired lots as not spendable), exactly as the API shows them.
 *
 * Uses only `prepare(sql).bind(...).all()`, so a D1Database and a thin adapter over node:sqlite
 * both fit; no Workers types, so Node scripts can import it.
 */

/** What the invariant checks need of a database: D1's `prepare().bind().all()`. */
export interface SqlQueryable {
  prepare(query: string): { bind(...values: unknown[]): { all<T = Record<string, unknown>>(): Promise<{ results: T[] }> } };
}

export interface InvariantViolation {
  /** Which invariant of economics.md (1-4), or the accounts' agreement with lots and postings. */
  invariant: "1" | "2" | "3" | "4" | "accounts";
  check: string;
  /** The offending row(s), as the query returned them. */
  detail: unknown;
}

async function rows<T>(db: SqlQueryable, sql: string, ...binds: unknown[]): Promise<T[]> {
  return (
    await db
      .prepare(sql)
      .bind(...binds)
      .all<T>()
  ).results;
}

/** Every violation of the ledger invariants at `now`; empty when the ledger is consistent. */
export async function ledgerInvariantViolations(db: SqlQueryable, now: number = Date.now()): Promise<InvariantViolation[]> {
  const out: InvariantViolation[] = [];
  const each = (invariant: InvariantViolation["invariant"], check: string, found: unknown[]) => {
    for (const detail of found) out.push({ invariant, check, detail });
  };

  // 1. Postings sum to zero per transaction and overall; balances match the postings.
  each(
    "1",
    "postings of a transaction sum to zero",
    await rows(db, "SELECT txn_id, SUM(points) AS s FROM postings GROUP BY txn_id HAVING SUM(points) <> 0"),
  );
  each(
    "1",
    "account balances equal the sum of their postings",
    await rows(
      db,
      "SELECT account FROM account_balances b WHERE points <> (SELECT COALESCE(SUM(points), 0) FROM postings p WHERE p.account = b.account)",
    ),
  );

  // Accounts agree with the lots: member:<id> = Σ remaining; held:<id> = open reservations; debt:<id> = −debt.
  each(
    "accounts",
    "member, held and debt accounts agree with lots, reservations and debt",
    await rows(
      db,
      `SELECT m.id FROM members m
        WHERE COALESCE((SELECT points FROM account_balances WHERE account = 'member:' || m.id), 0)
           <> (SELECT COALESCE(SUM(remaining), 0) FROM lots WHERE member_id = m.id)
           OR COALESCE((SELECT points FROM account_balances WHERE account = 'debt:' || m.id), 0) <> -m.debt_points
           OR COALESCE((SELECT points FROM account_balances WHERE account = 'held:' || m.id), 0)
           <> (SELECT COALESCE(SUM(CASE mv.kind WHEN 'reserve' THEN mv.points ELSE -mv.points END), 0)
                 FROM transactions h JOIN lot_movements mv ON mv.txn_id = h.id AND mv.kind IN ('reserve', 'release', 'capture')
                WHERE h.member_id = m.id)`,
    ),
  );
  each(
    "accounts",
    "breakage equals the expired points of all lots",
    await rows(
      db,
      `SELECT 1 WHERE COALESCE((SELECT points FROM account_balances WHERE account = 'breakage'), 0)
                   <> (SELECT COALESCE(SUM(expired), 0) FROM lots)`,
    ),
  );

  // 2. available + pending + held = remaining points of the member's lots (reserved points
  //    included, expired lots excluded) − debt.
  const members = await rows<{ id: string; available: number; pending: number; held: number; lots: number; debt: number }>(
    db,
    `SELECT m.id, m.debt_points AS debt,
       (SELECT COALESCE(SUM(remaining), 0) FROM lots WHERE member_id = m.id AND available_at <= ?1 AND expires_at > ?1)
         + (SELECT COALESCE(SUM(mv.points), 0) FROM transactions h JOIN lot_movements mv ON mv.txn_id = h.id AND mv.kind = 'reserve'
             JOIN lots l ON l.id = mv.lot_id WHERE h.member_id = m.id AND h.status = 'held' AND h.expires_at <= ?1 AND l.expires_at > ?1)
         - m.debt_points AS available,
       (SELECT COALESCE(SUM(remaining), 0) FROM lots WHERE member_id = m.id AND available_at > ?1 AND expires_at > ?1) AS pending,
       (SELECT COALESCE(SUM(points), 0) FROM transactions
         WHERE member_id = m.id AND ((status = 'held' AND expires_at > ?1) OR (status = 'review' AND type = 'burn'))) AS held,
       (SELECT COALESCE(SUM(remaining), 0) FROM lots WHERE member_id = m.id AND expires_at > ?1)
         -- reserved by open holds and review burns: held, whatever their lots' expiry
         + (SELECT COALESCE(SUM(mv.points), 0) FROM transactions h JOIN lot_movements mv ON mv.txn_id = h.id AND mv.kind = 'reserve'
             WHERE h.member_id = m.id AND ((h.status = 'held' AND h.expires_at > ?1) OR h.status = 'review'))
         -- reserved by holds past their expiry, not yet voided by a job: back on their unexpired lots
         + (SELECT COALESCE(SUM(mv.points), 0) FROM transactions h JOIN lot_movements mv ON mv.txn_id = h.id AND mv.kind = 'reserve'
             JOIN lots l ON l.id = mv.lot_id WHERE h.member_id = m.id AND h.status = 'held' AND h.expires_at <= ?1 AND l.expires_at > ?1) AS lots
     FROM members m`,
    now,
  );
  each(
    "2",
    "available + pending + held = remaining lot points − debt",
    members
      .filter((m) => m.available + m.pending + m.held !== m.lots - m.debt)
      .map((m) => ({ member: m.id, total: m.available + m.pending + m.held, expected: m.lots - m.debt })),
  );

  // 3. No burn made available negative: every burn moved exactly its points out of lots, and
  //    no lot is overdrawn (lots.remaining >= 0 is also a CHECK).
  each(
    "3",
    "every burn moved exactly its points out of lots",
    await rows(
      db,
      `SELECT t.id FROM transactions t WHERE t.type = 'burn' AND t.status IN ('posted', 'held', 'review')
        AND (SELECT COALESCE(SUM(points), 0) FROM lot_movements WHERE txn_id = t.id AND kind IN ('consume', 'reserve')) <> t.points`,
    ),
  );
  each("3", "no lot is overdrawn", await rows(db, "SELECT id FROM lots WHERE remaining < 0 OR expired < 0"));

  // 4. Per issuer and in total: issued − reversed − redeemed − expired − debt repaid + debt created = outstanding.
  const issuers = await rows<{ issuer: string; lhs: number; outstanding: number }>(
    db,
    `WITH issuers AS (SELECT DISTINCT issuer_id AS issuer FROM lots)
     SELECT i.issuer,
       (SELECT COALESCE(SUM(points), 0) FROM lots WHERE issuer_id = i.issuer)
       - (SELECT COALESCE(SUM(r.points), 0) FROM transactions r JOIN transactions e ON e.id = r.original_id
            WHERE r.type = 'reversal' AND e.type IN ('earn', 'adjustment') AND e.partner_id = i.issuer)
       - (SELECT COALESCE(SUM(CASE kind WHEN 'restore' THEN -points ELSE points END), 0) FROM lot_movements
            WHERE issuer_id = i.issuer AND kind IN ('consume', 'capture', 'restore'))
       - (SELECT COALESCE(SUM(CASE kind WHEN 'unexpire' THEN -points ELSE points END), 0) FROM lot_movements
            WHERE issuer_id = i.issuer AND kind IN ('expire', 'unexpire'))
       - (SELECT COALESCE(SUM(points), 0) FROM lot_movements WHERE issuer_id = i.issuer AND kind = 'repay')
       + (SELECT COALESCE(SUM(r.points), 0) - COALESCE(SUM((SELECT COALESCE(SUM(points), 0) FROM lot_movements
              WHERE txn_id = r.id AND kind IN ('take_back', 'unexpire'))), 0)
            FROM transactions r JOIN transactions e ON e.id = r.original_id
           WHERE r.type = 'reversal' AND e.type = 'earn' AND e.partner_id = i.issuer) AS lhs,
       (SELECT COALESCE(SUM(remaining), 0) FROM lots WHERE issuer_id = i.issuer)
       + (SELECT COALESCE(SUM(CASE kind WHEN 'reserve' THEN points ELSE -points END), 0) FROM lot_movements
            WHERE issuer_id = i.issuer AND kind IN ('reserve', 'release', 'capture')) AS outstanding
     FROM issuers i`,
  );
  each(
    "4",
    "issued − reversed − redeemed − expired − debt repaid + debt created = outstanding, per issuer",
    issuers.filter((i) => i.lhs !== i.outstanding).map((i) => ({ issuer: i.issuer, lhs: i.lhs, outstanding: i.outstanding })),
  );
  const totalDebt = await rows<{ debt: number; open: number }>(
    db,
    "SELECT (SELECT COALESCE(SUM(debt_points), 0) FROM members) AS debt, (SELECT COALESCE(SUM(outstanding), 0) FROM debts) AS open",
  );
  each(
    "4",
    "members' debt equals the open debts",
    totalDebt.filter((t) => t.debt !== t.open),
  );
  return out;
}
