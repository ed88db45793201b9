import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { runBatch, type Sql, sql } from "../../src/db/sql-template";
import type { Env } from "../../src/env";
import { JOBS } from "../../src/jobs/scheduled";
import type { FundingPlacement } from "../../src/ledger/funding";
import { APPLIED_RECORD_MS, applyFundingCredits } from "../../src/ledger/funding-credits";
import {
  CANCELLED_KEEP_MS,
  earnDrawMicros,
  newFundingDrawId,
  RESERVATION_TTL_MS,
  releaseReservation,
  reservationLapsed,
  reserveFunding,
  settleReservations,
} from "../../src/ledger/funding-reservations";
import { approveStatements, getReviewTransaction } from "../../src/risk/reviews";
import { failingBatches } from "../support/d1-calls";
import { createPartner } from "../support/exchange";
import { inBatchExamples } from "../support/funding-examples";
import {
  burnOn,
  drawState,
  earnAs,
  earnOf,
  fundingOf,
  newMember,
  nextId,
  outbox,
  PRICE,
  postpaid,
  prepaid,
  reservationsOf,
  reserve,
  reverseOn,
  settleAll,
  shard1,
} from "../support/funding-ledger";
import { runScheduledJobs } from "../support/jobs";
import { armFault, changedTables, disarmFaults, tableDigests } from "../support/row-counts";
import fixture from "./in-batch-statements.json";

/**
 * Funding across shards (docs/design/shards.md "Funding") at N = 2: main reserves an earn's
 * funding before the shard's batch, the shard records the draw, a job settles each reservation
 * from that record (given back exactly, or kept); credits decided on a shard go through its
 * outbox and reach main exactly once. Member writes are not routed yet, so the shard batches
 * here are the ledger's own statements run on SHARD_1.
 */

afterEach(async () => {
  await disarmFaults(env.DB);
});

// ---------------------------------------------------------------------------------------------

describe("reserving funding on main", () => {
  it("concurrent reservations from both shards never pass a prepaid deposit: exact balance, every refusal partner_funds_exhausted", async () => {
    const p = await createPartner({ funding: prepaid("1.00") }); // 1,000,000 micros
    const tries = await Promise.all(Array.from({ length: 30 }, (_, i) => reserve(p.id, 70_000, { shard: i % 2 })));
    const ok = tries.filter((t) => t.outcome === "ok");
    expect(ok).toHaveLength(14);
    expect(new Set(tries.filter((t) => t.outcome !== "ok").map((t) => t.outcome))).toEqual(new Set(["partner_funds_exhausted"]));
    expect(await fundingOf(p.id)).toEqual({ balance: 20_000, exposure: 0, payout: 0 });
    const held = await reservationsOf(p.id);
    expect(held.map((r) => r.txn_id).sort()).toEqual(ok.map((t) => t.txnId).sort());
    expect(held.reduce((s, r) => s + r.micros, 0)).toBe(980_000);
    await settleAll();
  });

  it("concurrent reservations never pass a postpaid credit limit", async () => {
    const p = await createPartner({ funding: postpaid("1.00") });
    const tries = await Promise.all(Array.from({ length: 30 }, (_, i) => reserve(p.id, 70_000, { shard: i % 2 })));
    expect(tries.filter((t) => t.outcome === "ok")).toHaveLength(14);
    expect(new Set(tries.filter((t) => t.outcome !== "ok").map((t) => t.outcome))).toEqual(new Set(["partner_credit_limit"]));
    expect(await fundingOf(p.id)).toEqual({ balance: 0, exposure: 980_000, payout: 0 });
    // Up to the limit exactly, not one micro past it.
    expect((await reserve(p.id, 20_000)).outcome).toBe("ok");
    expect((await reserve(p.id, 1)).outcome).toBe("partner_credit_limit");
    expect((await fundingOf(p.id)).exposure).toBe(1_000_000);
    await settleAll();
  });

  it("mixed concurrent amounts: the deposit less exactly what was reserved, and every refused amount exceeds what is left", async () => {
    const p = await createPartner({ funding: prepaid("5.00") });
    const amounts = Array.from({ length: 40 }, (_, i) => 123_457 + ((i * 7_919) % 250_001));
    const tries = await Promise.all(
      amounts.map((micros, i) => reserve(p.id, micros, { shard: i % 2 }).then((t) => ({ ...t, micros }))),
    );
    const reserved = tries.filter((t) => t.outcome === "ok").reduce((s, t) => s + t.micros, 0);
    const left = (await fundingOf(p.id)).balance;
    expect(left).toBe(5_000_000 - reserved);
    expect(left).toBeGreaterThanOrEqual(0);
    for (const t of tries.filter((t) => t.outcome !== "ok")) expect(t.micros).toBeGreaterThan(left);
    await settleAll();
    expect((await fundingOf(p.id)).balance).toBe(5_000_000);
  });

  it("refuses an unknown partner and a second reservation under one key, drawing nothing", async () => {
    const p = await createPartner({ funding: prepaid("1.00") });
    expect((await reserve("p-nobody-here", 1)).outcome).toBe("partner_not_found");
    const first = await reserve(p.id, 100_000);
    await expect(
      runBatch(env.DB, reserveFunding({ txnId: first.txnId, partnerId: p.id, micros: 100_000, shard: 1, now: Date.now() })),
    ).rejects.toThrow(/UNIQUE constraint failed: funding_reservations\.txn_id/);
    expect((await fundingOf(p.id)).balance).toBe(900_000);
    expect(() => reserveFunding({ txnId: "t", partnerId: p.id, micros: -1, shard: 1, now: 0 })).toThrow(RangeError);
    expect(() => reserveFunding({ txnId: "t", partnerId: p.id, micros: 0.5, shard: 1, now: 0 })).toThrow(RangeError);
    expect(() => earnDrawMicros(2 ** 40, 2 ** 20)).toThrow(RangeError);
    await settleAll();
  });
});

