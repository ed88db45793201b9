/**
 * The ledger's shards: the D1 databases that hold members and their ledger (docs/design/shards.md
 * "What lives where"). Shard 0 is the main database itself (`DB`); further shards are the
 * bindings SHARD_1 … SHARD_{N−1}. Which buckets each holds is the bucket map's business
 * (src/shards/bucket-map.ts), not the binding's.
 */
import type { Env } from "../env";

/** More than 64 (issue 11) with room to grow; a bucket map row's CHECK allows shard numbers below this. */
export const MAX_SHARDS = 256;

export interface Shard {
  /** The shard's number k, and its id `shard_k`. */
  index: number;
  id: string;
  /** The worker binding of its database: DB for shard 0, SHARD_k after. */
  binding: string;
  db: D1Database;
}

/** A wrangler configuration that cannot be a set of shards: the worker must not guess which was meant. */
export class ShardConfigError extends Error {
  override name = "ShardConfigError";
}

const SHARD_NAME = /^SHARD_(.*)$/;
/** k ≥ 1 without leading zeros: SHARD_01 and SHARD_1 would otherwise both be shard 1. */
const SHARD_NUMBER = /^[1-9][0-9]*$/;

/**
 * Whether `value` has D1's methods of its own (its class's), not merely answers to them: a
 * service binding (an RPC stub) gives a function for any name it is asked.
 */
function isD1(value: unknown): value is D1Database {
  const defines = (name: string) => {
    for (let o: object | null = value as object; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
      if (Object.hasOwn(o, name)) return typeof (value as Record<string, unknown>)[name] === "function";
    }
    return false;
  };
  return typeof value === "object" && value !== null && ["prepare", "batch", "exec"].every(defines);
}

/** The shard number a binding name declares, or undefined for a name outside SHARD_…. */
function shardNumberOf(name: string): number | undefined {
  const suffix = SHARD_NAME.exec(name)?.[1];
  if (suffix === undefined) return undefined;
  if (suffix === "0") throw new ShardConfigError("SHARD_0 is not a binding: shard 0 is the main database, DB");
  if (!SHARD_NUMBER.test(suffix)) {
    throw new ShardConfigError(`${name} is not a shard binding: shards are SHARD_1, SHARD_2, … (no leading zeros)`);
  }
  return Number(suffix);
}

/** Every request places itself with the shard list: read from an env object once (its bindings do not change). */
const listed = new WeakMap<object, Shard[]>();

/** The shards bound to the worker, in shard order: DB, then SHARD_1 … SHARD_{N−1}, with no gap. */
export function shardsOf(env: Pick<Env, "DB">): Shard[] {
  let shards = listed.get(env);
  if (!shards) {
    shards = listShards(env);
    listed.set(env, shards);
  }
  return shards;
}

function listShards(env: Pick<Env, "DB">): Shard[] {
  const bound = env as unknown as Record<string, unknown>;
  if (!isD1(bound.DB)) throw new ShardConfigError("DB is not a D1 database binding");
  const numbered = new Map<number, D1Database>();
  for (const [name, value] of Object.entries(bound)) {
    const k = shardNumberOf(name);
    if (k === undefined) continue;
    if (!isD1(value)) throw new ShardConfigError(`${name} is not a D1 database binding`);
    numbered.set(k, value);
  }
  const count = numbered.size + 1;
  if (count > MAX_SHARDS) throw new ShardConfigError(`${count} shards are bound; at most ${MAX_SHARDS} are supported`);
  const shards: Shard[] = [{ index: 0, id: "shard_0", binding: "DB", db: bound.DB }];
  for (let k = 1; k < count; k++) {
    const db = numbered.get(k);
    if (!db) throw new ShardConfigError(`SHARD_${k} is missing: the shards are SHARD_1 … SHARD_${count - 1} with no gap`);
    shards.push({ index: k, id: `shard_${k}`, binding: `SHARD_${k}`, db });
  }
  return shards;
}
