import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { PartnerClient } from "../../packages/partner-sdk/src/index";
import { app } from "../../src/index";
import { type CallCounter, counting } from "../support/d1-calls";
import { BASE_URL, createPartner, operator, operatorToken, type TestPartner } from "../support/exchange";
import { checkInvariants } from "../support/invariants";
import { CONTEXT, DEFAULT_CARD, enrol, expectOk, link, newRef, partnerWithCard } from "../support/ledger";

/**
 * Every write decided in one D1 batch (issue "Every write decided in one D1 batch"): the worker
 * is called with a D1 binding that counts its round trips (a batch, or one statement's run /
 * all / first / raw). A write that succeeds makes exactly one; a signed GET one too. The rarer
 * paths (a replay, a stored business outcome, a stale catalogue) may take a second.
 */

const counter: CallCounter = { calls: 0, lastBatch: [] };

const countedEnv = () => ({ ...env, DB: counting(env.DB, counter) });
const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
const countedFetch = async (request: Request): Promise<Response> => app.fetch(request, countedEnv(), ctx);

function countedClient(p: TestPartner): PartnerClient {
  return new PartnerClient({ baseUrl: BASE_URL, credentials: p.credentials, fetch: countedFetch, maxRetries: 0 });
}

async function countedOperator(method: string, path: string, body: unknown, idempotencyKey?: string) {
  const headers: Record<string, string> = {
    Authorization: `Bearer ${await operatorToken()}`,
    "Content-Type": "application/json",
  };
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  return countedFetch(new Request(`${BASE_URL}/admin/v1${path}`, { method, headers, body: JSON.stringify(body) }));
}

/** The D1 round trips `action` made. */
async function roundTrips<T>(action: () => Promise<T>): Promise<{ calls: number; result: T }> {
  counter.calls = 0;
  const result = await action();
  return { calls: counter.calls, result };
}

let p: TestPartner;
let q: TestPartner;
let client: PartnerClient;
let ref: string;

let memberId: string;

beforeAll(async () => {
  p = await partnerWithCard();
  q = await partnerWithCard();
  ({ ref, memberId } = await enrol(p));
  await link(p, ref, q);
  client = countedClient(p);
  // Warm this isolate's catalogue (and the key cache) after the last catalogue change.
  expectOk(await client.get("/v1/partner"), 200);
});

