// Types of the test bindings (vitest.config.ts) and of the main module, for cloudflare:workers.
type ExchangeEnv = import("../src/env").Env;
declare namespace Cloudflare {
  interface Env extends ExchangeEnv {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    TEST_OPERATOR_PRIVATE_JWK: string;
  }
  interface GlobalProps {
    mainModule: typeof import("../src/index");
  }
}
