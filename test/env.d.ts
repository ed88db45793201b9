// Types of the test bindings (vitest.config.ts) and of the main module, for cloudflare:workers.
type ExchangeEnv = import("../src/env").Env;
declare namespace Cloudflare {
  interface Env extends ExchangeEnv {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    /** The vitest project's shard count: 2 for `sharded` (DB, SHARD_1), 1 for `single` (DB). */
    TEST_SHARD_COUNT: number;
    TEST_OPERATOR_PRIVATE_JWK: string;
  }
  interface GlobalProps {
    mainModule: typeof import("../src/index");
  }
}
