import { env } from "cloudflare:workers";
import { expect, it } from "vitest";

/**
 * The worker under test gets exactly the bindings of wrangler.toml and vitest.config.ts: nothing
 * from a developer's `.dev.vars` (which `npm start` writes, and which may hold other settings).
 * Would fail if: the vitest config let the plugin load `.dev.vars` and it held any other name.
 */
it("has the bindings of wrangler.toml and vitest.config.ts, and no others", () => {
  // The pool's own bindings aside; SHARD_1 only in the `sharded` project (vitest.config.ts).
  const names = Object.keys(env).filter((name) => !name.startsWith("__VITEST_POOL_WORKERS_"));
  expect([1, 2]).toContain(env.TEST_SHARD_COUNT);
  expect(names.sort()).toEqual([
    "ASSETS",
    "DB",
    "OPERATOR_JWKS",
    "SETTLEMENT_CURRENCY",
    "SETTLEMENT_REPORTS",
    ...(env.TEST_SHARD_COUNT === 2 ? ["SHARD_1"] : []),
    "STATEMENT_SIGNING_JWK",
    "TEST_MIGRATIONS",
    "TEST_OPERATOR_PRIVATE_JWK",
    "TEST_SHARD_COUNT",
  ]);
  expect(env.SETTLEMENT_CURRENCY).toBe("CNY");
});
