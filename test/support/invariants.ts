import { env } from "cloudflare:workers";
import { expect } from "vitest";

/**
 * The four invariants of economics.md, checked straight from D1 after every test that writes.
 * `now` decides time-driven states (expired holds count as released, expired lots as not
 * spendable), exactly as the API shows them.
 */
export async function checkInvariants(now = Date.now()): Promise<void> {
  const db = env.DB;
  const q = async <T>(sql: string, ...binds: unknown[]) =>
    (
      await db
        .prepare(sql)
        .bind(...binds)
        .all<T>()
    ).results;

  // 1. Postings sum to zero per transaction and overall; balances match the postings.
  expect(await q("SELECT txn_id, SUM(points) AS s FROM postings GROUP BY txn_id HAVING SUM(points) <> 0")).toEqual([]);
  expect(
    await q(
      "SELECT account FROM account_balances b WHERE points <> (SELECT COALESCE(SUM(points), 0) FROM postings p WHERE p.account = b.account)",
    ),
  ).toEqual([]);

  // Accounts agree with the lots: member:<id> = Σ remaining; held:<id> = open reservations; debt:<id> = −debt.
  expect(
    await q(`SELECT m.id FROM members m
              WHERE COALESCE((SELECT points FROM account_balances WHERE account = 'member:' || m.id), 0)
                 <> (SELECT COALESCE(SUM(remaining), 0) FROM lots WHERE member_id = m.id)
                 OR COALESCE((SELECT points FROM account_balances WHERE account = 'debt:' || m.id), 0) <> -m.debt_points
                 OR COALESCE((SELECT points FROM account_balances WHERE account = 'held:' || m.id), 0)
                 <> (SELECT COALESCE(SUM(CASE mv.kind WHEN 'reserve' THEN mv.points ELSE -mv.points END), 0)
                       FROM transactions h JOIN lot_movements mv ON mv.txn_id = h.id AND mv.kind IN ('reserve', 'release', 'capture')
                      WHERE h.member_id = m.id)`),
  ).toEqual([]);
  expect(
    await q(`SELECT 1 WHERE COALESCE((SELECT points FROM account_balances WHERE account = 'breakage'), 0)
                        <> (SELECT COALESCE(SUM(expired), 0) FROM lots)`),
  ).toEqual([]);

  // 2. available + pending + held = remaining points of the member's lots (reserved points
  //    included, expired lots excluded) − debt.
  const members = await q<{ id: string; available: number; pending: number; held: number; lots: number; debt: number }>(
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
  for (const m of members) {
    expect({ member: m.id, total: m.available + m.pending + m.held }).toEqual({ member: m.id, total: m.lots - m.debt });
  }

  // 3. No burn made available negative: every burn moved exactly its points out of lots, and
  //    no lot is overdrawn (lots.remaining >= 0 is also a CHECK).
  expect(
    await q(`SELECT t.id FROM transactions t WHERE t.type = 'burn' AND t.status IN ('posted', 'held', 'review')
              AND (SELECT COALESCE(SUM(points), 0) FROM lot_movements WHERE txn_id = t.id AND kind IN ('consume', 'reserve')) <> t.points`),
  ).toEqual([]);
  expect(await q("SELECT id FROM lots WHERE remaining < 0 OR expired < 0")).toEqual([]);

  // 4. Per issuer and in total: issued − reversed − redeemed − expired − debt repaid + debt created = outstanding.
  const issuers = await q<{ issuer: string; lhs: number; outstanding: number }>(
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
  for (const i of issuers) expect({ issuer: i.issuer, lhs: i.lhs }).toEqual({ issuer: i.issuer, lhs: i.outstanding });
  const totalDebt = await q<{ debt: number; open: number }>(
    "SELECT (SELECT COALESCE(SUM(debt_points), 0) FROM members) AS debt, (SELECT COALESCE(SUM(outstanding), 0) FROM debts) AS open",
  );
  expect(totalDebt[0]?.debt).toBe(totalDebt[0]?.open);
}
