import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { exportJWK, generateKeyPair } from "jose";
import { defineConfig } from "vitest/config";
import { unstable_convertConfigBindingsToStartWorkerBindings, unstable_readConfig } from "wrangler";
import { writeStaticAssets } from "./scripts/lib/static-assets.ts";

/**
 * Tests run inside workerd against a local D1 with the real migrations (test/setup.ts applies
 * them). Storage is isolated per test file. Keys for the operator and the statement signer are
 * generated per run, like a local `npm start` does; tests read the private halves from bindings.
 */

/**
 * The worker as wrangler.toml declares it (entry point, compatibility, D1, vars), read with
 * wrangler's own parser but handed to the plugin as Miniflare options. Given the config file
 * itself, the plugin would also load the `.dev.vars` beside it (a developer's `npm start`
 * secrets and whatever else is in there, announced once per test file): tests get exactly the
 * bindings below and nothing from a developer's machine.
 */
function workerFromWranglerToml() {
  const config = unstable_readConfig({ config: path.join(import.meta.dirname, "wrangler.toml") });
  const d1Databases: Record<string, string> = {};
  const r2Buckets: Record<string, string> = {};
  const vars: Record<string, unknown> = {};
  let assets: { directory: string; binding: string; run_worker_first?: boolean | string[] } | undefined;
  // Every binding wrangler.toml declares, by name (its own declarations say less than this).
  const bindings = (unstable_convertConfigBindingsToStartWorkerBindings(config) ?? {}) as Record<
    string,
    { type: string; database_id?: string; bucket_name?: string; value?: unknown }
  >;
  for (const [name, binding] of Object.entries(bindings)) {
    if (binding.type === "d1") d1Databases[name] = binding.database_id ?? name;
    else if (binding.type === "r2_bucket") r2Buckets[name] = binding.bucket_name ?? name;
    else if (binding.type === "plain_text" || binding.type === "json") vars[name] = binding.value;
    else if (binding.type === "assets" && config.assets?.directory) {
      // The docs' and console's files (wrangler.toml's [assets]; written by writeStaticAssets before the run).
      assets = {
        directory: path.resolve(import.meta.dirname, config.assets.directory),
        binding: name,
        run_worker_first: config.assets.run_worker_first,
      };
    } else throw new Error(`vitest.config.ts: binding ${name} (${binding.type}) of wrangler.toml is not passed to the tests yet`);
  }
  if (!config.main) throw new Error("wrangler.toml has no main");
  return {
    main: config.main,
    miniflare: {
      compatibilityDate: config.compatibility_date,
      compatibilityFlags: config.compatibility_flags,
      d1Databases,
      r2Buckets,
      bindings: vars,
      assets,
    },
  };
}

/**
 * The `single` project's files: a smoke of the suite at N = 1 (DB alone), one file per kind of
 * thing a shard count could break: bindings, the shard list, a signed call, the ledger through
 * the API, a settlement close, the round trips per operation.
 */
const SINGLE_SMOKE = [
  "test/bindings.test.ts",
  "test/smoke.test.ts",
  "test/operator/shards.test.ts",
  "test/ledger/earn-burn.test.ts",
  "test/settlement/settlement.test.ts",
  "test/shards/round-trips.test.ts",
];

/** The shards' D1 bindings at N shards: SHARD_1 … SHARD_{N−1} (DB is shard 0, from wrangler.toml). */
function shardDatabases(shardCount: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: shardCount - 1 }, (_, i) => [`SHARD_${i + 1}`, `SHARD_${i + 1}`]));
}

export default defineConfig(async () => {
  await writeStaticAssets();
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  const operator = await generateKeyPair("EdDSA", { extractable: true });
  const statement = await generateKeyPair("EdDSA", { extractable: true });
  const operatorPublic = { ...(await exportJWK(operator.publicKey)), kid: "op-test-1", alg: "EdDSA", use: "sig" };
  const operatorPrivate = { ...(await exportJWK(operator.privateKey)), kid: "op-test-1", alg: "EdDSA" };
  const statementPrivate = { ...(await exportJWK(statement.privateKey)), kid: "stmt-test-1", alg: "EdDSA" };
  const worker = workerFromWranglerToml();
  // The worker at `shardCount` shards; test/setup.ts migrates every database of it.
  const workerAt = (shardCount: number) =>
    cloudflareTest({
      main: worker.main,
      miniflare: {
        ...worker.miniflare,
        d1Databases: { ...worker.miniflare.d1Databases, ...shardDatabases(shardCount) },
        bindings: {
          ...worker.miniflare.bindings,
          TEST_MIGRATIONS: migrations,
          TEST_SHARD_COUNT: shardCount,
          OPERATOR_JWKS: JSON.stringify({ keys: [operatorPublic] }),
          STATEMENT_SIGNING_JWK: JSON.stringify(statementPrivate),
          TEST_OPERATOR_PRIVATE_JWK: JSON.stringify(operatorPrivate),
        },
      },
    });
  const common = { setupFiles: ["./test/setup.ts"], testTimeout: 60_000, hookTimeout: 60_000 };
  return {
    test: {
      projects: [
        // The whole suite, sharded: DB and SHARD_1 (the member data is all on shard 0 until
        // reads and writes are routed by bucket, docs/design/shards.md step 2).
        { plugins: [workerAt(2)], test: { ...common, name: "sharded", include: ["test/**/*.test.ts"] } },
        { plugins: [workerAt(1)], test: { ...common, name: "single", include: SINGLE_SMOKE } },
      ],
    },
  };
});
