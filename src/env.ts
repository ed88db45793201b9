/** Bindings and configuration of the worker (wrangler.toml, secrets, `.dev.vars`). */
export interface Env {
  /** The main database: the catalogue and the bucket map, and shard 0 of the ledger. */
  DB: D1Database;
  /** R2: closed settlement reports' bodies (src/settlement/report-objects.ts). */
  SETTLEMENT_REPORTS: R2Bucket;
  /**
   * Further shards of the ledger, SHARD_1 … SHARD_{N−1} (docs/design/shards.md): optional, so a
   * deployment at N = 1 binds DB alone. shardsOf (src/shards/registry.ts) checks the names.
   */
  [shard: `SHARD_${number}`]: D1Database | undefined;
  /** wrangler.toml's [assets]: the docs' Swagger UI files (src/http/docs.ts). */
  ASSETS: Fetcher;
  /** Coalition settlement currency, e.g. "CNY". */
  SETTLEMENT_CURRENCY: string;
  /** JSON public JWK set `{ "keys": [...] }` that operator tokens are verified against. */
  OPERATOR_JWKS: string;
  /** JSON private JWK (with `kid` and `alg`) that signs settlement reports. Never an operator key. */
  STATEMENT_SIGNING_JWK: string;
  /** Local runs only (`npm start` writes it into .dev.vars): the demo partners' keys for /docs "try it" (src/http/docs-try-it.ts). */
  DOCS_TRY_IT_KEYS?: string;
}
