import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ledgerCounts, writeHistory } from "../../scripts/bench/worker/history";
import benchWorker from "../../scripts/bench/worker/index";
import { app } from "../../src/index";
import { BASE_URL } from "../support/exchange";
import { checkInvariants } from "../support/invariants";
import { CONTEXT, enrol, partnerWithCard, sql } from "../support/ledger";

/**
 * The bench worker (`npm run bench`): its synthetic history is a ledger the invariants accept, with
 * the rows the ledger itself writes; its D1 meter counts what a request costs; and none of its
 * routes exists in the production worker.
 */

const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
const bench = (request: Request) => benchWorker.fetch(request as Parameters<typeof benchWorker.fetch>[0], env, ctx);

describe("bench worker", () => {
  it("writes synthetic history the ledger's invariants accept, settled by the ledger's own triggers", async () => {
    const p = await partnerWithCard();
    const before = await ledgerCounts(env.DB);
    const now = Date.now();
    const result = await writeHistory(env.DB, { count: 2_001, from: now - 86_400_000, to: now - 60_000, partnerId: p.id });
    expect(result).toMatchObject({ transactions: 2_001, earns: 1_001, burns: 1_000 });
    const after = await ledgerCounts(env.DB);
    const grew = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
    expect([grew("transactions"), grew("lots"), grew("lot_movements"), grew("transfers"), grew("settlement_entries")]).toEqual([
      2_001, 1_001, 1_000, 2_001, 2_001,
    ]);
    // Every earn names its lot; burns consumed 40 of its 100 points; entries settle each row once.
    const earns = await sql<{ n: number; lots: number; remaining: number }>(
      `SELECT COUNT(*) AS n, COUNT(l.id) AS lots, SUM(l.remaining) AS remaining FROM transactions t
         LEFT JOIN lots l ON l.id = t.lot_id AND l.txn_id = t.id WHERE t.partner_id = ?1 AND t.type = 'earn'`,
      p.id,
    );
    expect(earns[0]).toEqual({ n: 1_001, lots: 1_001, remaining: 1_001 * 100 - 1_000 * 40 });
    const entries = await sql<{ kind: string; n: number; points: number }>(
      "SELECT kind, COUNT(*) AS n, SUM(points) AS points FROM settlement_entries WHERE issuer_id = ?1 GROUP BY kind ORDER BY kind",
      p.id,
    );
    expect(entries).toEqual([
      { kind: "issue", n: 1_001, points: 100_100 },
      { kind: "redeem", n: 1_000, points: 40_000 },
    ]);
    const unsettled = await sql(
      `SELECT t.id FROM transactions t WHERE t.partner_id = ?1
          AND t.settled_at IS NOT (SELECT MIN(e.at) FROM settlement_entries e WHERE e.issuer_id = ?1 AND e.txn_id = t.id)`,
      p.id,
    );
    expect(unsettled).toEqual([]);
    await checkInvariants();
  });

  it("meters every D1 call of a request: one for a bare batch and for a signed earn, none for a no-op", async () => {
    const noop = await bench(new Request(`${BASE_URL}/__bench/noop`));
    expect(noop.headers.get("D1-Calls")).toBe("0");
    const batch = await bench(new Request(`${BASE_URL}/__bench/batch`));
    expect(batch.headers.get("D1-Calls")).toBe("1");
    expect(Number(batch.headers.get("D1-Size-After"))).toBeGreaterThan(0);
    expect(batch.headers.get("D1-Rows-Written")).toBe("0");
    // The write baseline commits one row (a nonce, already expired) in its one call.
    const write = await bench(new Request(`${BASE_URL}/__bench/write-batch`));
    expect([write.status, write.headers.get("D1-Calls"), write.headers.get("D1-Rows-Written")]).toEqual([200, "1", "1"]);

    const p = await partnerWithCard();
    const { ref } = await enrol(p);
    await p.client.get("/v1/partner"); // the isolate's catalogue, loaded before the measured request
    const request = await p.client.buildRequest(
      "POST",
      "/v1/earn",
      new TextEncoder().encode(JSON.stringify({ member_ref: ref, points: 5, context: CONTEXT })),
      { idempotencyKey: "bench-worker-test-1" },
    );
    request.headers.set("Bench-Explain", "1");
    const earned = await bench(request);
    expect(earned.status).toBe(201);
    expect(earned.headers.get("D1-Calls")).toBe("1");
    expect(Number(earned.headers.get("D1-Rows-Written"))).toBeGreaterThan(0);
    const explained = JSON.parse(atob(earned.headers.get("D1-Explain") ?? "")) as {
      kind: string;
      statements: { read: number; written: number }[];
    }[];
    expect(explained).toHaveLength(1);
    expect(explained[0]?.kind).toBe("batch");
    const written = explained[0]?.statements.reduce((n, s) => n + s.written, 0);
    expect(String(written)).toBe(earned.headers.get("D1-Rows-Written"));
  });

  it("the production worker serves no bench route and no D1 header", async () => {
    for (const path of ["/__bench/noop", "/__bench/batch", "/__bench/write-batch", "/__bench/size", "/__bench/ledger"]) {
      const r = await app.fetch(new Request(`${BASE_URL}${path}`), env, ctx);
      expect(r.status).toBe(404);
      expect(r.headers.get("D1-Calls")).toBeNull();
    }
    const settlement = await app.fetch(new Request(`${BASE_URL}/__bench/settlement/close`, { method: "POST" }), env, ctx);
    expect(settlement.status).toBe(404);
    expect(app.routes.some((r) => r.path.startsWith("/__bench"))).toBe(false);
  });
});
