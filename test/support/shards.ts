import { bucketOf, shardOfBucket } from "../../src/shards/buckets";

/** A fresh member_ref of `partnerId` whose own bucket the initial assignment over `shardCount` shards puts on `shard`. */
export async function refOnShard(partnerId: string, shard: number, prefix = "r", shardCount = 2): Promise<string> {
  for (let i = 0; ; i++) {
    const ref = `${prefix}-${shard}-${Date.now().toString(36)}-${i}`;
    if (shardOfBucket(await bucketOf(partnerId, ref), shardCount) === shard) return ref;
  }
}
