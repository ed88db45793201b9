import { createRoute, z } from "@hono/zod-openapi";
import type { RouteModule } from "../http/app";
import { ApiError } from "../http/errors";
import { badCursor, decodeCursor } from "../http/pagination";
import { errorResponses, jsonResponse, ListQuery, listOf, OPERATOR_AUTH_ERRORS } from "../http/schemas";
import { tag } from "../http/tags";
import { checkBucketMap } from "../shards/bucket-map";
import { CoalitionNotEmptyError, loadBucketMap, spreadOverShards } from "../shards/bucket-map-store";
import { shardsOf } from "../shards/registry";
import { shardStatusPage } from "../shards/status";

/**
 * Additive to operator-api.md (issue 11, docs/design/shards.md): the ledger's databases, each
 * with its buckets, members, transactions and size, and whether it answered. A list in the
 * contract's shape (`data`, `next_cursor`), in shard order (shards have no age to sort by).
 */

const Figure = (description: string) => z.number().int().nonnegative().nullable().openapi({ description });

const Bucket = z.number().int().min(0).max(4095);

const BucketRangeSchema = z
  .object({ from: Bucket, to: Bucket, count: z.number().int().min(1).max(4096) })
  .openapi("ShardBucketRange", { description: "Buckets from…to, inclusive, and how many" });

const ShardSchema = z
  .object({
    id: z.string().openapi({ description: "shard_k, k from 0" }),
    binding: z
      .string()
      .openapi({ description: "The worker's binding of the shard's D1 database: DB for shard_0, SHARD_k after" }),
    buckets: z.object({ from: Bucket.nullable(), to: Bucket.nullable(), count: z.number().int().min(0).max(4096) }).openapi({
      description:
        "The member buckets (of 4096) the bucket map gives the shard: the lowest and highest (inclusive; null when it holds none) and how many",
    }),
    ranges: z.array(BucketRangeSchema).openapi({
      description: "The bucket map's ranges on the shard, in bucket order; empty when it holds no bucket",
    }),
    members: Figure("Members in the shard; null when it is unreachable"),
    transactions: Figure("Transactions in the shard; null when it is unreachable"),
    database_bytes: Figure("The size of the shard's database (D1's size_after); null when it is unreachable"),
    reachable: z.boolean().openapi({ description: "Whether the shard answered (in 5 s)" }),
  })
  .openapi("Shard", {
    example: {
      id: "shard_0",
      binding: "DB",
      buckets: { from: 0, to: 4095, count: 4096 },
      ranges: [{ from: 0, to: 4095, count: 4096 }],
      members: 1200,
      transactions: 48_000,
      database_bytes: 25_165_824,
      reachable: true,
    },
  });

export const shardRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "get",
      path: "/shards",
      tags: tag("operatorShards"),
      summary: "The ledger's shards: buckets, members, transactions, database size, reachability",
      description:
        "A shard that fails or does not answer is listed with reachable: false and null figures, never as a 5xx of the whole list.",
      security: [{ OperatorToken: [] }],
      request: { query: ListQuery },
      responses: {
        200: jsonResponse("Shards, in shard order", listOf(ShardSchema)),
        ...errorResponses("invalid_param", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { limit, cursor } = c.req.valid("query");
      const position = decodeCursor(cursor, ["shard"]);
      const after = position === undefined ? undefined : position.shard;
      if (after !== undefined && !(typeof after === "number" && Number.isSafeInteger(after))) throw badCursor();
      const shards = shardsOf(c.env);
      // The map lives in main; an unreadable or invalid map is a 5xx (the shards' figures alone would mislead).
      const { ranges } = await loadBucketMap(c.env.DB);
      checkBucketMap(ranges, shards.length);
      return c.json(await shardStatusPage(shards, ranges, { limit, after }), 200);
    },
  );

  r.openapi(
    createRoute({
      method: "post",
      path: "/shards/spread",
      tags: tag("operatorShards"),
      summary: "Spread the member buckets over every bound shard (an empty coalition only)",
      description:
        "The first step of a sharded coalition, before any member enrols: every shard's copy of the bucket map, then main's, take the initial assignment (shard k of n holds buckets ⌈k·4096/n⌉ … ⌈(k+1)·4096/n⌉ − 1). Refused with 409 coalition_not_empty once any shard has a member: then only a bucket move changes the map. Repeating it on an empty coalition writes the same map again.",
      security: [{ OperatorToken: [] }],
      responses: {
        200: jsonResponse(
          "The bucket map",
          z
            .object({
              version: z.number().int().positive(),
              ranges: z.array(z.object({ first: Bucket, last: Bucket, shard: z.number().int().min(0).max(255) })),
            })
            .openapi("BucketMap"),
        ),
        ...errorResponses("coalition_not_empty", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      try {
        return c.json(await spreadOverShards(c.env), 200);
      } catch (error) {
        if (error instanceof CoalitionNotEmptyError) throw new ApiError("coalition_not_empty", error.message);
        throw error;
      }
    },
  );
};
