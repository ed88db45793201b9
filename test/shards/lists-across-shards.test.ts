import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { spreadOverShards } from "../../src/shards/bucket-map-store";
import { mergeStreams } from "../../src/shards/merge";
import { setRules } from "../risk/support";
import { operator, type TestPartner } from "../support/exchange";
import { burn, earn, enrol, expectOk, partnerWithCard } from "../support/ledger";
import { refOnShard } from "../support/shards";

/**
 * The operator's lists that span members read every shard (issue 11 §4: "reviews and risk
 * events read across shards"): at N = 2 with the map spread, reviews and risk events of members
 * on both shards are listed, each once, in one order, across pages.
 */

const refOn = (partner: TestPartner, shard: number, i: number) => refOnShard(partner.id, shard, `l${i}`);

let A: TestPartner;
const members: string[] = [];

beforeAll(async () => {
  await spreadOverShards(env as unknown as Env);
  A = await partnerWithCard();
  await setRules([
    { id: "big-earn", action: "review", applies_to: "earn", subject: "transaction", max_points: 100 },
    { id: "no-big-burn", action: "deny", applies_to: "burn", subject: "transaction", max_points: 50 },
  ]);
  for (const i of [0, 1, 2]) for (const shard of [0, 1]) members.push(await refOn(A, shard, i));
  for (const ref of members) {
    await enrol(A, ref);
    expectOk(await earn(A, ref, 500), 201); // review
    expectOk(await earn(A, ref, 80), 201); // posted
    expect((await burn(A, ref, 60)).status).toBe(422); // declined: an event
  }
});

describe("operator lists across shards", () => {
  it("reviews of members on both shards, oldest first, each once across pages", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const r = await operator("GET", `/reviews?limit=4${cursor ? `&cursor=${cursor}` : ""}`);
      expect(r.status).toBe(200);
      seen.push(...(r.body.data as { transaction: { id: string } }[]).map((d) => d.transaction.id));
      cursor = r.body.next_cursor;
    } while (cursor);
    expect(seen.length).toBe(members.length);
    expect(new Set(seen).size).toBe(members.length);
    const shard1 = (env as unknown as Record<string, D1Database>).SHARD_1 as D1Database;
    const there = await shard1.prepare("SELECT COUNT(*) AS n FROM transactions WHERE status = 'review'").first<{ n: number }>();
    expect(there?.n).toBe(3);
  });

  it("risk events of both shards, newest first, each once across pages of 2", async () => {
    const seen: { id: string; at: string }[] = [];
    let cursor: string | null = null;
    do {
      const r = await operator("GET", `/risk-events?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(r.status).toBe(200);
      seen.push(...(r.body.data as { id: string; at: string }[]));
      cursor = r.body.next_cursor;
    } while (cursor);
    // Per member: a review and a decline.
    expect(seen.length).toBe(members.length * 2);
    expect(new Set(seen.map((e) => e.id)).size).toBe(seen.length);
    expect(seen.some((e) => e.id.startsWith("rsk_1_"))).toBe(true);
    const times = seen.map((e) => e.at);
    expect([...times].sort().reverse()).toEqual(times);
  });

  it("a cursor that names no shard position is refused", async () => {
    const bad = btoa(JSON.stringify({ zz: 1 })).replaceAll("=", "");
    expect((await operator("GET", `/risk-events?cursor=${bad}`)).status).toBe(400);
  });
});

describe("mergeStreams", () => {
  it("takes the head ranked first, keeps each stream's order, and says whether rows were left", () => {
    const newer = (a: number, b: number) => a > b;
    expect(
      mergeStreams(
        [
          [9, 5, 1],
          [8, 7],
        ],
        newer,
        4,
      ),
    ).toEqual({
      taken: [
        { shard: 0, row: 9 },
        { shard: 1, row: 8 },
        { shard: 1, row: 7 },
        { shard: 0, row: 5 },
      ],
      more: true,
    });
    expect(mergeStreams([[2], [2]], newer, 5)).toEqual({
      taken: [
        { shard: 0, row: 2 },
        { shard: 1, row: 2 },
      ],
      more: false,
    });
    expect(mergeStreams([[], []], newer, 3)).toEqual({ taken: [], more: false });
  });
});