describe("settling reservations", () => {
  it("a cancelled reservation returns exactly its micros (prepaid and postpaid), once however often it is settled", async () => {
    const a = await createPartner({ funding: prepaid("1.00") });
    const b = await createPartner({ funding: postpaid("1.00") });
    const ra = await reserve(a.id, 123_457);
    const rb = await reserve(b.id, 654_321);
    expect(await fundingOf(a.id)).toEqual({ balance: 876_543, exposure: 0, payout: 0 });
    expect(await fundingOf(b.id)).toEqual({ balance: 0, exposure: 654_321, payout: 0 });
    const settled = await settleAll();
    expect(settled).toMatchObject({ mismatched: 0, failed: 0 });
    expect(settled.cancelled).toBeGreaterThanOrEqual(2);
    expect(await fundingOf(a.id)).toEqual({ balance: 1_000_000, exposure: 0, payout: 0 });
    expect(await fundingOf(b.id)).toEqual({ balance: 0, exposure: 0, payout: 0 });
    expect(await reservationsOf(a.id)).toEqual([]);
    expect(await drawState(shard1().db, ra.txnId)).toBe("cancelled");
    expect(await drawState(shard1().db, rb.txnId)).toBe("cancelled");
    // Again, and a release for one of them: nothing more is given back.
    await settleAll();
    expect(await releaseReservation(env as Env, shard1(), ra.txnId)).toBe("cancelled");
    expect(await fundingOf(a.id)).toEqual({ balance: 1_000_000, exposure: 0, payout: 0 });
    expect(await fundingOf(b.id)).toEqual({ balance: 0, exposure: 0, payout: 0 });
  });

  it("leaves a reservation younger than RESERVATION_TTL_MS alone", async () => {
    const p = await createPartner({ funding: prepaid("1.00") });
    const now = Date.now();
    const r = await reserve(p.id, 300_000, { now });
    await settleReservations(env as Env, now + RESERVATION_TTL_MS - 1);
    expect(await reservationsOf(p.id)).toHaveLength(1);
    expect(await drawState(shard1().db, r.txnId)).toBeNull();
    await settleReservations(env as Env, now + RESERVATION_TTL_MS);
    expect(await reservationsOf(p.id)).toEqual([]);
    expect((await fundingOf(p.id)).balance).toBe(1_000_000);
  });

  it("gives back to a postpaid partner whose exposure a payment lowered meanwhile: the part beyond it is payout_due", async () => {
    const p = await createPartner({ funding: postpaid("1.00") });
    await reserve(p.id, 500_000);
    await runBatch(env.DB, [sql`UPDATE partners SET exposure_micros = exposure_micros - 400000 WHERE id = ${p.id}`]); // paid 0.40
    await settleAll();
    // As if the draw had never been made: exposure 0, and the 0.40 paid is owed back.
    expect(await fundingOf(p.id)).toEqual({ balance: 0, exposure: 0, payout: 400_000 });
  });

  it("deletes a drawn reservation and credits nothing: the earn on shard 1 keeps what it drew", async () => {
    const p = await createPartner({ funding: prepaid("1.00") });
    const memberId = await newMember(shard1().db, p.id);
    const earnId = await earnAs("reserved", shard1().db, { partnerId: p.id, memberId, points: 37 });
    expect(await drawState(shard1().db, earnId)).toBe("drawn");
    expect(await fundingOf(p.id)).toEqual({ balance: 630_000, exposure: 0, payout: 0 });
    expect(await releaseReservation(env as Env, shard1(), earnId)).toBe("drawn");
    expect(await reservationsOf(p.id)).toEqual([]);
    const again = await earnAs("reserved", shard1().db, { partnerId: p.id, memberId, points: 3 });
    const settled = await settleAll();
    expect(settled.drawn).toBeGreaterThanOrEqual(1);
    expect(await reservationsOf(p.id)).toEqual([]);
    expect(await fundingOf(p.id)).toEqual({ balance: 600_000, exposure: 0, payout: 0 });
    // The shard forgets a settled draw; a settle or a release that comes later gives nothing back.
    expect(await drawState(shard1().db, earnId)).toBeNull();
    expect(await drawState(shard1().db, again)).toBeNull();
    await settleAll();
    expect(await releaseReservation(env as Env, shard1(), again)).toBe("cancelled");
    expect(await fundingOf(p.id)).toEqual({ balance: 600_000, exposure: 0, payout: 0 });
  });

  it("a shard earn batch after its reservation was released fails and commits nothing", async () => {
    const p = await createPartner({ funding: prepaid("1.00") });
    const memberId = await newMember(shard1().db, p.id);
    const e = { id: nextId("txn"), partnerId: p.id, memberId, points: 50, now: Date.now() };
    await runBatch(
      env.DB,
      reserveFunding({ txnId: e.id, partnerId: p.id, micros: earnDrawMicros(50, PRICE), shard: 1, now: e.now }),
    );
    // The router gave up on the earn (its batch timed out, say) and released the reservation.
    expect(await releaseReservation(env as Env, shard1(), e.id)).toBe("cancelled");
    expect((await fundingOf(p.id)).balance).toBe(1_000_000);
    const before = await tableDigests(shard1().db);
    const late = await runBatch(shard1().db, earnOf(e, "reserved")).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(late).toBeDefined();
    expect(reservationLapsed(late)).toBe(true);
    expect(changedTables(before, await tableDigests(shard1().db))).toEqual([]);
    expect(await shard1().db.prepare("SELECT COUNT(*) AS n FROM transactions WHERE id = ?1").bind(e.id).first("n")).toBe(0);
    expect((await fundingOf(p.id)).balance).toBe(1_000_000);
  });

  it("an earn sent to review draws nothing on the shard; its release gives the reservation back", async () => {
    const p = await createPartner({ funding: postpaid("1.00") });
    const memberId = await newMember(shard1().db, p.id);
    const e = { id: nextId("txn"), partnerId: p.id, memberId, points: 20, now: Date.now() };
    await runBatch(env.DB, reserveFunding({ txnId: e.id, partnerId: p.id, micros: 200_000, shard: 1, now: e.now }));
    await runBatch(shard1().db, earnOf(e, "reserved", sql`'review'`));
    expect(await drawState(shard1().db, e.id)).toBeNull();
    expect(await releaseReservation(env as Env, shard1(), e.id)).toBe("cancelled");
    expect(await fundingOf(p.id)).toEqual({ balance: 0, exposure: 0, payout: 0 });
  });

  it("a settle that fails in main's batch after the shard's is finished by the next run, giving back once", async () => {
    const p = await createPartner({ funding: prepaid("1.00") });
    const r = await reserve(p.id, 250_000);
    await armFault("funding_reservations", ["DELETE"], env.DB);
    const crashed = await settleAll();
    expect(crashed.failed).toBeGreaterThanOrEqual(1);
    expect(await drawState(shard1().db, r.txnId)).toBe("cancelled"); // the shard's step committed
    expect((await fundingOf(p.id)).balance).toBe(750_000); // main's did not
    await disarmFaults(env.DB);
    await settleAll();
    await settleAll();
    expect((await fundingOf(p.id)).balance).toBe(1_000_000);
    expect(await reservationsOf(p.id)).toEqual([]);
  });

  it("a shard that does not answer keeps its reservations drawn until a run reaches it", async () => {
    const p = await createPartner({ funding: prepaid("1.00") });
    await reserve(p.id, 400_000);
    const unreachable = { ...(env as Env), SHARD_1: failingBatches(shard1().db, "shard 1 is unreachable") } as Env;
    const settled = await settleReservations(unreachable, Date.now() + RESERVATION_TTL_MS);
    expect(settled.failed).toBe(1);
    expect((await fundingOf(p.id)).balance).toBe(600_000);
    await settleAll();
    expect((await fundingOf(p.id)).balance).toBe(1_000_000);
  });

  it("never settles a draw that is not what was reserved: the money stays reserved", async () => {
    const p = await createPartner({ funding: prepaid("1.00") });
    const memberId = await newMember(shard1().db, p.id);
    const e = { id: nextId("txn"), partnerId: p.id, memberId, points: 50, now: Date.now() };
    // A router bug: reserved less than the earn draws.
    await runBatch(env.DB, reserveFunding({ txnId: e.id, partnerId: p.id, micros: 100_000, shard: 1, now: e.now }));
    await runBatch(shard1().db, earnOf(e, "reserved"));
    const settled = await settleAll();
    expect(settled.mismatched).toBe(1);
    expect(await reservationsOf(p.id)).toHaveLength(1);
    expect((await fundingOf(p.id)).balance).toBe(900_000);
    await env.DB.prepare("DELETE FROM funding_reservations WHERE txn_id = ?1").bind(e.id).run();
  });

  it("keeps a cancelled draw row for CANCELLED_KEEP_MS, then a run that visits the shard deletes it", async () => {
    const p = await createPartner({ funding: prepaid("1.00") });
    const now = Date.now();
    const r = await reserve(p.id, 10_000, { now });
    const cancelledAt = now + RESERVATION_TTL_MS;
    await settleReservations(env as Env, cancelledAt);
    expect(await drawState(shard1().db, r.txnId)).toBe("cancelled");
    // The cleanup rides on a run that settles something on the shard: one due reservation each time.
    const settleAt = async (at: number) => {
      await reserve(p.id, 10_000, { now: at - RESERVATION_TTL_MS });
      await settleReservations(env as Env, at);
    };
    await settleAt(cancelledAt + CANCELLED_KEEP_MS - 1);
    expect(await drawState(shard1().db, r.txnId)).toBe("cancelled");
    await settleAt(cancelledAt + CANCELLED_KEEP_MS);
    expect(await drawState(shard1().db, r.txnId)).toBeNull();
    expect((await fundingOf(p.id)).balance).toBe(1_000_000);
  });
});

