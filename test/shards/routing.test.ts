import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { ledgerInvariantViolations } from "../../src/ledger/invariants";
import { spreadOverShards } from "../../src/shards/bucket-map-store";
import { bucketOf, shardOfBucket } from "../../src/shards/buckets";
import { forgetBucketMap, forgetLearntLinks } from "../../src/shards/placement";
import { shardsOf } from "../../src/shards/registry";
import { setRules } from "../risk/support";
import { operator, type TestPartner, workerFetch } from "../support/exchange";
import { runScheduledJobs } from "../support/jobs";
import { balance, burn, CONTEXT, earn, enrol, expectOk, partnerWithCard, type TxnResult } from "../support/ledger";
import { partnerFunding, reverse } from "../support/ledger-flows";
import { refOnShard } from "../support/shards";
import { send, signFor } from "../support/tamper";

/**
 * Issue 11 §1–3 at N = 2 (the `sharded` project binds DB and SHARD_1): once the bucket map is
 * spread, a member's data lives on the shard of its bucket only, and every request about it —
 * by the enrolling partner's ref, by another partner's linked ref, by member id, by transaction
 * id, by a member session — is decided there, through the HTTP API. Idempotency-Keys and jtis
 * keep their per-partner meaning across shards.
 */

const shards = () => shardsOf(env as unknown as Env);
const dbOf = (shard: number) => shards()[shard]?.db as D1Database;

