import { CLOSED_THROUGH_SQL } from "../../../src/settlement/periods";

/**
 * Synthetic ledger history for the bench, written straight into D1 so that rows per operation can
 * be measured at realistic ledger sizes (10k and 1M transactions). The rows are those the ledger
 * itself writes (migrations/0007_one_batch.sql): posted earns of 100 points, each naming its lot
 * (`transactions.lot_id`) and with that lot; posted burns of 40 points, each consuming the lot of
 * the earn before it (`lot_movements`, kind consume); one transfer per transaction (issuer →
 * member, member → redeemed); the partner's exposure. The ledger's own triggers keep the lots'
 * `remaining` in step and write the settlement entries (settle_lot, settle_movement), with their
 * aggregates; `settled_at` is the entries' settlement time, as `insertTransaction` records it.
 * Members are HISTORY_MEMBERS synthetic ones (`mbr_hist_00000` …), not linked to any partner.
 */

/** Largest number of transactions one call writes (one D1 batch of a few INSERT … SELECT). */
export const HISTORY_CHUNK_MAX = 20_000;
/** Synthetic members that the history is spread over. */
const HISTORY_MEMBERS = 1000;
const LOT_LIFETIME_MS = 2 * 365 * 24 * 3600 * 1000;

export interface HistoryChunk {
  count: number;
  /** Booking times, ms: the k-th transaction of the chunk is booked at from + (to - from) * k / count. */
  from: number;
  to: number;
  partnerId: string;
}

export interface HistoryResult {
  transactions: number;
  earns: number;
  burns: number;
  rows_written: number;
  ms: number;
}

