import { describe, expect, it } from "vitest";
import { operator } from "../support/exchange";
import { enrol, partnerWithCard } from "../support/ledger";

/** `POST /admin/v1/shards/spread` at N = 2 (the `sharded` project): the first step of a sharded coalition. */
describe("POST /admin/v1/shards/spread", () => {
  it("spreads an empty coalition over both shards, again idempotently, and refuses once a member exists", async () => {
    const first = await operator("POST", "/shards/spread");
    expect(first.status, first.text).toBe(200);
    expect(first.body.ranges).toEqual([
      { first: 0, last: 2047, shard: 0 },
      { first: 2048, last: 4095, shard: 1 },
    ]);
    const again = await operator("POST", "/shards/spread");
    expect(again.body.ranges).toEqual(first.body.ranges);
    const listed = await operator("GET", "/shards");
    expect(listed.body.data.map((s: { buckets: { count: number } }) => s.buckets.count)).toEqual([2048, 2048]);
    await enrol(await partnerWithCard());
    const refused = await operator("POST", "/shards/spread");
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe("coalition_not_empty");
  });

  it("is the operator's with the admin scope only", async () => {
    const r = await operator("POST", "/shards/spread", undefined, { tokenOptions: { scope: "read" } });
    expect(r.status).toBe(403);
  });
});
