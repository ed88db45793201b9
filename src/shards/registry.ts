/**
 * The ledger's shards: the D1 databases that hold members and their ledger (docs/design/shards.md
 * "What lives where"). Today there is one, and it is the main database itself (at N = 1,
 * SHARD_0 = DB): the bindings SHARD_0…N−1 and the bucket map table come with the design's first
 * step. Each shard's buckets are the initial assignment (shardOfBucket) until buckets can move.
 */
import type { Env } from "../env";
import { type BucketRange, bucketsOfShard } from "./buckets";

export interface Shard {
  /** The shard's number k: its place in the initial assignment, and its id `shard_k`. */
  index: number;
  id: string;
  /** The worker binding of its database (wrangler.toml `[[d1_databases]]`). */
  binding: string;
  db: D1Database;
  buckets: BucketRange;
}

export function shardsOf(env: Pick<Env, "DB">): Shard[] {
  const databases: [binding: string, db: D1Database][] = [["DB", env.DB]];
  return databases.map(([binding, db], index) => ({
    index,
    id: `shard_${index}`,
    binding,
    db,
    buckets: bucketsOfShard(index, databases.length),
  }));
}
