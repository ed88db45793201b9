import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { decodeCursor } from "../../src/http/pagination";
import { initialRanges } from "../../src/shards/bucket-map";
import { type Shard, shardsOf } from "../../src/shards/registry";
import { shardStatus, shardStatusPage } from "../../src/shards/status";

/**
 * The shard list's parts that N = 1 cannot show through HTTP: several shards paged in order,
 * asked in parallel, a hanging database cut off by the timeout, a failing one reported among
 * answering ones. The databases here are the real test D1 or stand-ins that fail or hang.
 * Would fail if: a page skipped or repeated a shard, shards were asked one after another, a
 * hanging shard held the answer, or one failing shard hid the others' figures.
 */

const hangs = { prepare: () => ({ all: () => new Promise(() => {}) }) } as unknown as D1Database;
const fails = {
  prepare: () => ({ all: () => Promise.reject(new Error("D1_ERROR: Network connection lost")) }),
} as unknown as D1Database;

function shard(index: number, db: D1Database): Shard {
  return { index, id: `shard_${index}`, binding: `SHARD_${index}`, db };
}

describe("shard status", () => {
  it("gives a shard the map's ranges on it, and an empty list with no span when the map gives it none", async () => {
    const map = [
      { first: 0, last: 9, shard: 1 },
      { first: 10, last: 4000, shard: 0 },
      { first: 4001, last: 4095, shard: 1 },
    ];
    const [main] = shardsOf(env);
    if (!main) throw new Error("no shard 0");
    const page = await shardStatusPage([main, shard(1, env.DB), shard(2, env.DB)], map, { limit: 10 });
    expect(page.data.map((s) => [s.buckets, s.ranges])).toEqual([
      [{ from: 10, to: 4000, count: 3991 }, [{ from: 10, to: 4000, count: 3991 }]],
      [
        { from: 0, to: 4095, count: 105 },
        [
          { from: 0, to: 9, count: 10 },
          { from: 4001, to: 4095, count: 95 },
        ],
      ],
      [{ from: null, to: null, count: 0 }, []],
    ]);
  });

  it("cuts off a shard that does not answer, in about its timeout", async () => {
    const started = Date.now();
    const status = await shardStatus(shard(0, hangs), initialRanges(1), 50);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(status).toMatchObject({ reachable: false, members: null, transactions: null, database_bytes: null });
  });

  it("pages 5 shards in shard order, each once, with one failing and one hanging among them", async () => {
    const dbs = [env.DB, fails, env.DB, hangs, env.DB];
    const shards = dbs.map((db, i) => shard(i, db)).reverse(); // order comes from the index, not the list
    const seen: { id: string; reachable: boolean; from: number | null }[] = [];
    let after: number | undefined;
    let pages = 0;
    const started = Date.now();
    for (;;) {
      const page = await shardStatusPage(shards, initialRanges(dbs.length), { limit: 2, after, timeoutMs: 300 });
      pages++;
      seen.push(...page.data.map((s) => ({ id: s.id, reachable: s.reachable, from: s.buckets.from })));
      if (page.next_cursor === null) break;
      after = Number(decodeCursor(page.next_cursor, ["shard"])?.shard);
    }
    expect(pages).toBe(3);
    expect(seen).toEqual([
      { id: "shard_0", reachable: true, from: 0 },
      { id: "shard_1", reachable: false, from: 820 },
      { id: "shard_2", reachable: true, from: 1639 },
      { id: "shard_3", reachable: false, from: 2458 },
      { id: "shard_4", reachable: true, from: 3277 },
    ]);
    // The hanging shard held its page for its timeout only.
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("asks a page's shards in parallel", async () => {
    let inFlight = 0;
    let most = 0;
    const slow = {
      prepare: () => ({
        all: async () => {
          inFlight++;
          most = Math.max(most, inFlight);
          await new Promise((r) => setTimeout(r, 30));
          inFlight--;
          return env.DB.prepare("SELECT 1 AS members, 2 AS transactions").all();
        },
      }),
    } as unknown as D1Database;
    const page = await shardStatusPage(
      [0, 1, 2, 3].map((i) => shard(i, slow)),
      initialRanges(4),
      { limit: 4 },
    );
    expect(most).toBe(4);
    expect(page.data.map((s) => [s.members, s.transactions, s.reachable])).toEqual([
      [1, 2, true],
      [1, 2, true],
      [1, 2, true],
      [1, 2, true],
    ]);
  });
});
