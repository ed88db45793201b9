/**
 * `SHARDS=n npm start`: the local exchange on n shards (docs/design/shards.md). wrangler.toml
 * declares the deployment's bindings (DB alone, N = 1); a local run gets a generated wrangler
 * config beside its other files (`.dev/wrangler.jsonc`) that is wrangler.toml plus the D1
 * bindings SHARD_1 … SHARD_{n−1}, each its own local database.
 */
import { writeFile } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import { experimental_readRawConfig } from "wrangler";
import { MAX_SHARDS } from "../../src/shards/registry";
import { ROOT, WRANGLER_TOML } from "./paths";

/** The everyday local run is a sharded one (issue 11). */
export const DEFAULT_LOCAL_SHARDS = 2;

export class ShardCountError extends Error {}

export function parseShardCount(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === "") return DEFAULT_LOCAL_SHARDS;
  const n = Number(raw);
  if (!/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(n) || n < 1 || n > MAX_SHARDS) {
    throw new ShardCountError(`SHARDS must be a whole number of shards from 1 to ${MAX_SHARDS}, got "${raw}"`);
  }
  return n;
}

export interface ShardDatabase {
  binding: string;
  database_name: string;
  database_id: string;
  migrations_dir: string;
}

/** DB as wrangler.toml declares it, then SHARD_k with a local name and id of its own. */
export function shardDatabases(db: ShardDatabase, shardCount: number): ShardDatabase[] {
  return [
    db,
    ...Array.from({ length: shardCount - 1 }, (_, i) => {
      const k = i + 1;
      return {
        binding: `SHARD_${k}`,
        database_name: `${db.database_name}-shard-${k}`,
        // Local only: wrangler keys a local database by its id, so each shard has a file of its own.
        database_id: `00000000-0000-0000-0000-${(0x5_0000_0000 + k).toString(16).padStart(12, "0")}`,
        migrations_dir: db.migrations_dir,
      };
    }),
  ];
}

function absolute(path: string): string {
  return isAbsolute(path) ? path : resolve(ROOT, path);
}

/**
 * Writes the generated config to `file` and returns its databases. Paths become absolute (the
 * file lives in .dev/ or COALITION_DEV_DIR, and wrangler resolves paths from the config's own
 * directory); the build runs in the project root, as with wrangler.toml.
 */
export async function writeShardedConfig(file: string, shardCount: number): Promise<ShardDatabase[]> {
  const { rawConfig } = experimental_readRawConfig({ config: WRANGLER_TOML });
  const [db, ...others] = rawConfig.d1_databases ?? [];
  if (db?.binding !== "DB" || others.length > 0) {
    throw new Error("wrangler.toml must declare one D1 database, bound as DB (the main database, shard 0)");
  }
  const main: ShardDatabase = {
    binding: "DB",
    database_name: db.database_name ?? "coalition-exchange",
    database_id: db.database_id ?? "00000000-0000-0000-0000-000000000000",
    migrations_dir: absolute(db.migrations_dir ?? "migrations"),
  };
  const databases = shardDatabases(main, shardCount);
  const config = {
    ...rawConfig,
    ...(rawConfig.main ? { main: absolute(rawConfig.main) } : {}),
    ...(rawConfig.build ? { build: { ...rawConfig.build, cwd: ROOT } } : {}),
    ...(rawConfig.assets?.directory ? { assets: { ...rawConfig.assets, directory: absolute(rawConfig.assets.directory) } } : {}),
    d1_databases: databases,
  };
  const header = `// Written by \`npm start\` (SHARDS=${shardCount}) from wrangler.toml: do not edit, it is rewritten each start.\n`;
  await writeFile(file, `${header}${JSON.stringify(config, null, 2)}\n`);
  return databases;
}