async function count(shard: number, query: string, ...binds: unknown[]): Promise<number> {
  const row = await dbOf(shard)
    .prepare(query)
    .bind(...binds)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** A fresh ref of `partner` whose own bucket is on `shard`. */
const refOn = (partner: TestPartner, shard: number, prefix = "r") => refOnShard(partner.id, shard, prefix);

let A: TestPartner;
let B: TestPartner;

beforeAll(async () => {
  if (shards().length !== 2) throw new Error("this file runs in the sharded project (DB + SHARD_1)");
  await spreadOverShards(env as unknown as Env);
  A = await partnerWithCard();
  B = await partnerWithCard();
});

describe("members live on the shard of their bucket", () => {
  it("enrolment, earn, burn and balance are written and read on the member's shard only", async () => {
    for (const shard of [0, 1]) {
      const ref = await refOn(A, shard);
      const { memberId } = await enrol(A, ref);
      expect(await count(shard, "SELECT COUNT(*) AS n FROM members WHERE id = ?", memberId)).toBe(1);
      expect(await count(1 - shard, "SELECT COUNT(*) AS n FROM members WHERE id = ?", memberId)).toBe(0);
      const e = expectOk(await earn(A, ref, 500), 201);
      const b = expectOk(await burn(A, ref, 120), 201);
      expect(b.balance.points.available).toBe(380);
      expect((await balance(A, ref)).points.available).toBe(380);
      for (const id of [e.transaction.id, b.transaction.id]) {
        expect(await count(shard, "SELECT COUNT(*) AS n FROM transactions WHERE id = ?", id)).toBe(1);
        expect(await count(1 - shard, "SELECT COUNT(*) AS n FROM transactions WHERE id = ?", id)).toBe(0);
      }
      const got = expectOk(await A.client.get<{ transaction: { id: string } }>(`/v1/transactions/${e.transaction.id}`), 200);
      expect(got.transaction.id).toBe(e.transaction.id);
    }
  });

  it("sixteen members spread over both shards, each shard's ledger balancing on its own", async () => {
    const ids = await Promise.all(Array.from({ length: 16 }, async (_, i) => (await enrol(A, `spread-${i}`)).memberId));
    const onShard1 = await count(1, `SELECT COUNT(*) AS n FROM members WHERE id IN (${ids.map(() => "?").join(",")})`, ...ids);
    expect(onShard1).toBeGreaterThan(0);
    expect(onShard1).toBeLessThan(16);
    for (const [k, shard] of shards().entries()) {
      expect(await ledgerInvariantViolations(shard.db, Date.now()), `shard ${k}`).toEqual([]);
    }
  });

  it("a hold is captured and voided, and a transaction reversed, on its member's shard (by transaction id)", async () => {
    const ref = await refOn(A, 1);
    await enrol(A, ref);
    expectOk(await earn(A, ref, 300), 201);
    const hold = expectOk(await burn(A, ref, 100, { capture: false }), 201);
    const captured = expectOk(await A.client.post<TxnResult>(`/v1/burns/${hold.transaction.id}/capture`, { points: 60 }), 200);
    expect(captured.balance.points.available).toBe(240);
    const second = expectOk(await burn(A, ref, 50, { capture: false }), 201);
    expectOk(await A.client.post<TxnResult>(`/v1/burns/${second.transaction.id}/void`, {}), 200);
    const reversed = expectOk(await A.client.post<TxnResult>(`/v1/transactions/${captured.transaction.id}/reversals`, {}), 201);
    expect(reversed.balance.points.available).toBe(300);
    expect(await count(1, "SELECT COUNT(*) AS n FROM transactions WHERE id = ?", reversed.transaction.id)).toBe(1);
    expect(await count(0, "SELECT COUNT(*) AS n FROM transactions WHERE original_id = ?", captured.transaction.id)).toBe(0);
  });
});

describe("a ref linked to a member on another shard", () => {
  it("is found through the link directory, for reads and writes, and the link lives with the member", async () => {
    const ownRef = await refOn(A, 0);
    const { memberId } = await enrol(A, ownRef);
    expectOk(await earn(A, ownRef, 200), 201);
    const code = expectOk(await A.client.post<{ link_code: string }>(`/v1/members/${ownRef}/link-codes`, {}), 201);
    const bRef = await refOn(B, 1);
    const linked = await B.client.put<{ member: { id: string } }>(`/v1/members/${bRef}`, {
      link_code: code.link_code,
      context: CONTEXT,
    });
    expect(expectOk(linked, 201).member.id).toBe(memberId);
    // The link is with the member (shard 0); the directory row is where B's ref hashes (shard 1).
    expect(await count(0, "SELECT COUNT(*) AS n FROM member_links WHERE partner_id = ? AND member_ref = ?", B.id, bRef)).toBe(1);
    expect(await count(1, "SELECT COUNT(*) AS n FROM link_directory WHERE partner_id = ? AND member_ref = ?", B.id, bRef)).toBe(
      1,
    );
    expect((await balance(B, bRef)).points.available).toBe(200);
    const e = expectOk(await earn(B, bRef, 50), 201);
    expect(await count(0, "SELECT COUNT(*) AS n FROM transactions WHERE id = ?", e.transaction.id)).toBe(1);
    // The same PUT again is the existing link (200), from any isolate's view of the directory.
    const again = await B.client.put<{ member: { id: string } }>(`/v1/members/${bRef}`, { context: CONTEXT });
    expect(expectOk(again, 200).member.id).toBe(memberId);
  });

  it("a keyed earn by a linked ref this isolate never saw: placed by the ref, then on the member's shard, once; replayed", async () => {
    const ownRef = await refOn(A, 0);
    await enrol(A, ownRef);
    const code = expectOk(await A.client.post<{ link_code: string }>(`/v1/members/${ownRef}/link-codes`, {}), 201);
    const bRef = await refOn(B, 1);
    expectOk(await B.client.put(`/v1/members/${bRef}`, { link_code: code.link_code, context: CONTEXT }), 201);
    forgetLearntLinks();
    const key = `linked-${Date.now()}`;
    const body = { member_ref: bRef, points: 25, context: CONTEXT };
    const first = await B.client.post<TxnResult>("/v1/earn", body, { idempotencyKey: key });
    expect(first.status, first.text).toBe(201);
    forgetLearntLinks();
    const replay = await B.client.post<TxnResult>("/v1/earn", body, { idempotencyKey: key });
    expect(replay.status, replay.text).toBe(201);
    expect(replay.text).toBe(first.text);
    expect((await balance(A, ownRef)).points.available).toBe(25);
  });

  it("a ref already enrolled on its own shard conflicts with a link code for a member elsewhere, and nothing is written", async () => {
    const ownRef = await refOn(A, 0);
    await enrol(A, ownRef);
    const code = expectOk(await A.client.post<{ link_code: string }>(`/v1/members/${ownRef}/link-codes`, {}), 201);
    const bRef = await refOn(B, 1);
    await enrol(B, bRef);
    const r = await B.client.put(`/v1/members/${bRef}`, { link_code: code.link_code, context: CONTEXT });
    expect(r.status, r.text).toBe(409);
    expect(r.text).toContain("member_ref_conflict");
    expect(await count(0, "SELECT COUNT(*) AS n FROM member_links WHERE partner_id = ? AND member_ref = ?", B.id, bRef)).toBe(0);
    expect(await count(1, "SELECT COUNT(*) AS n FROM link_directory WHERE partner_id = ? AND member_ref = ?", B.id, bRef)).toBe(
      0,
    );
  });

  it("an unusable code across shards answers link_code_invalid and leaves no claim", async () => {
    const ownRef = await refOn(A, 0);
    await enrol(A, ownRef);
    const code = expectOk(await A.client.post<{ link_code: string }>(`/v1/members/${ownRef}/link-codes`, {}), 201);
    expectOk(await B.client.put(`/v1/members/${await refOn(B, 0)}`, { link_code: code.link_code, context: CONTEXT }), 201);
    const bRef = await refOn(B, 1);
    const r = await B.client.put(`/v1/members/${bRef}`, { link_code: code.link_code, context: CONTEXT });
    expect(r.status).toBe(422);
    expect(await count(1, "SELECT COUNT(*) AS n FROM link_directory WHERE partner_id = ? AND member_ref = ?", B.id, bRef)).toBe(
      0,
    );
  });
});

describe("Idempotency-Keys and jtis are per partner across shards", () => {
  it("a key reused with another body for a member on the other shard is a 409, either way round, and nothing is written", async () => {
    const on0 = await refOn(A, 0);
    const on1 = await refOn(A, 1);
    await enrol(A, on0);
    await enrol(A, on1);
    for (const [first, second] of [
      [on0, on1],
      [on1, on0],
    ] as const) {
      const key = `k-${first}-${Date.now()}`;
      expectOk(
        await A.client.post("/v1/earn", { member_ref: first, points: 10, context: CONTEXT }, { idempotencyKey: key }),
        201,
      );
      const reused = await A.client.post(
        "/v1/earn",
        { member_ref: second, points: 10, context: CONTEXT },
        { idempotencyKey: key },
      );
      expect(reused.status, reused.text).toBe(409);
      expect(reused.text).toContain("idempotency_key_reused");
    }
    expect((await balance(A, on0)).points.available).toBe(10);
    expect((await balance(A, on1)).points.available).toBe(10);
  });

  it("the same key and body replays the stored bytes from the member's shard; concurrent duplicates apply once", async () => {
    const ref = await refOn(A, 1);
    await enrol(A, ref);
    const body = { member_ref: ref, points: 7, context: CONTEXT };
    const key = `dup-${Date.now()}`;
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => A.client.post<TxnResult>("/v1/earn", body, { idempotencyKey: key })),
    );
    const ok = answers.filter((a) => a.status === 201);
    expect(ok.length).toBeGreaterThan(0);
    for (const a of answers) expect([201, 409]).toContain(a.status);
    expect(new Set(ok.map((a) => a.text)).size).toBe(1);
    expect((await balance(A, ref)).points.available).toBe(7);
    const replay = await A.client.post<TxnResult>("/v1/earn", body, { idempotencyKey: key });
    expect(replay.status).toBe(201);
    expect(replay.text).toBe(ok[0]?.text);
    expect(await count(0, "SELECT COUNT(*) AS n FROM request_claims WHERE scope = ? AND key = ? AND shard = 1", A.id, key)).toBe(
      1,
    );
  });

  it("a signed request sent twice for a member on shard 1 answers replayed_request the second time", async () => {
    const ref = await refOn(A, 1);
    await enrol(A, ref);
    const spec = { method: "GET", target: `/v1/members/${ref}/balance` };
    const signature = await signFor(A.credentials, spec);
    expect((await send(spec, signature)).status).toBe(200);
    const again = await send(spec, signature);
    expect(again.status).toBe(401);
    expect(await again.text()).toContain("replayed_request");
  });
});