describe("credits decided on a shard", () => {
  it("a reversal on shard 1 writes its take-back to the outbox, not to a partner row; main gets it once however often the job runs", async () => {
    const p = await createPartner({ funding: prepaid("1.00") });
    const memberId = await newMember(shard1().db, p.id);
    const earnId = await earnAs("reserved", shard1().db, { partnerId: p.id, memberId, points: 40 });
    await settleAll();
    const before = await shard1().db.prepare("SELECT * FROM partners WHERE id = ?1").bind(p.id).first();
    const reversalId = await reverseOn(shard1().db, "reserved", earnId, p.id);
    expect(await shard1().db.prepare("SELECT * FROM partners WHERE id = ?1").bind(p.id).first()).toEqual(before);
    expect((await outbox()).filter((c) => c.txn_id === reversalId)).toEqual([
      expect.objectContaining({ partner_id: p.id, micros: 400_000 }),
    ]);
    expect((await fundingOf(p.id)).balance).toBe(600_000);
    const [one, two] = await Promise.all([
      applyFundingCredits(env as Env, Date.now()),
      applyFundingCredits(env as Env, Date.now()),
    ]);
    expect((one?.applied ?? 0) + (two?.applied ?? 0)).toBe(1);
    await applyFundingCredits(env as Env, Date.now());
    expect((await fundingOf(p.id)).balance).toBe(1_000_000);
    expect(await outbox()).toEqual([]);
  });

  it("a crash between main's batch and the shard's delete applies nothing twice", async () => {
    const p = await createPartner({ funding: postpaid("1.00") });
    const memberId = await newMember(shard1().db, p.id);
    const earnId = await earnAs("reserved", shard1().db, { partnerId: p.id, memberId, points: 30 });
    await settleAll();
    expect((await fundingOf(p.id)).exposure).toBe(300_000);
    await reverseOn(shard1().db, "reserved", earnId, p.id);
    // Shard 1 answers reads but no batch: main applies, the delete on the shard fails.
    const crashing = { ...(env as Env), SHARD_1: failingBatches(shard1().db, "shard 1 went away") } as Env;
    expect(await applyFundingCredits(crashing, Date.now())).toMatchObject({ applied: 1, failed: 1 });
    expect((await fundingOf(p.id)).exposure).toBe(0);
    expect(await outbox()).toHaveLength(1); // still there
    expect(await applyFundingCredits(env as Env, Date.now())).toMatchObject({ applied: 0, failed: 0 });
    expect(await fundingOf(p.id)).toEqual({ balance: 0, exposure: 0, payout: 0 });
    expect(await outbox()).toEqual([]);
  });

  it("drops main's record of an applied credit only an hour after a run saw its row gone", async () => {
    const p = await createPartner({ funding: prepaid("1.00") });
    const memberId = await newMember(shard1().db, p.id);
    const earnId = await earnAs("reserved", shard1().db, { partnerId: p.id, memberId, points: 10 });
    await settleAll();
    await reverseOn(shard1().db, "reserved", earnId, p.id);
    const [row] = await outbox();
    const now = Date.now();
    await applyFundingCredits(env as Env, now);
    const record = () =>
      env.DB.prepare("SELECT gone_at FROM funding_credits_applied WHERE shard = 1 AND credit_id = ?1").bind(row?.id).first();
    expect(await record()).toEqual({ gone_at: null });
    // A later credit's run sees this row gone; a run an hour after that forgets it.
    const second = await earnAs("reserved", shard1().db, { partnerId: p.id, memberId, points: 10 });
    await settleAll();
    await reverseOn(shard1().db, "reserved", second, p.id);
    await applyFundingCredits(env as Env, now + 1);
    expect(await record()).toEqual({ gone_at: now + 1 });
    const third = await earnAs("reserved", shard1().db, { partnerId: p.id, memberId, points: 10 });
    await settleAll();
    await reverseOn(shard1().db, "reserved", third, p.id);
    await applyFundingCredits(env as Env, now + 1 + APPLIED_RECORD_MS);
    expect(await record()).toBeNull();
    expect((await fundingOf(p.id)).balance).toBe(1_000_000);
  });

  for (const funding of [prepaid("10.00"), postpaid("10.00")]) {
    it(`moves a ${funding.mode} partner's funding exactly as in_batch does: draws, take-backs, debts repaid and brought back`, async () => {
      const scenario = async (placement: FundingPlacement, db: D1Database) => {
        const p = await createPartner({ funding });
        const memberId = await newMember(db, p.id);
        const e1 = await earnAs(placement, db, { partnerId: p.id, memberId, points: 100 });
        await burnOn(db, { partnerId: p.id, memberId, points: 70 });
        await reverseOn(db, placement, e1, p.id); // takes back 30, 70 become debt
        const e2 = await earnAs(placement, db, { partnerId: p.id, memberId, points: 60 }); // repays 60 of it
        await reverseOn(db, placement, e2, p.id); // brings the 60 of debt back
        await earnAs(placement, db, { partnerId: p.id, memberId, points: 25 }); // repays 10, keeps 15
        await settleAll();
        await applyFundingCredits(env as Env, Date.now());
        return fundingOf(p.id);
      };
      const inBatch = await scenario("in_batch", env.DB);
      const reserved = await scenario("reserved", shard1().db);
      expect(reserved).toEqual(inBatch);
      expect(await outbox()).toEqual([]);
      expect(await outbox(env.DB)).toEqual([]); // in_batch writes no outbox row
    });
  }
});

