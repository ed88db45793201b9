import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { PartnerClient } from "../../packages/partner-sdk/src/index";
import { app } from "../../src/index";
import { JOBS, runScheduled } from "../../src/jobs/scheduled";
import { BASE_URL, type TestPartner } from "../support/exchange";
import { CONTEXT, earn, enrol, expectOk, partnerWithCard } from "../support/ledger";

/**
 * Rows per operation, from D1's own meta (issue "Every write decided in one D1 batch", §3): the
 * budgets of rows written, and reads that follow what an operation touches rather than how much
 * history the member or the ledger has. The worker runs with a D1 binding that sums the meta of
 * every batch it sends.
 */

let rows = { read: 0, written: 0 };

function metered(db: D1Database): D1Database {
  return new Proxy(db, {
    get(target, prop, receiver) {
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          const results = await target.batch(statements);
          for (const r of results) {
            rows.read += r.meta.rows_read ?? 0;
            rows.written += r.meta.rows_written ?? 0;
          }
          return results;
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

const meteredEnv = () => ({ ...env, DB: metered(env.DB) });
const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;

async function measured<T>(action: () => Promise<T>): Promise<{ read: number; written: number; result: T }> {
  rows = { read: 0, written: 0 };
  const result = await action();
  return { ...rows, result };
}

let p: TestPartner;
let client: PartnerClient;

beforeAll(async () => {
  p = await partnerWithCard();
  client = new PartnerClient({
    baseUrl: BASE_URL,
    credentials: p.credentials,
    fetch: async (request) => app.fetch(request, meteredEnv(), ctx),
    maxRetries: 0,
  });
  expectOk(await client.get("/v1/partner"), 200);
});

/** A member with `lots` earns of 100 points (each its own lot) and `holds` voided holds. */
async function memberWith(lots: number, holds: number): Promise<string> {
  const { ref } = await enrol(p);
  for (let i = 0; i < lots; i++) expectOk(await earn(p, ref, 100), 201);
  for (let i = 0; i < holds; i++) {
    const hold = expectOk(
      await p.client.post<{ transaction: { id: string } }>("/v1/burns", {
        member_ref: ref,
        points: 1,
        capture: false,
        context: CONTEXT,
      }),
      201,
    );
    expectOk(await p.client.post(`/v1/burns/${hold.transaction.id}/void`, {}), 200);
  }
  return ref;
}

const burnOf = (ref: string, points: number) => () => client.post("/v1/burns", { member_ref: ref, points, context: CONTEXT });

describe("rows written per operation (D1 meta)", () => {
  it("an earn writes at most 12 rows, a burn from one lot at most 12, each further lot 7", async () => {
    const ref = await memberWith(1, 0);
    const e = await measured(() => client.post("/v1/earn", { member_ref: ref, points: 100, context: CONTEXT }));
    expect(e.result.status).toBe(201);
    expect(e.written).toBeLessThanOrEqual(12);
    // A movement on a lot that stays live rewrites no index of the lot (migrations/0010: the
    // partial indexes are keyed on `live`, not `remaining`).
    const b = await measured(burnOf(ref, 50));
    expect(b.result.status).toBe(201);
    expect(b.written).toBeLessThanOrEqual(12);
    // Spends the rest of the first lot (it leaves the indexes) and part of the second.
    const two = await measured(burnOf(ref, 100));
    expect(two.result.status).toBe(201);
    expect(two.written).toBeLessThanOrEqual(12 + 7);
  });
});

describe("rows read follow what an operation touches, not the member's history", () => {
  it("a burn taking one lot reads about the same with 4 or 40 lots and with 0 or 20 past holds", async () => {
    const small = await memberWith(4, 0);
    const large = await memberWith(40, 20);
    const few = await measured(burnOf(small, 50));
    const many = await measured(burnOf(large, 50));
    expect([few.result.status, many.result.status]).toEqual([201, 201]);
    // The FIFO walk and the lapsed-hold check read what they take, and the balance in the answer
    // is the member row's lot_points less the lots not spendable now (migrations/0010): no sum
    // over the member's live lots (that sum cost 2 rows per lot).
    expect(many.read - few.read).toBeLessThanOrEqual(6);
    expect(many.read).toBeLessThanOrEqual(100);
  });

  it("the hold-expiry job reads the same with 40 or 100 more transactions in the ledger", async () => {
    const job = JOBS.filter((j) => j.name === "void-expired-holds");
    expect(job).toHaveLength(1);
    const jobRows = async () => {
      rows = { read: 0, written: 0 };
      const report = await runScheduled(meteredEnv(), Date.now(), job);
      expect(report["void-expired-holds"]).not.toHaveProperty("failed");
      return rows.read;
    };
    await memberWith(30, 5);
    const before = await jobRows();
    await memberWith(90, 5);
    expect(await jobRows()).toBe(before);
  });
});
