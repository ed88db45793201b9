import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { exportJWK, generateKeyPair } from "jose";
import { defineConfig } from "vitest/config";

/**
 * Tests run inside workerd against a local D1 with the real migrations (test/setup.ts applies
 * them). Storage is isolated per test file. Keys for the operator and the statement signer are
 * generated per run, like a local `npm start` does; tests read the private halves from bindings.
 */
export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  const operator = await generateKeyPair("EdDSA", { extractable: true });
  const statement = await generateKeyPair("EdDSA", { extractable: true });
  const operatorPublic = { ...(await exportJWK(operator.publicKey)), kid: "op-test-1", alg: "EdDSA", use: "sig" };
  const operatorPrivate = { ...(await exportJWK(operator.privateKey)), kid: "op-test-1", alg: "EdDSA" };
  const statementPrivate = { ...(await exportJWK(statement.privateKey)), kid: "stmt-test-1", alg: "EdDSA" };
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            OPERATOR_JWKS: JSON.stringify({ keys: [operatorPublic] }),
            STATEMENT_SIGNING_JWK: JSON.stringify(statementPrivate),
            TEST_OPERATOR_PRIVATE_JWK: JSON.stringify(operatorPrivate),
          },
        },
      }),
    ],
    test: {
      setupFiles: ["./test/setup.ts"],
      include: ["test/**/*.test.ts"],
      testTimeout: 60_000,
      hookTimeout: 60_000,
    },
  };
});