describe("one D1 round trip per request on the happy path", () => {
  it("earn, burn, hold, capture, void, reversals: one each", async () => {
    const earn = await roundTrips(() =>
      client.post<{ transaction: { id: string } }>("/v1/earn", { member_ref: ref, points: 500, context: CONTEXT }),
    );
    expect(earn.result.status).toBe(201);
    expect(earn.calls).toBe(1);
    const byAmount = await roundTrips(() =>
      client.post("/v1/earn", { member_ref: ref, amount: { value: "58.00", unit: "CNY" }, context: CONTEXT }),
    );
    expect([byAmount.result.status, byAmount.calls]).toEqual([201, 1]);
    const burn = await roundTrips(() =>
      client.post<{ transaction: { id: string } }>("/v1/burns", { member_ref: ref, points: 50, context: CONTEXT }),
    );
    expect([burn.result.status, burn.calls]).toEqual([201, 1]);
    const hold = await roundTrips(() =>
      client.post<{ transaction: { id: string } }>("/v1/burns", {
        member_ref: ref,
        points: 40,
        capture: false,
        context: CONTEXT,
      }),
    );
    expect([hold.result.status, hold.calls]).toEqual([201, 1]);
    const holdId = expectOk(hold.result).transaction.id;
    const capture = await roundTrips(() => client.post(`/v1/burns/${holdId}/capture`, { points: 30 }));
    expect([capture.result.status, capture.calls]).toEqual([200, 1]);
    const other = expectOk(
      await client.post<{ transaction: { id: string } }>("/v1/burns", {
        member_ref: ref,
        points: 10,
        capture: false,
        context: CONTEXT,
      }),
    );
    const voided = await roundTrips(() => client.post(`/v1/burns/${other.transaction.id}/void`, {}));
    expect([voided.result.status, voided.calls]).toEqual([200, 1]);
    const earnReversal = await roundTrips(() =>
      client.post(`/v1/transactions/${expectOk(earn.result).transaction.id}/reversals`, { points: 100 }),
    );
    expect([earnReversal.result.status, earnReversal.calls]).toEqual([201, 1]);
    const burnReversal = await roundTrips(() =>
      client.post(`/v1/transactions/${expectOk(burn.result).transaction.id}/reversals`, {}),
    );
    expect([burnReversal.result.status, burnReversal.calls]).toEqual([201, 1]);
    await checkInvariants();
  });

  it("an earn's batch opens with one guard statement (key, partner, jti, catalogue, key, member), then the jti", async () => {
    const earn = await roundTrips(() => client.post("/v1/earn", { member_ref: ref, points: 5, context: CONTEXT }));
    expect([earn.result.status, earn.calls]).toEqual([201, 1]);
    const [opening, second] = counter.lastBatch;
    for (const code of [
      "unknown_key",
      "partner_suspended",
      "replayed_request",
      "catalogue_stale",
      "idempotency_key_exists",
      "member_not_found",
    ]) {
      expect(opening, code).toContain(`'${code}'`);
    }
    expect(second).toMatch(/^INSERT INTO request_nonces/);
    // The transaction, the funding guard and draw, the lot, debt repayment (2), its credit, the transfers, the record.
    expect(counter.lastBatch).toHaveLength(11);
  });

  it("enrolment, link code: one each", async () => {
    const fresh = newRef();
    const enrolment = await roundTrips(() => client.put(`/v1/members/${fresh}`, { context: CONTEXT }));
    expect([enrolment.result.status, enrolment.calls]).toEqual([201, 1]);
    const code = await roundTrips(() => client.post<{ link_code: string }>(`/v1/members/${fresh}/link-codes`, {}));
    expect([code.result.status, code.calls]).toEqual([201, 1]);
    const linked = await roundTrips(() =>
      countedClient(q).put(`/v1/members/${newRef()}`, { link_code: expectOk(code.result).link_code, context: CONTEXT }),
    );
    expect([linked.result.status, linked.calls]).toEqual([201, 1]);
  });

  it("operator adjustment, payment and payout: one each", async () => {
    const adjustment = await roundTrips(() =>
      countedOperator("POST", `/members/${memberId}/adjustments`, { points: 25, reason: "goodwill" }, `adj-${newRef()}`),
    );
    expect([adjustment.result.status, adjustment.calls]).toEqual([201, 1]);
    const payment = await roundTrips(() =>
      countedOperator(
        "POST",
        `/partners/${p.id}/payments`,
        { amount: { value: "1.00", unit: "CNY" }, reference: "w" },
        `pay-${newRef()}`,
      ),
    );
    expect([payment.result.status, payment.calls]).toEqual([201, 1]);
  });

  it("signed GETs: one each", async () => {
    for (const path of [
      `/v1/members/${ref}/balance`,
      `/v1/members/${ref}/activity`,
      "/v1/quote?unit=CNY&value=10.00",
      "/v1/partner",
    ]) {
      const read = await roundTrips(() => client.get(path));
      expect([path, read.result.status, read.calls]).toEqual([path, 200, 1]);
    }
    const earn = expectOk(
      await client.post<{ transaction: { id: string } }>("/v1/earn", { member_ref: ref, points: 1, context: CONTEXT }),
    );
    const txn = await roundTrips(() => client.get(`/v1/transactions/${earn.transaction.id}`));
    expect([txn.result.status, txn.calls]).toEqual([200, 1]);
  });
});

