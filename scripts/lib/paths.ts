import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Where a local run keeps its files. Everything under `.dev/` (and `.dev.vars`) is git-ignored. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
/**
 * `.dev/`, or the directory COALITION_DEV_DIR names: a run that must not touch the developer's
 * keys, database and local.json (the e2e tests) keeps all of them there, its secrets included.
 */
const DEV_DIR_OVERRIDE = process.env.COALITION_DEV_DIR ? resolve(process.env.COALITION_DEV_DIR) : undefined;
export const DEV_DIR = DEV_DIR_OVERRIDE ?? join(ROOT, ".dev");
/** Generated key pairs (operator, statement signing, one per demo partner). Delete `.dev/` to start over. */
export const KEYS_FILE = join(DEV_DIR, "keys.json");
/** What a person or a test needs to call the local exchange (operator-api.md "Local development"). */
export const LOCAL_FILE = join(DEV_DIR, "local.json");
/** The local D1 database (`wrangler … --persist-to .dev/state`), so keys and data are reset together. */
export const STATE_DIR = join(DEV_DIR, "state");
/** Secrets for `wrangler dev` (dotenv format; `npm start` passes it with --env-file). */
export const DEV_VARS_FILE = DEV_DIR_OVERRIDE ? join(DEV_DIR_OVERRIDE, "dev.vars") : join(ROOT, ".dev.vars");
export const WRANGLER_TOML = join(ROOT, "wrangler.toml");
/** wrangler.toml plus the local shards' D1 bindings, written by each `npm start` (scripts/lib/shard-config.ts). */
export const WRANGLER_CONFIG = join(DEV_DIR, "wrangler.jsonc");

/** A path as shown to a person: relative to the project root. */
export function shown(path: string): string {
  return path.startsWith(`${ROOT}/`) ? path.slice(ROOT.length + 1) : path;
}
