import { env } from "cloudflare:workers";
import { guardViolated } from "../../src/db/guard";
import { runBatch, type Sql } from "../../src/db/sql-template";
import type { Env } from "../../src/env";
import { burnStatements } from "../../src/ledger/burn";
import { earnStatements } from "../../src/ledger/earn";
import type { FundingPlacement } from "../../src/ledger/funding";
import { earnDrawMicros, RESERVATION_TTL_MS, reserveFunding, settleReservations } from "../../src/ledger/funding-reservations";
import { memberById } from "../../src/ledger/member";
import { reversalStatements } from "../../src/ledger/reversal";
import { type Shard, shardsOf } from "../../src/shards/registry";

/**
 * Helpers of test/shards/funding-reservations.test.ts: main's funding and reservations as rows,
 * and the ledger's own statements run on a database (a shard batch in "reserved" placement, or
 * main's in_batch one), as the router will run them once writes are routed.
 */

export const shard1 = (): Shard => {
  const shard = shardsOf(env)[1];
  if (!shard) throw new Error("this file runs in the sharded project (DB + SHARD_1)");
  return shard;
};

export const PRICE = 10_000; // micros per point: 0.01
export const cny = (value: string) => ({ value, unit: "CNY" });
export const prepaid = (value: string) => ({ mode: "prepaid", balance: cny(value) });
export const postpaid = (value: string) => ({ mode: "postpaid", credit_limit: cny(value) });

export interface Funding {
  balance: number;
  exposure: number;
  payout: number;
}

export async function fundingOf(partnerId: string): Promise<Funding> {
  const row = await env.DB.prepare(
    "SELECT prepaid_balance_micros AS balance, exposure_micros AS exposure, payout_due_micros AS payout FROM partners WHERE id = ?1",
  )
    .bind(partnerId)
    .first<Funding>();
  if (!row) throw new Error(`no partner ${partnerId}`);
  return row;
}

export async function reservationsOf(partnerId: string): Promise<{ txn_id: string; micros: number; shard: number }[]> {
  const { results } = await env.DB.prepare(
    "SELECT txn_id, micros, shard FROM funding_reservations WHERE partner_id = ?1 ORDER BY txn_id",
  )
    .bind(partnerId)
    .all<{ txn_id: string; micros: number; shard: number }>();
  return results;
}

export async function drawState(db: D1Database, txnId: string): Promise<string | null> {
  return db.prepare("SELECT state FROM funding_draws WHERE txn_id = ?1").bind(txnId).first("state");
}

let seq = 0;
export const nextId = (prefix: string) => `${prefix}_fr${Date.now().toString(36)}${++seq}`;

/** Runs a reservation's batch on main; answers the guard that refused it, or "ok". */
export async function reserve(partnerId: string, micros: number, opts: { shard?: number; txnId?: string; now?: number } = {}) {
  const txnId = opts.txnId ?? nextId("txn");
  try {
    await runBatch(env.DB, reserveFunding({ txnId, partnerId, micros, shard: opts.shard ?? 1, now: opts.now ?? Date.now() }));
    return { txnId, outcome: "ok" as const };
  } catch (error) {
    const code = guardViolated(error);
    if (!code) throw error;
    return { txnId, outcome: code };
  }
}

/** Settles every reservation made so far (the job, as if RESERVATION_TTL_MS had passed). */
export const settleAll = () => settleReservations(env as Env, Date.now() + RESERVATION_TTL_MS);

// ---- The ledger's own statements on a database (a shard batch, or main's in_batch one) ----

export async function newMember(db: D1Database, createdBy: string): Promise<string> {
  const id = `mbr_fff_${nextId("m").slice(2)}`;
  await db.prepare("INSERT INTO members (id, created_at, created_by) VALUES (?1, ?2, ?3)").bind(id, Date.now(), createdBy).run();
  return id;
}

export function earnOf(
  o: { id: string; partnerId: string; memberId: string; points: number; now: number },
  funding: FundingPlacement,
  status?: Sql,
): Sql[] {
  return earnStatements({
    txn: {
      id: o.id,
      type: "earn",
      status: "posted",
      partnerId: o.partnerId,
      member: memberById(o.memberId),
      points: o.points,
      direction: 1,
      issuePriceMicros: PRICE,
      redeemPriceMicros: 8_000,
      occurredAt: o.now,
      bookedAt: o.now,
    },
    issuerId: o.partnerId,
    issuePriceMicros: PRICE,
    lotExpiresAt: o.now + 365 * 86_400_000,
    drawFunding: true,
    funding,
    ...(status ? { status } : {}),
  });
}

/**
 * An earn as the router will run it: in_batch, one batch on main; reserved, the reservation on
 * main, then the earn's batch on shard 1.
 */
export async function earnAs(
  funding: FundingPlacement,
  db: D1Database,
  o: { partnerId: string; memberId: string; points: number },
) {
  const e = { ...o, id: nextId("txn"), now: Date.now() };
  if (funding === "reserved") {
    const micros = earnDrawMicros(o.points, PRICE);
    await runBatch(env.DB, reserveFunding({ txnId: e.id, partnerId: o.partnerId, micros, shard: 1, now: e.now }));
  }
  await runBatch(db, earnOf(e, funding));
  return e.id;
}

export async function burnOn(db: D1Database, o: { partnerId: string; memberId: string; points: number }) {
  const now = Date.now();
  await runBatch(
    db,
    burnStatements({
      txn: {
        id: nextId("txn"),
        type: "burn",
        status: "posted",
        partnerId: o.partnerId,
        member: memberById(o.memberId),
        points: o.points,
        direction: -1,
        redeemPriceMicros: 8_000,
        occurredAt: now,
        bookedAt: now,
      },
      redeemerId: o.partnerId,
      redeemPriceMicros: 8_000,
    }),
  );
}

export async function reverseOn(db: D1Database, funding: FundingPlacement, originalId: string, partnerId: string) {
  const reversalId = nextId("txn");
  await runBatch(
    db,
    reversalStatements({ reversalId, originalId, partnerId, points: null, reason: null, now: Date.now(), funding }),
  );
  return reversalId;
}

export async function outbox(db: D1Database = shard1().db) {
  const { results } = await db
    .prepare("SELECT id, partner_id, micros, txn_id FROM funding_credits ORDER BY id")
    .all<{ id: number; partner_id: string; micros: number; txn_id: string }>();
  return results;
}
