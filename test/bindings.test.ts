import { env } from "cloudflare:workers";
import { expect, it } from "vitest";

/**
 * The worker under test gets exactly the bindings of wrangler.toml and vitest.config.ts: nothing
 * from a developer's `.dev.vars` (which `npm start` writes, and which may hold other settings).
 * Would fail if: the vitest config let the plugin load `.dev.vars` and it held any other name.
 */
it("has the bindings of wrangler.toml and vitest.config.ts, and no others", () => {
  // The pool's own bindings aside.
  const names = Object.keys(env).filter((name) => !name.startsWith("__VITEST_POOL_WORKERS_"));
  expect(names.sort()).toEqual([
    "ASSETS",
    "DB",
    "OPERATOR_JWKS",
    "SETTLEMENT_CURRENCY",
    "SETTLEMENT_REPORTS",
    "STATEMENT_SIGNING_JWK",
    "TEST_MIGRATIONS",
    "TEST_OPERATOR_PRIVATE_JWK",
  ]);
  expect(env.SETTLEMENT_CURRENCY).toBe("CNY");
});