describe("requests by member id and by member session", () => {
  it("the operator's member screens and adjustments, and a member session, reach a member on shard 1", async () => {
    const ref = await refOn(A, 1);
    const { memberId } = await enrol(A, ref);
    const adjusted = await operator(
      "POST",
      `/members/${memberId}/adjustments`,
      { points: 40, reason: "goodwill" },
      { idempotencyKey: `adj-${ref}` },
    );
    expect(adjusted.status).toBe(201);
    const view = await operator("GET", `/members/${memberId}`);
    expect(view.status).toBe(200);
    expect(JSON.parse(view.text).balance.points.available).toBe(40);
    const byRef = await operator("GET", `/members?partner_id=${A.id}&member_ref=${ref}`);
    expect(JSON.parse(byRef.text).member.id).toBe(memberId);
    const session = expectOk(await A.client.post<{ token: string }>(`/v1/members/${ref}/sessions`, {}), 201);
    const me = await workerFetch(
      new Request("https://exchange.test/v1/me", { headers: { Authorization: `Bearer ${session.token}` } }),
    );
    expect(me.status).toBe(200);
    expect(((await me.json()) as { points: { available: number } }).points.available).toBe(40);
  });
});

describe("a stale placement is decided again", () => {
  it("a bucket moved after this isolate loaded the map: the shard's guard refuses it, the map is reloaded", async () => {
    const ref = await refOn(A, 1, "moved");
    const bucket = await bucketOf(A.id, ref);
    await enrol(A, "warm-the-map");
    // Move the (empty) bucket to shard 0 in every copy of the map; this isolate still has the old one.
    const move = [
      `UPDATE shard_buckets SET last_bucket = ${bucket - 1} WHERE first_bucket <= ${bucket} AND last_bucket >= ${bucket}`,
      `INSERT INTO shard_buckets (first_bucket, last_bucket, shard) VALUES (${bucket}, ${bucket}, 0)`,
      `INSERT INTO shard_buckets (first_bucket, last_bucket, shard) SELECT ${bucket + 1}, 4095, 1 WHERE ${bucket} < 4095`,
      "UPDATE shard_map_version SET version = version + 1",
    ];
    for (const shard of shards()) await shard.db.batch(move.map((q) => shard.db.prepare(q)));
    const { memberId } = await enrol(A, ref);
    expect(await count(0, "SELECT COUNT(*) AS n FROM members WHERE id = ?", memberId)).toBe(1);
    expect(await count(1, "SELECT COUNT(*) AS n FROM members WHERE id = ?", memberId)).toBe(0);
    forgetBucketMap();
  });

  it("a shard whose copy of the catalogue is behind main's is copied again, and the request decided", async () => {
    const ref = await refOn(A, 1);
    await enrol(A, ref);
    await dbOf(1).prepare("UPDATE catalogue_version SET version = version - 1").run();
    expectOk(await earn(A, ref, 5), 201);
    const [main, one] = await Promise.all(
      [0, 1].map((k) => dbOf(k).prepare("SELECT version FROM catalogue_version").first<{ version: number }>()),
    );
    expect(one?.version).toBe(main?.version);
  });
});

