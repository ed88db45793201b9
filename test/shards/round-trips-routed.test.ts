import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { PartnerClient } from "../../packages/partner-sdk/src/index";
import type { Env } from "../../src/env";
import { app } from "../../src/index";
import { spreadOverShards } from "../../src/shards/bucket-map-store";
import { type CallCounter, counting } from "../support/d1-calls";
import { BASE_URL, type TestPartner } from "../support/exchange";
import { CONTEXT, enrol, expectOk, partnerWithCard } from "../support/ledger";
import { refOnShard } from "../support/shards";

/**
 * D1 round trips per operation at N = 2 with the member buckets spread (issue 11 §2; BENCHMARKS.md
 * "Round trips per operation"): a write about a member on shard 1 is one round on main (the
 * signed request's checks, the key's claim, the device/IP risk counters, the funding
 * reservation: one batch) and one batch on shard 1; a read runs main's checks and the shard's
 * read in parallel (two calls, one round); a member on shard 0 (main) costs one call, as at N = 1.
 */

const main: CallCounter = { calls: 0, lastBatch: [] };
const shard: CallCounter = { calls: 0, lastBatch: [] };
const shard1 = (env as unknown as Record<string, D1Database>).SHARD_1 as D1Database;
const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
const countedFetch = async (request: Request): Promise<Response> =>
  app.fetch(request, { ...env, DB: counting(env.DB, main), SHARD_1: counting(shard1, shard) }, ctx);

async function roundTrips(action: () => Promise<{ status: number }>) {
  main.calls = 0;
  shard.calls = 0;
  const { status } = await action();
  return { status, main: main.calls, shard_1: shard.calls };
}

let p: TestPartner;
let client: PartnerClient;
const refs: string[] = [];

beforeAll(async () => {
  await spreadOverShards(env as unknown as Env);
  p = await partnerWithCard();
  client = new PartnerClient({ baseUrl: BASE_URL, credentials: p.credentials, fetch: countedFetch, maxRetries: 0 });
  for (const want of [0, 1]) refs[want] = await refOnShard(p.id, want, "rt");
  // Warm this isolate's bucket map and catalogue (each read once per isolate, not per request).
  for (const ref of refs) await enrol(p, ref);
  await client.get(`/v1/members/${refs[1]}/balance`);
});

describe("round trips per operation at N = 2, routed", () => {
  it("an earn and a burn: one on main and one on shard 1 for a member there; one on main for a member on main", async () => {
    const earn1 = await roundTrips(async () => ({
      status: (await client.post("/v1/earn", { member_ref: refs[1], points: 100, context: CONTEXT })).status,
    }));
    expect(earn1).toEqual({ status: 201, main: 1, shard_1: 1 });
    const burn1 = await roundTrips(async () => ({
      status: (await client.post("/v1/burns", { member_ref: refs[1], points: 10, context: CONTEXT })).status,
    }));
    expect(burn1).toEqual({ status: 201, main: 1, shard_1: 1 });
    const earn0 = await roundTrips(async () => ({
      status: (await client.post("/v1/earn", { member_ref: refs[0], points: 100, context: CONTEXT })).status,
    }));
    expect(earn0).toEqual({ status: 201, main: 1, shard_1: 0 });
  });

  it("a signed read: main's checks and the shard's read in parallel for a member on shard 1; one call on main", async () => {
    const read1 = await roundTrips(async () => ({ status: (await client.get(`/v1/members/${refs[1]}/balance`)).status }));
    expect(read1).toEqual({ status: 200, main: 1, shard_1: 1 });
    const read0 = await roundTrips(async () => ({ status: (await client.get(`/v1/members/${refs[0]}/balance`)).status }));
    expect(read0).toEqual({ status: 200, main: 1, shard_1: 0 });
  });

  it("an enrolment on shard 1: main's checks, then the shard's batch", async () => {
    const ref = await refOnShard(p.id, 1, "rt-new");
    const enrolled = await roundTrips(async () => ({
      status: (await client.put(`/v1/members/${ref}`, { context: CONTEXT })).status,
    }));
    expect(enrolled).toEqual({ status: 201, main: 1, shard_1: 1 });
    expectOk(await client.get(`/v1/members/${ref}/balance`));
  });
});