describe("approving a review earn on a shard", () => {
  it("draws a reservation of its own (the earn's own key was cancelled when it went to review), kept by the job", async () => {
    const p = await createPartner({ funding: prepaid("1.00") });
    const memberId = await newMember(shard1().db, p.id);
    const e = { id: nextId("txn"), partnerId: p.id, memberId, points: 20, now: Date.now() };
    await runBatch(env.DB, reserveFunding({ txnId: e.id, partnerId: p.id, micros: 200_000, shard: 1, now: e.now }));
    await runBatch(shard1().db, earnOf(e, "reserved", sql`'review'`));
    await releaseReservation(env as Env, shard1(), e.id);
    const row = await getReviewTransaction(shard1().db, e.id);
    if (!row) throw new Error("no review");
    const ctx = { now: Date.now(), expiryMonths: 12, reviewTimeoutSeconds: 86_400, holdTtlSeconds: 900 };
    expect(() => approveStatements(row, { ...ctx, funding: "reserved" })).toThrow(/own draw id/);
    const drawId = newFundingDrawId();
    await runBatch(env.DB, reserveFunding({ txnId: drawId, partnerId: p.id, micros: 200_000, shard: 1, now: ctx.now }));
    await runBatch(shard1().db, approveStatements(row, { ...ctx, funding: "reserved", fundingDrawId: drawId }));
    expect(await drawState(shard1().db, drawId)).toBe("drawn");
    await settleAll();
    expect(await reservationsOf(p.id)).toEqual([]);
    expect(await fundingOf(p.id)).toEqual({ balance: 800_000, exposure: 0, payout: 0 });
  });
});

describe("the in_batch mode", () => {
  it("writes exactly the statements it wrote before reservations existed", () => {
    const plain = (statements: Record<string, Sql[]>) =>
      Object.fromEntries(Object.entries(statements).map(([k, v]) => [k, v.map((s) => ({ text: s.text, params: s.params }))]));
    expect(plain(inBatchExamples())).toEqual(fixture);
  });
});

describe("the every-minute job", () => {
  it("settles due reservations and applies shard credits", async () => {
    expect(JOBS.map((j) => j.name)).toEqual(expect.arrayContaining(["settle-funding-reservations", "apply-funding-credits"]));
    const p = await createPartner({ funding: prepaid("1.00") });
    await reserve(p.id, 100_000, { now: Date.now() - RESERVATION_TTL_MS });
    await shard1()
      .db.prepare("INSERT INTO funding_credits (partner_id, micros, txn_id, created_at) VALUES (?1, 50000, 'txn_job', ?2)")
      .bind(p.id, Date.now())
      .run();
    await runScheduledJobs();
    expect(await reservationsOf(p.id)).toEqual([]);
    expect(await outbox()).toEqual([]);
    expect((await fundingOf(p.id)).balance).toBe(1_050_000);
  });
});