describe("risk windows across members on both shards (issue 11 §3)", () => {
  it("a device's count limit holds for concurrent earns and enrolments of members on both shards, exactly", async () => {
    const P = await partnerWithCard();
    const device = `dev-${Date.now()}`;
    await setRules([
      { id: "device-earns", action: "deny", applies_to: "earn", subject: "device", window_seconds: 3600, max_count: 3 },
      { id: "device-signups", action: "deny", applies_to: "enroll", subject: "device", window_seconds: 3600, max_count: 4 },
    ]);
    const refs = await Promise.all(Array.from({ length: 8 }, (_, i) => refOn(P, i % 2, `risk${i}`)));
    const context = { ip: "203.0.113.9", device_id: device };
    const enrolled = await Promise.all(refs.map((ref) => P.client.put(`/v1/members/${ref}`, { context })));
    expect(enrolled.filter((r) => r.status === 201).length).toBe(4);
    expect(enrolled.filter((r) => r.status === 422).every((r) => r.text.includes("device-signups"))).toBe(true);
    const members = refs.filter((_, i) => enrolled[i]?.status === 201);
    expect(new Set(await Promise.all(members.map(async (ref) => shardOfBucket(await bucketOf(P.id, ref), 2)))).size).toBe(2);
    const earns = await Promise.all(members.map((ref) => earn(P, ref, 10, { context })));
    expect(earns.filter((r) => r.status === 201).length).toBe(3);
    const declined = earns.filter((r) => r.status === 422);
    expect(declined.length).toBe(1);
    expect(declined[0]?.text).toContain("device-earns");
    await setRules([]);
  });
});

