import type { Context } from "hono";
import { benchSettlementClose } from "../settlement/bench";
import type { RouteModule } from "./app";
import type { AppEnv } from "./context";
import { ApiError } from "./errors";

/**
 * Routes for `npm run bench`, only when BENCH_ROUTES = "1" (everywhere else they answer the
 * app's 404): bare baselines that measure the platform, not the exchange (a route doing nothing,
 * one doing a bare 2-statement D1 batch), and tools that fill the ledger with synthetic history
 * directly in D1 so the bench can measure at realistic ledger sizes.
 */

/** Largest number of transactions one history call writes (one D1 batch, a few statements). */
export const HISTORY_CHUNK_MAX = 20_000;
/** Synthetic members that the history is spread over (`mbr_hist_00000` …). */
const HISTORY_MEMBERS = 1000;
const LOT_LIFETIME_MS = 2 * 365 * 24 * 3600 * 1000;

function enabled(c: Context<AppEnv>): boolean {
  return c.env.BENCH_ROUTES === "1";
}

function intParam(value: unknown, min: number, max: number): number | undefined {
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max ? value : undefined;
}

export const benchRoutes: RouteModule = (r) => {
  // Synthetic load for one period, then a timed close.
  r.post("/__bench/settlement/close", async (c) => {
    if (c.env.BENCH_ROUTES !== "1") return c.notFound();
    const n = Number(c.req.query("transactions") ?? "10000");
    if (!Number.isSafeInteger(n) || n < 1 || n > 5_000_000)
      throw new ApiError("invalid_param", "transactions: 1 to 5000000", "transactions");
    return c.json(await benchSettlementClose(c.env, { transactions: n }));
  });
  r.get("/__bench/noop", (c) => {
    if (!enabled(c)) return c.notFound();
    return c.json({ ok: true });
  });

  r.get("/__bench/batch", async (c) => {
    if (!enabled(c)) return c.notFound();
    const db = c.env.DB;
    await db.batch([db.prepare("SELECT 1"), db.prepare("SELECT 2")]);
    return c.json({ ok: true });
  });

  /** How big the ledger is. */
  r.get("/__bench/ledger", async (c) => {
    if (!enabled(c)) return c.notFound();
    const row = await c.env.DB.prepare(
      `SELECT (SELECT COUNT(*) FROM transactions) AS transactions, (SELECT COUNT(*) FROM lots) AS lots,
              (SELECT COUNT(*) FROM lot_movements) AS lot_movements, (SELECT COUNT(*) FROM transfers) AS transfers`,
    ).first<Record<string, number>>();
    return c.json(row ?? {});
  });

  /**
   * Writes `count` (≤ HISTORY_CHUNK_MAX) synthetic posted transactions of `partner_id`, booked
   * evenly between `from` and `to` (ms): earns of 100 points (a lot each) and burns of 40 points
   * that consume the lot of the earn before them, over HISTORY_MEMBERS synthetic members, with
   * their lot movements and transfers (the ledger's triggers keep lots in step and write the
   * settlement entries) and the partner's exposure. One atomic batch of INSERT … SELECT statements
   * over a recursive CTE. The caller loops for more.
   */
  r.post("/__bench/history", async (c) => {
    if (!enabled(c)) return c.notFound();
    let body: Record<string, unknown>;
    try {
      body = (await c.req.json()) as Record<string, unknown>;
    } catch {
      return c.json({ error: "body must be JSON" }, 400);
    }
    const count = intParam(body.count, 1, HISTORY_CHUNK_MAX);
    const from = intParam(body.from, 0, Number.MAX_SAFE_INTEGER);
    const to = intParam(body.to, 0, Number.MAX_SAFE_INTEGER);
    const partnerId = typeof body.partner_id === "string" ? body.partner_id : undefined;
    if (count === undefined || from === undefined || to === undefined || to < from || partnerId === undefined) {
      return c.json({ error: `give count (1..${HISTORY_CHUNK_MAX}), from <= to (ms) and partner_id` }, 400);
    }
    const db = c.env.DB;
    const card = await db
      .prepare(
        "SELECT id, issue_price_micros, redeem_price_micros FROM rate_cards WHERE partner_id = ?1 ORDER BY created_at DESC LIMIT 1",
      )
      .bind(partnerId)
      .first<{ id: string; issue_price_micros: number; redeem_price_micros: number }>();
    if (!card) return c.json({ error: `partner ${partnerId} has no rate card` }, 400);

    const earns = Math.ceil(count / 2);
    const burns = count - earns;
    // A prefix unique to this call; earn ids sort in [P e, P f), burn ids in [P b, P c).
    const prefix = `txn_h${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
    const e = (s: string) => `${prefix}e${s}`;
    const b = (s: string) => `${prefix}b${s}`;
    const seq = (n: number) => `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${n})`;
    // The k-th transaction of the call (0-based) is booked at from + (to - from) * k / count.
    const at = (k: string) => `(?2 + ((?3 - ?2) * (${k})) / ${count})`;
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
      db
        .prepare(
          `INSERT INTO transactions ${txnColumns}
           ${seq(earns)}
           SELECT ?1 || printf('%07d', i), 'earn', 'posted', ?4, 'mbr_hist_' || printf('%05d', i % ${HISTORY_MEMBERS}), 100, 1,
                  '100.00', 'CNY', '1', '1', ?5, ?6, ?7, t, t, '198.51.100.' || (i % 250), 'hist-' || (i % ${HISTORY_MEMBERS}),
                  ?8 + i, t
             FROM (SELECT i, ${at("2 * i - 2")} AS t FROM n)`,
        )
        .bind(e(""), from, to, partnerId, card.id, card.issue_price_micros, card.redeem_price_micros, lotBase),
      db
        .prepare(
          `INSERT INTO transactions ${txnColumns}
           ${seq(Math.max(burns, 1))}
           SELECT ?1 || printf('%07d', i), 'burn', 'posted', ?4, 'mbr_hist_' || printf('%05d', i % ${HISTORY_MEMBERS}), 40, -1,
                  NULL, NULL, NULL, NULL, ?5, ?6, ?7, t, t, '198.51.100.' || (i % 250), 'hist-' || (i % ${HISTORY_MEMBERS}),
                  NULL, t
             FROM (SELECT i, ${at("2 * i - 1")} AS t FROM n) WHERE i <= ${burns}`,
        )
        .bind(b(""), from, to, partnerId, card.id, card.issue_price_micros, card.redeem_price_micros),
      db
        .prepare(
          `INSERT INTO lots (id, member_id, issuer_id, txn_id, issue_price_micros, points, remaining, available_at, expires_at, created_at)
           SELECT lot_id, member_id, partner_id, id, issue_price_micros, points, points, booked_at, booked_at + ${LOT_LIFETIME_MS}, booked_at
             FROM transactions WHERE id >= ?1 AND id < ?2`,
        )
        .bind(e(""), `${prefix}f`),
      db
        .prepare(
          `INSERT INTO lot_movements (txn_id, lot_id, kind, points, issuer_id, redeemer_id, issue_price_micros, redeem_price_micros, at)
           SELECT t.id, l.id, 'consume', t.points, l.issuer_id, t.partner_id, l.issue_price_micros, t.redeem_price_micros, t.booked_at
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
    const written = results.reduce((n, r) => n + (r.meta.rows_written ?? 0), 0);
    return c.json({
      transactions: count,
      earns,
      burns,
      rows_written: written,
      settlement_entries: "written",
      ms: Date.now() - started,
    });
  });
};