describe("the rarer paths", () => {
  it("a replay takes two (the failed batch, then the record with the jti); a stored business outcome two", async () => {
    const body = { member_ref: ref, points: 5, context: CONTEXT };
    const key = `replay-${newRef()}`;
    expectOk(await client.post("/v1/earn", body, { idempotencyKey: key }), 201);
    const replay = await roundTrips(() => client.post("/v1/earn", body, { idempotencyKey: key }));
    expect([replay.result.status, replay.result.replayed, replay.calls]).toEqual([201, true, 2]);
    const refused = await roundTrips(() => client.post("/v1/burns", { member_ref: ref, points: 10 ** 9, context: CONTEXT }));
    expect([refused.result.status, refused.calls]).toEqual([422, 2]);
  });

  it("a validation error takes one: the admission checks alone, which record the jti", async () => {
    const bad = await roundTrips(() => client.post("/v1/earn", { member_ref: ref, points: -1, context: CONTEXT }));
    expect([bad.result.status, bad.calls]).toEqual([400, 1]);
  });
});

describe("catalogue changes apply to the very next request in the same isolate", () => {
  it("a new rate card in force", async () => {
    const r = await partnerWithCard();
    const c = countedClient(r);
    const { ref: m } = await enrol(r);
    const before = expectOk(
      await c.post<{ transaction: { points: number } }>("/v1/earn", {
        member_ref: m,
        amount: { value: "10.00", unit: "CNY" },
        context: CONTEXT,
      }),
    );
    expect(before.transaction.points).toBe(10);
    expect(
      (await operator("POST", `/partners/${r.id}/rate-cards`, { ...DEFAULT_CARD, earn: [{ unit: "CNY", points_per_unit: "3" }] }))
        .status,
    ).toBe(201);
    const after = await roundTrips(() =>
      c.post<{ transaction: { points: number } }>("/v1/earn", {
        member_ref: m,
        amount: { value: "10.00", unit: "CNY" },
        context: CONTEXT,
      }),
    );
    expect(expectOk(after.result).transaction.points).toBe(30);
    // Decided on the stale catalogue, refused by its guard, reloaded and decided again.
    expect(after.calls).toBe(3);
  });

  it("a key revoked, a partner suspended", async () => {
    const r = await createPartner();
    const c = countedClient(r);
    expectOk(await c.get("/v1/partner"), 200);
    expect((await operator("DELETE", `/partners/${r.id}/keys/${r.credentials.kid}`)).status).toBe(200);
    const revoked = await c.get("/v1/partner");
    expect([revoked.status, revoked.ok ? "" : revoked.error.code]).toEqual([401, "unknown_key"]);

    const s = await partnerWithCard();
    const sc = countedClient(s);
    const { ref: m } = await enrol(s);
    expectOk(await sc.post("/v1/earn", { member_ref: m, points: 1, context: CONTEXT }), 201);
    expect((await operator("PATCH", `/partners/${s.id}`, { status: "suspended" })).status).toBe(200);
    const suspended = await sc.post("/v1/earn", { member_ref: m, points: 1, context: CONTEXT });
    expect([suspended.status, suspended.ok ? "" : suspended.error.code]).toEqual([403, "partner_suspended"]);
  });

  it("a rule set replaced", async () => {
    const r = await partnerWithCard();
    const c = countedClient(r);
    const { ref: m } = await enrol(r);
    expectOk(await c.post("/v1/earn", { member_ref: m, points: 500, context: CONTEXT }), 201);
    const rules = [{ id: "cap-100", action: "deny", applies_to: "earn", subject: "transaction", max_points: 100 }];
    expect((await operator("PUT", "/risk-rules", { rules })).status).toBe(200);
    try {
      const declined = await c.post("/v1/earn", { member_ref: m, points: 500, context: CONTEXT });
      expect([declined.status, declined.ok ? "" : declined.error.code]).toEqual([422, "cap-100"]);
    } finally {
      expect((await operator("PUT", "/risk-rules", { rules: [] })).status).toBe(200);
    }
    expectOk(await c.post("/v1/earn", { member_ref: m, points: 500, context: CONTEXT }), 201);
  });
});
