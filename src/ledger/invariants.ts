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

  // 1. Every transaction's postings sum to zero: each transfer is two postings of opposite sign, so
  //    it holds by construction; what is checked is that the transfers are well formed and that
  //    every account's balance (a sum over transfers) agrees with the lots, holds and debts.
  each(
    "1",
    "transfers move points between two different accounts",
    await rows(db, "SELECT txn_id, n FROM transfers WHERE from_account = to_account OR points = 0"),
  );

  // Accounts agree with the lots: member:<id> = Σ remaining; held:<id> = open reservations; debt:<id> = −debt.
  const balances = `WITH bal AS MATERIALIZED (
      SELECT account, SUM(p) AS points FROM (SELECT to_account AS account, points AS p FROM transfers
                                             UNION ALL SELECT from_account, -points FROM transfers) GROUP BY account)`;
  const balance = (account: string) => `COALESCE((SELECT points FROM bal WHERE account = ${account}), 0)`;
  each(
    "accounts",
    "member, held and debt accounts agree with lots, reservations and debt",
    await rows(
      db,
      `${balances} SELECT m.id FROM members m
        WHERE ${balance("'member:' || m.id")} <> (SELECT COALESCE(SUM(remaining), 0) FROM lots WHERE member_id = m.id)
           OR ${balance("'debt:' || m.id")} <> -m.debt_points
           OR ${balance("'held:' || m.id")}
           <> (SELECT COALESCE(SUM(CASE mv.kind WHEN 'reserve' THEN mv.points ELSE -mv.points END), 0)
                 FROM transactions h JOIN lot_movements mv ON mv.txn_id = h.id AND mv.kind IN ('reserve', 'release', 'capture')
                WHERE h.member_id = m.id)`,
    ),
  );
  each(
    "accounts",
    "breakage equals the expired points of all lots",
    await rows(db, `${balances} SELECT 1 WHERE ${balance("'breakage'")} <> (SELECT COALESCE(SUM(expired), 0) FROM lots)`),
  );
  each(
    "1",
    "all accounts together sum to zero",
    await rows(
      db,
      `SELECT s FROM (SELECT SUM(b) AS s FROM (
         SELECT SUM(points) AS b FROM transfers GROUP BY to_account
         UNION ALL SELECT -SUM(points) FROM transfers GROUP BY from_account)) WHERE s <> 0`,
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
  // The counts the hot path reads instead of sums (migrations/0010) agree with the lots.
  each(
    "accounts",
    "a lot is live exactly when points remain on it",
    await rows(db, "SELECT id FROM lots WHERE live <> (remaining > 0)"),
  );
  each(
    "accounts",
    "a member's lot_points is the sum of its lots' remaining points",
    await rows(
      db,
      `SELECT id, lot_points, lots FROM (SELECT m.id, m.lot_points,
         (SELECT COALESCE(SUM(remaining), 0) FROM lots WHERE member_id = m.id) AS lots FROM members m) WHERE lot_points <> lots`,
    ),
  );

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
