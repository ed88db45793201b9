import { runBatch, type Sql } from "../db/sql-template";
import type { Env } from "../env";
import { type Shard, shardsOf } from "./registry";

/**
 * Calls that span the shards (docs/design/shards.md): reads of every shard, and the copies of
 * main's rows that every shard must hold. All in parallel, never one shard after another.
 */

/** A write some shards did not take; what they did take stays (the writes are idempotent upserts). */
export class ShardWriteError extends Error {
  override name = "ShardWriteError";
  constructor(readonly failures: { shard: string; error: unknown }[]) {
    super(`not written on ${failures.map((f) => `${f.shard} (${String(f.error)})`).join(", ")}`);
  }
}

/** Reads every shard, in parallel; the answers in shard order. */
export function readEveryShard<T>(env: Env, read: (db: D1Database, shard: Shard) => Promise<T>): Promise<T[]> {
  return Promise.all(shardsOf(env).map((shard) => read(shard.db, shard)));
}

/**
 * Writes a copy of main's rows to every shard but shard 0 (the main database itself, which wrote
 * them first): one batch per shard, in parallel. Only idempotent statements, so a copy that failed
 * somewhere is simply written again; fails once every shard has answered, naming those that did not take it.
 */
export async function copyToShards(env: Env, statements: readonly Sql[]): Promise<void> {
  const others = shardsOf(env).slice(1);
  const results = await Promise.allSettled(others.map((shard) => runBatch(shard.db, statements)));
  const failures = results.flatMap((r, i) => (r.status === "rejected" ? [{ shard: others[i]?.id ?? "?", error: r.reason }] : []));
  if (failures.length > 0) throw new ShardWriteError(failures);
}
