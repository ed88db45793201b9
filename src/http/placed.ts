import type { Context } from "hono";
import { copyCatalogueWhereBehind } from "../catalogue/replicate";
import { guardViolated } from "../db/guard";
import type { Sql } from "../db/sql-template";
import { forgetBucketMap, learnMemberOf, type Placement, place, placementGuard, type Target } from "../shards/placement";
import { shardsOf } from "../shards/registry";
import type { AppEnv } from "./context";

/**
 * Where a request's batch runs (src/shards/placement.ts): the member's shard for a request about
 * a member or one of its transactions, main for the rest. At N = 1 both are DB.
 */
export interface Placed {
  db: D1Database;
  /** Undefined for a request about no member (it runs on main). */
  placement: Placement | undefined;
  /** The batch runs on main (shard 0): there the claims and the admission can join it. */
  onMain: boolean;
  /** More than one shard is bound: Idempotency-Keys are claimed in main. */
  sharded: boolean;
  /** What opens the batch: the shard holds the bucket, the ref names a member of it. */
  guards: Sql[];
  bucket: number | undefined;
}

export async function placeRequest(c: Context<AppEnv>, target: Target | undefined, mintsIds: boolean): Promise<Placed> {
  if (!target) {
    return {
      db: c.env.DB,
      placement: undefined,
      onMain: true,
      sharded: shardsOf(c.env).length > 1,
      guards: [],
      bucket: undefined,
    };
  }
  const placement = await place(c.env, target);
  return {
    db: placement.shard.db,
    placement,
    onMain: placement.shard.index === 0,
    sharded: placement.sharded,
    guards: placementGuard(placement, { mintsIds }),
    bucket: placement.bucket,
  };
}

/**
 * After a batch failed: true when the failure was the placement's, and the request is to be
 * placed again (the map was stale, the ref is linked to a member in another bucket, the shard's
 * copy of the catalogue was behind main's: copied again first).
 */
export async function replaced(c: Context<AppEnv>, placed: Placed, error: unknown): Promise<boolean> {
  const code = guardViolated(error);
  if (code === "bucket_elsewhere") {
    forgetBucketMap();
    return true;
  }
  if (code === "member_elsewhere" && placed.placement) {
    await learnMemberOf(placed.placement);
    return true;
  }
  if (code === "catalogue_stale" && !placed.onMain) await copyCatalogueWhereBehind(c.env);
  return false;
}
