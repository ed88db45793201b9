import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { shardsOf } from "../src/shards/registry";

// Setup files run before each test file; applyD1Migrations only applies what is missing. Every
// database gets every migration (docs/design/shards.md): DB and each SHARD_k, one after another.
for (const shard of shardsOf(env)) await applyD1Migrations(shard.db, env.TEST_MIGRATIONS);