export async function writeHistory(db: D1Database, chunk: HistoryChunk): Promise<HistoryResult> {
  const { count, from, to, partnerId } = chunk;
  const card = await db
    .prepare(
      "SELECT id, issue_price_micros, redeem_price_micros FROM rate_cards WHERE partner_id = ?1 ORDER BY created_at DESC LIMIT 1",
    )
    .bind(partnerId)
    .first<{ id: string; issue_price_micros: number; redeem_price_micros: number }>();
  if (!card) throw new Error(`partner ${partnerId} has no rate card`);

  const earns = Math.ceil(count / 2);
  const burns = count - earns;
  // A prefix unique to this call; earn ids sort in [P e, P f), burn ids in [P b, P c).
  const prefix = `txn_h${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const e = (s: string) => `${prefix}e${s}`;
  const b = (s: string) => `${prefix}b${s}`;
  const seq = (n: number) => `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${n})`;
  const at = (k: string) => `(?2 + ((?3 - ?2) * (${k})) / ${count})`;
  const settles = `MAX(t, ${CLOSED_THROUGH_SQL})`;
  const txnColumns = `(id, type, status, partner_id, member_id, points, direction, amount_value, amount_unit, rate, multiplier,
    rate_card_id, issue_price_micros, redeem_price_micros, occurred_at, booked_at, context_ip, context_device, lot_id, settled_at)`;
  const lotBase = (await db.prepare("SELECT COALESCE(MAX(id), 0) AS n FROM lots").first<{ n: number }>())?.n ?? 0;
  const started = Date.now();
  const statements = [
    db
      .prepare(
        `INSERT OR IGNORE INTO members (id, created_at, created_by)
         ${seq(HISTORY_MEMBERS)} SELECT 'mbr_hist_' || printf('%05d', i - 1), ?1, ?2 FROM n`,
      )
      .bind(from, partnerId),
    // Earn i (1-based) is booked at 2i - 2, for member i mod HISTORY_MEMBERS, and names lot lotBase + i.
    db
      .prepare(
        `INSERT INTO transactions ${txnColumns}
         ${seq(earns)}
         SELECT ?1 || printf('%07d', i), 'earn', 'posted', ?4, 'mbr_hist_' || printf('%05d', i % ${HISTORY_MEMBERS}), 100, 1,
                '100.00', 'CNY', '1', '1', ?5, ?6, ?7, t, t, '198.51.100.' || (i % 250), 'hist-' || (i % ${HISTORY_MEMBERS}),
                ?8 + i, ${settles}
           FROM (SELECT i, ${at("2 * i - 2")} AS t FROM n)`,
      )
      .bind(e(""), from, to, partnerId, card.id, card.issue_price_micros, card.redeem_price_micros, lotBase),
    // Burn i is booked at 2i - 1, for the same member as earn i.
    db
      .prepare(
        `INSERT INTO transactions ${txnColumns}
         ${seq(Math.max(burns, 1))}
         SELECT ?1 || printf('%07d', i), 'burn', 'posted', ?4, 'mbr_hist_' || printf('%05d', i % ${HISTORY_MEMBERS}), 40, -1,
                NULL, NULL, NULL, NULL, ?5, ?6, ?7, t, t, '198.51.100.' || (i % 250), 'hist-' || (i % ${HISTORY_MEMBERS}),
                NULL, ${settles}
           FROM (SELECT i, ${at("2 * i - 1")} AS t FROM n) WHERE i <= ${burns}`,
      )
      .bind(b(""), from, to, partnerId, card.id, card.issue_price_micros, card.redeem_price_micros),
    // The earns' lots (settle_lot writes their issue entries).
    db
      .prepare(
        `INSERT INTO lots (id, member_id, issuer_id, txn_id, issue_price_micros, points, remaining, available_at, expires_at, created_at)
         SELECT lot_id, member_id, partner_id, id, issue_price_micros, points, points, booked_at, booked_at + ${LOT_LIFETIME_MS}, booked_at
           FROM transactions WHERE id >= ?1 AND id < ?2`,
      )
      .bind(e(""), `${prefix}f`),
    // Burn i consumes 40 points of earn i's lot (lot_movements_apply updates the lot, settle_movement writes the redeem entry).
    db
      .prepare(
        `INSERT INTO lot_movements (txn_id, n, lot_id, kind, points, issuer_id, redeemer_id, issue_price_micros, redeem_price_micros, at)
         SELECT t.id, 1, l.id, 'consume', t.points, l.issuer_id, t.partner_id, l.issue_price_micros, t.redeem_price_micros, t.booked_at
           FROM transactions t JOIN transactions e ON e.id = ?3 || substr(t.id, ${prefix.length + 2}) JOIN lots l ON l.id = e.lot_id
          WHERE t.id >= ?1 AND t.id < ?2`,
      )
      .bind(b(""), `${prefix}c`, e("")),
    db
      .prepare(
        `INSERT INTO transfers (txn_id, n, from_account, to_account, points, at)
         SELECT id, 1, 'issuer:' || partner_id, 'member:' || member_id, points, booked_at FROM transactions WHERE id >= ?1 AND id < ?2
         UNION ALL SELECT id, 1, 'member:' || member_id, 'redeemed:' || partner_id, points, booked_at FROM transactions
          WHERE id >= ?3 AND id < ?4`,
      )
      .bind(e(""), `${prefix}f`, b(""), `${prefix}c`),
    db
      .prepare(
        `UPDATE partners SET
           exposure_micros = exposure_micros + CASE funding_mode WHEN 'postpaid' THEN ?2 ELSE 0 END,
           prepaid_balance_micros = prepaid_balance_micros - CASE funding_mode WHEN 'prepaid' THEN ?2 ELSE 0 END
         WHERE id = ?1`,
      )
      .bind(partnerId, earns * 100 * card.issue_price_micros),
  ];
  const results = await db.batch(statements);
  return {
    transactions: count,
    earns,
    burns,
    rows_written: results.reduce((n, r) => n + (r.meta.rows_written ?? 0), 0),
    ms: Date.now() - started,
  };
}

/** How big the ledger is (COUNT(*) over the tables: fine for a bench, never for a request path). */
export async function ledgerCounts(db: D1Database): Promise<Record<string, number>> {
  const row = await db
    .prepare(
      `SELECT (SELECT COUNT(*) FROM transactions) AS transactions, (SELECT COUNT(*) FROM lots) AS lots,
              (SELECT COUNT(*) FROM lot_movements) AS lot_movements, (SELECT COUNT(*) FROM transfers) AS transfers,
              (SELECT COUNT(*) FROM settlement_entries) AS settlement_entries`,
    )
    .first<Record<string, number>>();
  return row ?? {};
}
