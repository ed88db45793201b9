import type { Context } from "hono";
import type { RouteModule } from "../../../src/http/app";
import type { AppEnv } from "../../../src/http/context";
import { ApiError } from "../../../src/http/errors";
import { JOBS } from "../../../src/jobs/scheduled";
import { HISTORY_CHUNK_MAX, ledgerCounts, writeHistory } from "./history";
import { D1Meter } from "./meter";
import { benchSettlementClose } from "./settlement";

/**
 * The bench worker's own routes (`npm run bench` only; the production worker, src/index.ts, has
 * none of them): bare baselines that measure the platform rather than the exchange (a route doing
 * nothing, one doing a bare 2-statement D1 batch), synthetic history straight into D1, the
 * database size, copies of a stored record (to measure what one record costs on disk), a catalogue
 * change behind the isolate's back, one run of the scheduled jobs metered job by job, and the
 * settlement close hook. Only for a disposable database.
 */

function intParam(value: unknown, min: number, max: number): number | undefined {
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max ? value : undefined;
}

async function jsonBody(c: Context<AppEnv>): Promise<Record<string, unknown>> {
  try {
    return (await c.req.json()) as Record<string, unknown>;
  } catch {
    throw new ApiError("invalid_body", "the body must be a JSON object");
  }
}

const COPY_MAX = 10_000;

export const benchRoutes: RouteModule = (r) => {
  r.get("/__bench/noop", (c) => c.json({ ok: true }));

  r.get("/__bench/batch", async (c) => {
    const db = c.env.DB;
    await db.batch([db.prepare("SELECT 1"), db.prepare("SELECT 2")]);
    return c.json({ ok: true });
  });

  /**
   * The bare batch that commits: one request nonce (already expired, so the prune job removes
   * it) and a read. Every write of the exchange pays a commit; the read-only batch above does not.
   */
  r.get("/__bench/write-batch", async (c) => {
    const db = c.env.DB;
    await db.batch([
      db
        .prepare("INSERT INTO request_nonces (gen, partner_id, jti, expires_at) VALUES (0, '__bench', ?, 0)")
        .bind(crypto.randomUUID()),
      db.prepare("SELECT 1"),
    ]);
    return c.json({ ok: true });
  });

  /** Row counts of the ledger's tables. */
  r.get("/__bench/ledger", async (c) => c.json(await ledgerCounts(c.env.DB)));

  /** The database size in bytes (D1's meta.size_after of a trivial read). */
  r.get("/__bench/size", async (c) => {
    const result = await c.env.DB.prepare("SELECT 1").run();
    return c.json({ bytes: result.meta.size_after ?? null });
  });

  /** `count` (≤ HISTORY_CHUNK_MAX) synthetic posted transactions of `partner_id` booked between `from` and `to` (ms). */
  r.post("/__bench/history", async (c) => {
    const body = await jsonBody(c);
    const count = intParam(body.count, 1, HISTORY_CHUNK_MAX);
    const from = intParam(body.from, 0, Number.MAX_SAFE_INTEGER);
    const to = intParam(body.to, 0, Number.MAX_SAFE_INTEGER);
    const partnerId = typeof body.partner_id === "string" ? body.partner_id : undefined;
    if (count === undefined || from === undefined || to === undefined || to < from || partnerId === undefined) {
      throw new ApiError("invalid_body", `give count (1..${HISTORY_CHUNK_MAX}), from <= to (ms) and partner_id`);
    }
    return c.json(await writeHistory(c.env.DB, { count, from, to, partnerId }));
  });

  /**
   * `count` copies of the idempotency record (`scope`, `key`), each under a new random key of the
   * same length: the database bytes they add, divided by `count`, are what one such record costs
   * on disk (its row in the key's b-tree, at the fill a random key gives).
   */
  r.post("/__bench/copies/idempotency", async (c) => {
    const body = await jsonBody(c);
    const count = intParam(body.count, 1, COPY_MAX);
    const { scope, key } = body;
    if (count === undefined || typeof scope !== "string" || typeof key !== "string") {
      throw new ApiError("invalid_body", `give scope, key and count (1..${COPY_MAX})`);
    }
    const result = await c.env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?3)
       INSERT INTO idempotency_keys (scope, key, request_hash, response_status, format, response_body, created_at)
       SELECT k.scope, substr('c' || lower(hex(randomblob(32))), 1, length(k.key)), k.request_hash, k.response_status,
              k.format, k.response_body, k.created_at
         FROM idempotency_keys k, n WHERE k.scope = ?1 AND k.key = ?2`,
    )
      .bind(scope, key, count)
      .run();
    if ((result.meta.changes ?? 0) !== count) throw new ApiError("not_found", `no idempotency record ${scope}/${key}`);
    return c.json({ copies: count, size_after: result.meta.size_after ?? null });
  });

  /** The catalogue changes as another isolate would change it: this isolate's cache is now stale. */
  r.post("/__bench/catalogue/bump", async (c) => {
    await c.env.DB.prepare("UPDATE catalogue_version SET version = version + 1 WHERE id = 1").run();
    return c.json({ ok: true });
  });

  /** The scheduled handler's jobs, run once now as the Cron Trigger runs them, each with its own D1 meter. */
  r.post("/__bench/jobs", async (c) => {
    const now = Date.now();
    const jobs = [];
    for (const job of JOBS) {
      const meter = new D1Meter(c.env.DB);
      let result: Record<string, number> | string;
      try {
        result = await job.run({ ...c.env, DB: meter.db }, now);
      } catch (error) {
        result = error instanceof Error ? error.message : String(error);
      }
      jobs.push({ name: job.name, ...meter.totals(), result });
    }
    return c.json({ jobs });
  });

  /**
   * Settlement: N synthetic transactions with their entries in the next scheduled period, then
   * the period closed as the scheduled job would (./settlement.ts); it advances the settlement clock.
   */
  r.post("/__bench/settlement/close", async (c) => {
    const n = Number(c.req.query("transactions") ?? "10000");
    if (!Number.isSafeInteger(n) || n < 1 || n > 5_000_000)
      throw new ApiError("invalid_param", "transactions: 1 to 5000000", "transactions");
    return c.json(await benchSettlementClose(c.env, { transactions: n }));
  });
};