describe("partner funding across shards (issue 11 §3)", () => {
  const cny = (value: string) => ({ value, unit: "CNY" });

  it("concurrent earns on both shards never pass a prepaid deposit; the operator sees one position", async () => {
    const P = await partnerWithCard({ funding: { mode: "prepaid", balance: cny("1.00") }, card: { issue_price: "0.010" } });
    const refs = await Promise.all(Array.from({ length: 6 }, (_, i) => refOn(P, i % 2, `fund${i}`)));
    for (const ref of refs) await enrol(P, ref);
    // 6 × 30 points at 0.010 = 1.80 asked of a 1.00 deposit: exactly three fit.
    const earns = await Promise.all(refs.map((ref) => earn(P, ref, 30)));
    const ok = earns.filter((r) => r.status === 201);
    expect(ok.length).toBe(3);
    expect(earns.filter((r) => r.status === 422).every((r) => r.text.includes("partner_funds_exhausted"))).toBe(true);
    expect((await partnerFunding(P.id)).balance).toEqual(cny("0.10"));
    const onShard1 = await count(1, "SELECT COUNT(*) AS n FROM transactions WHERE partner_id = ? AND type = 'earn'", P.id);
    expect(onShard1).toBeGreaterThan(0);
    // Shard 1's copy of the partner never holds money: main's row is the position.
    const copy = await dbOf(1)
      .prepare("SELECT prepaid_balance_micros AS b FROM partners WHERE id = ?")
      .bind(P.id)
      .first<{ b: number }>();
    expect(copy?.b).toBe(0);
  });

  it("an earn refused on its shard gives its reservation back at once; a reversal's credit reaches main through the job", async () => {
    const P = await partnerWithCard({ funding: { mode: "prepaid", balance: cny("1.00") }, card: { issue_price: "0.010" } });
    const ref = await refOn(P, 1, "credit");
    await enrol(P, ref);
    // Unknown member: main reserved, the shard refused (member_not_found), the reservation was released.
    expect((await earn(P, await refOn(P, 1, "nobody"), 10)).status).toBe(404);
    expect((await partnerFunding(P.id)).balance).toEqual(cny("1.00"));
    expect(await count(0, "SELECT COUNT(*) AS n FROM funding_reservations WHERE partner_id = ?", P.id)).toBe(0);
    const e = expectOk(await earn(P, ref, 40), 201);
    expect((await partnerFunding(P.id)).balance).toEqual(cny("0.60"));
    expectOk(await reverse(P, e.transaction.id), 201);
    expect((await partnerFunding(P.id)).balance).toEqual(cny("0.60"));
    await runScheduledJobs(Date.now() + 61_000);
    expect((await partnerFunding(P.id)).balance).toEqual(cny("1.00"));
    expect(await count(0, "SELECT COUNT(*) AS n FROM funding_reservations WHERE partner_id = ?", P.id)).toBe(0);
  });
});

describe("an answer that is not stored leaves no claim (partner-api.md §3)", () => {
  it("a capture of more than held on shard 1 is a 400 that frees its key: the corrected request under it succeeds", async () => {
    const ref = await refOn(A, 1, "hold400");
    await enrol(A, ref);
    expectOk(await earn(A, ref, 100), 201);
    const hold = expectOk(await burn(A, ref, 50, { capture: false }), 201);
    const key = `cap-${Date.now()}`;
    const tooMuch = await A.client.post(`/v1/burns/${hold.transaction.id}/capture`, { points: 60 }, { idempotencyKey: key });
    expect(tooMuch.status, tooMuch.text).toBe(400);
    expect(await count(0, "SELECT COUNT(*) AS n FROM request_claims WHERE scope = ? AND key = ?", A.id, key)).toBe(0);
    const corrected = await A.client.post<TxnResult>(
      `/v1/burns/${hold.transaction.id}/capture`,
      { points: 40 },
      { idempotencyKey: key },
    );
    expect(corrected.status, corrected.text).toBe(200);
  });
});
