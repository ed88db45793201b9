import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { PartnerClient } from "../../packages/partner-sdk/src/index";
import { app } from "../../src/index";
import { nextSecond, settleClockAtNoon } from "../settlement/support";
import { type CallCounter, counting } from "../support/d1-calls";
import { BASE_URL, operatorToken, type TestPartner } from "../support/exchange";
import { CONTEXT, enrol, expectOk, partnerWithCard } from "../support/ledger";

/**
 * D1 round trips per operation at N = 1 and N = 2, per database (issue 11 §2: "state the round trips per
 * operation at N = 1 and N > 1"; BENCHMARKS.md shows these figures). Each binding counts its own
 * calls (a batch, or one statement's run / all / first / raw). Member writes are not routed yet,
 * so they stay one call on DB; what spans the shards today is the catalogue copy and the close.
 */

const main: CallCounter = { calls: 0, lastBatch: [] };
const shard: CallCounter = { calls: 0, lastBatch: [] };
/** This file runs in both vitest projects: N = 2 (DB, SHARD_1) and N = 1 (DB alone). */
const N = env.TEST_SHARD_COUNT;
const shard1 = (env as unknown as Record<string, D1Database | undefined>).SHARD_1;
const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
const countedFetch = async (request: Request): Promise<Response> =>
  app.fetch(request, { ...env, DB: counting(env.DB, main), ...(shard1 ? { SHARD_1: counting(shard1, shard) } : {}) }, ctx);
/** The calls at N = 1, or at N = 2. */
const at = (one: number, two: number) => (N === 1 ? one : two);

async function roundTrips(action: () => Promise<{ status: number }>) {
  main.calls = 0;
  shard.calls = 0;
  const { status } = await action();
  return { status, main: main.calls, shard_1: shard.calls };
}

async function operatorCall(method: string, path: string, body?: unknown) {
  return countedFetch(
    new Request(`${BASE_URL}/admin/v1${path}`, {
      method,
      headers: { Authorization: `Bearer ${await operatorToken()}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );
}

let p: TestPartner;
let client: PartnerClient;
let ref: string;

beforeAll(async () => {
  await settleClockAtNoon();
  p = await partnerWithCard();
  client = new PartnerClient({ baseUrl: BASE_URL, credentials: p.credentials, fetch: countedFetch, maxRetries: 0 });
  ref = (await enrol(p)).ref;
});

describe(`round trips per operation at N = ${N}`, () => {
  it("a member write and a signed read: one call on DB, none on shard 1 (not routed yet)", async () => {
    const earn = await roundTrips(async () => {
      const r = await client.post("/v1/earn", { member_ref: ref, points: 100, context: CONTEXT });
      return { status: r.status };
    });
    expect(earn).toEqual({ status: 201, main: 1, shard_1: 0 });
    const read = await roundTrips(async () => ({ status: (await client.get(`/v1/members/${ref}/balance`)).status }));
    expect(read).toEqual({ status: 200, main: 1, shard_1: 0 });
  });

  it("a catalogue change: the route's own calls and one snapshot read on DB, one copy batch on shard 1", async () => {
    const change = await roundTrips(() => operatorCall("PATCH", `/partners/${p.id}`, { name: "Renamed" }));
    expect(change).toEqual({ status: 200, main: at(PARTNER_UPDATE_CALLS, PARTNER_UPDATE_CALLS + 1), shard_1: at(0, 1) });
    // An adjustment is not a catalogue change: still one call, nothing on shard 1.
    const memberId = expectOk(await client.get<{ member_id: string }>(`/v1/members/${ref}/balance`)).member_id;
    const adjustment = await roundTrips(async () =>
      countedFetch(
        new Request(`${BASE_URL}/admin/v1/members/${memberId}/adjustments`, {
          method: "POST",
          headers: {
            Authorization: `Bearer ${await operatorToken()}`,
            "Content-Type": "application/json",
            "Idempotency-Key": `rt-${Date.now()}`,
          },
          body: JSON.stringify({ points: 5, reason: "goodwill" }),
        }),
      ),
    );
    expect(adjustment).toEqual({ status: 201, main: 1, shard_1: 0 });
  });

  it("a close: on shard 1 one cut batch and one read of its sums; statement lines and metrics one read on shard 1 each", async () => {
    await nextSecond();
    const close = await roundTrips(() => operatorCall("POST", "/settlements/close", { period_end: new Date().toISOString() }));
    expect(close.status).toBe(200);
    expect(close.shard_1).toBe(at(0, 2));
    // At N > 1 one more: main's schedule, read for the cut's copy of it.
    expect(close.main).toBe(at(CLOSE_CALLS_ON_MAIN, CLOSE_CALLS_ON_MAIN + 1));
    const list = expectOk(await client.get<{ data: { id: string }[] }>("/v1/settlements?limit=1"));
    const id = list.data[0]?.id;
    const lines = await roundTrips(async () => ({ status: (await client.get(`/v1/settlements/${id}/lines`)).status }));
    // On DB as at N = 1: admission, the period and the statement (in parallel), DB's lines; shard 1's lines in parallel.
    expect(lines).toEqual({ status: 200, main: 4, shard_1: at(0, 1) });
    const metrics = await roundTrips(() => operatorCall("GET", "/metrics?periods=1"));
    expect(metrics.status).toBe(200);
    expect(metrics.shard_1).toBe(at(0, 1));
  });
});

/** What `PATCH /admin/v1/partners/{id}` costs by itself (at N = 1 too): reads, its batch, the answer's reads. */
const PARTNER_UPDATE_CALLS = 5;
/** A close of one period on main: its sequential reads, the claim, the storing batch (BENCHMARKS.md). */
const CLOSE_CALLS_ON_MAIN = 18;
