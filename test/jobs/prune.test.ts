import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { NONCE_GENERATION_MS } from "../../src/auth/admission";
import { pruneIdempotencyKeys, pruneRequestNonces } from "../../src/jobs/prune";
import { createPartner } from "../support/exchange";
import { runScheduledJobs } from "../support/jobs";

const db = () => env.DB;
const count = async (table: string) => (await db().prepare(`SELECT COUNT(*) AS n FROM ${table}`).first<{ n: number }>())?.n ?? 0;

describe("pruning jobs", () => {
  it("the scheduled handler prunes jti records past their retention (whole generations), and only those", async () => {
    const now = Date.now();
    const insert = (jti: string, expiresAt: number) =>
      db()
        .prepare("INSERT INTO request_nonces (gen, partner_id, jti, expires_at) VALUES (?1, 'p', ?2, ?3)")
        .bind(Math.floor(expiresAt / NONCE_GENERATION_MS), jti, expiresAt);
    await db().batch([
      db().prepare("DELETE FROM request_nonces"),
      insert("old-0000000000000", now - NONCE_GENERATION_MS - 1),
      // Expired, but in the current generation: pruned with it, a little later (kept at least its retention).
      insert("lapsed-000000000", Math.floor(now / NONCE_GENERATION_MS) * NONCE_GENERATION_MS),
      insert("new-0000000000000", now + 600_000),
    ]);
    await runScheduledJobs(now);
    const left = await db().prepare("SELECT jti FROM request_nonces ORDER BY jti").all<{ jti: string }>();
    expect(left.results.map((r) => r.jti)).toEqual(["lapsed-000000000", "new-0000000000000"]);
  });

  it("a pruned jti is usable again only after its retention (a live one still answers replayed_request)", async () => {
    const p = await createPartner();
    const jti = "fixed-jti-000000000001";
    // Reuse a jti inside its retention window: refused.
    const { signRequest } = await import("../../packages/partner-sdk/src/index");
    const send = async () => {
      const sig = await signRequest(p.credentials, { method: "GET", target: "/v1/partner", jti });
      return p.client.request("GET", "/v1/partner", undefined, { headers: { "Coalition-Signature": sig } });
    };
    expect((await send()).status).toBe(200);
    expect((await send()).status).toBe(401);
    // Once its retention has passed and the job pruned it, the jti may be seen again.
    const past = Date.now() - NONCE_GENERATION_MS - 1;
    await db()
      .prepare("UPDATE request_nonces SET expires_at = ?1, gen = ?2 WHERE jti = ?3")
      .bind(past, Math.floor(past / NONCE_GENERATION_MS), jti)
      .run();
    await runScheduledJobs();
    expect(await db().prepare("SELECT 1 FROM request_nonces WHERE jti = ?").bind(jti).first()).toBeNull();
    expect((await send()).status).toBe(200);
  });

  it("prunes in bounded chunks: at most chunk × maxChunks rows per run, the rest on the next run", async () => {
    const now = Date.now();
    await db().prepare("DELETE FROM request_nonces").run();
    await db()
      .prepare(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 250)
         INSERT INTO request_nonces (gen, partner_id, jti, expires_at) SELECT (?1 - i) / ${NONCE_GENERATION_MS}, 'p', 'jti-' || i, ?1 - i FROM n`,
      )
      .bind(now - NONCE_GENERATION_MS)
      .run();
    expect((await pruneRequestNonces(db(), now, 50, 3)).deleted).toBe(150);
    expect(await count("request_nonces")).toBe(100);
    expect((await pruneRequestNonces(db(), now, 50, 3)).deleted).toBe(100);
    expect(await count("request_nonces")).toBe(0);
  });

  it("prunes idempotency records older than 30 days, keeps younger ones", async () => {
    const now = Date.now();
    const day = 24 * 3600 * 1000;
    await db().batch([
      db().prepare("DELETE FROM idempotency_keys"),
      db()
        .prepare(
          "INSERT INTO idempotency_keys (scope, key, request_hash, response_status, response_body, created_at) VALUES ('p', 'old', 'h', 201, '{}', ?1)",
        )
        .bind(now - 31 * day),
      db()
        .prepare(
          "INSERT INTO idempotency_keys (scope, key, request_hash, response_status, response_body, created_at) VALUES ('p', 'young', 'h', 201, '{}', ?1)",
        )
        .bind(now - 29 * day),
    ]);
    expect((await pruneIdempotencyKeys(db(), now, 30 * day)).deleted).toBe(1);
    const left = await db().prepare("SELECT key FROM idempotency_keys").all<{ key: string }>();
    expect(left.results.map((r) => r.key)).toEqual(["young"]);
  });

  it("walks the idempotency records in chunks from where it stopped, and starts over at the end", async () => {
    const now = Date.now();
    const day = 24 * 3600 * 1000;
    await db().prepare("DELETE FROM idempotency_keys").run();
    await db()
      .prepare(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 25)
         INSERT INTO idempotency_keys (scope, key, request_hash, response_status, response_body, created_at)
         SELECT 'p', printf('k%02d', i), 'h', 201, '{}', CASE WHEN i % 2 = 0 THEN ?1 ELSE ?2 END FROM n`,
      )
      .bind(now - 31 * day, now - day)
      .run();
    // 10 keys a run: k01..k10, then k11..k20, then k21..k25 and over again.
    expect(await pruneIdempotencyKeys(db(), now, 30 * day, 10, 1)).toEqual({ deleted: 5, scanned: 10 });
    expect(await count("idempotency_keys")).toBe(20);
    expect(await pruneIdempotencyKeys(db(), now, 30 * day, 10, 1)).toEqual({ deleted: 5, scanned: 10 });
    expect(await pruneIdempotencyKeys(db(), now, 30 * day, 10, 1)).toEqual({ deleted: 2, scanned: 5 });
    expect(await count("idempotency_keys")).toBe(13);
    // Over again from the first key: nothing old is left; every young record stays.
    expect(await pruneIdempotencyKeys(db(), now, 30 * day, 10, 5)).toEqual({ deleted: 0, scanned: 13 });
  });

  it("a run reads the keys of its chunks only, however many records there are", async () => {
    const now = Date.now();
    const day = 24 * 3600 * 1000;
    const seed = (n: number) =>
      db()
        .prepare(
          `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
           INSERT OR IGNORE INTO idempotency_keys (scope, key, request_hash, response_status, response_body, created_at)
           SELECT 'p', printf('k%05d', i), 'h', 201, '{}', ?2 FROM n`,
        )
        .bind(n, now - day)
        .run();
    // The rows the run's batches (its deletes and cursor saves) read, from D1's meta.
    const batchReads = async () => {
      let read = 0;
      const metered = new Proxy(db(), {
        get(target, prop, receiver) {
          if (prop === "batch") {
            return async (statements: D1PreparedStatement[]) => {
              const results = await target.batch(statements);
              for (const r of results) read += r.meta.rows_read ?? 0;
              return results;
            };
          }
          const value = Reflect.get(target, prop, receiver);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
      await db().prepare("DELETE FROM job_cursors").run();
      await pruneIdempotencyKeys(metered, now, 30 * day, 10, 2);
      return read;
    };
    await db().prepare("DELETE FROM idempotency_keys").run();
    await seed(25);
    const few = await batchReads();
    await seed(2_000);
    expect(await batchReads()).toBe(few);
    expect(few).toBeLessThanOrEqual(2 * 2 * 10 + 10);
  });
});
