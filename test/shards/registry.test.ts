import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_SHARDS, ShardConfigError, shardsOf } from "../../src/shards/registry";

/**
 * shardsOf reads the shards from the worker's bindings: DB is shard 0, SHARD_1 … SHARD_{N−1}
 * follow. The databases are the real test D1s, under the names each case binds them as.
 * Would fail if: a gap, a SHARD_0, a padded or malformed name, a binding that is not a D1, or
 * more than MAX_SHARDS shards were accepted (each is a case of its own), or the shards came
 * out of order.
 */

const db = env.DB;

function refusal(bindings: Record<string, unknown>): string {
  try {
    shardsOf(bindings as { DB: D1Database });
  } catch (error) {
    expect(error).toBeInstanceOf(ShardConfigError);
    return (error as Error).message;
  }
  throw new Error(`accepted ${Object.keys(bindings).join(", ")}`);
}

function shardBindings(count: number): Record<string, D1Database> {
  return Object.fromEntries(Array.from({ length: count - 1 }, (_, i) => [`SHARD_${i + 1}`, db]));
}

describe("shardsOf", () => {
  it("gives the worker's own shards: DB, then SHARD_1 when the project binds it", () => {
    const shards = shardsOf(env);
    expect(shards.map((s) => [s.index, s.id, s.binding])).toEqual(
      [
        [0, "shard_0", "DB"],
        [1, "shard_1", "SHARD_1"],
      ].slice(0, env.TEST_SHARD_COUNT),
    );
    expect(shards[0]?.db).toBe(env.DB);
    if (env.TEST_SHARD_COUNT === 2) expect(shards[1]?.db).toBe(env.SHARD_1);
  });

  it("orders the shards by number, whatever the order of the bindings, and ignores other names", () => {
    const shards = shardsOf({ SHARD_10: db, SHARD_2: db, ...shardBindings(10), DB: db, SHARDS: "4", NOT_SHARD_1: 7 } as never);
    expect(shards.map((s) => s.binding)).toEqual(["DB", ...Array.from({ length: 10 }, (_, i) => `SHARD_${i + 1}`)]);
    expect(shards.map((s) => s.index)).toEqual(Array.from({ length: 11 }, (_, i) => i));
  });

  it("refuses a gap: SHARD_2 without SHARD_1", () => {
    expect(refusal({ DB: db, SHARD_2: db })).toMatch(/SHARD_1 is missing/);
    expect(refusal({ DB: db, SHARD_1: db, SHARD_3: db })).toMatch(/SHARD_2 is missing/);
  });

  it("refuses SHARD_0: shard 0 is DB", () => {
    expect(refusal({ DB: db, SHARD_0: db })).toMatch(/SHARD_0 .*DB/);
  });

  it("refuses padded and malformed shard names", () => {
    expect(refusal({ DB: db, SHARD_1: db, SHARD_01: db })).toMatch(/SHARD_01 is not a shard binding/);
    expect(refusal({ DB: db, SHARD_00: db })).toMatch(/SHARD_00 is not a shard binding/);
    expect(refusal({ DB: db, SHARD_one: db })).toMatch(/SHARD_one is not a shard binding/);
  });

  it("refuses a SHARD_k or a DB that is not a D1 database", () => {
    expect(refusal({ DB: db, SHARD_1: "coalition-shard-1" })).toMatch(/SHARD_1 is not a D1 database/);
    expect(refusal({ DB: db, SHARD_1: env.ASSETS })).toMatch(/SHARD_1 is not a D1 database/);
    expect(refusal({ DB: "main" })).toMatch(/DB is not a D1 database/);
  });

  it(`takes ${MAX_SHARDS} shards and refuses one more`, () => {
    expect(shardsOf({ DB: db, ...shardBindings(MAX_SHARDS) } as never)).toHaveLength(MAX_SHARDS);
    expect(refusal({ DB: db, ...shardBindings(MAX_SHARDS + 1) })).toMatch(/257 shards are bound; at most 256/);
  });
});
