/**
 * `npm start`: runs the exchange locally, with a seeded demo coalition, the way a deployment runs.
 *
 * 1. removes .dev/local.json of an earlier run (step 7 writes this run's, once it is usable);
 * 2. generates (first run) and keeps the local keys in .dev/keys.json;
 * 3. writes OPERATOR_JWKS and STATEMENT_SIGNING_JWK into .dev.vars for `wrangler dev`;
 * 4. writes .dev/wrangler.jsonc, wrangler.toml plus SHARD_1 … SHARD_{n−1} for SHARDS=n (default 2),
 *    and applies the D1 migrations to every local database, one after another (.dev/state);
 * 5. starts `wrangler dev --test-scheduled` on 127.0.0.1:$PORT (default 8787) with that config,
 *    waits for GET /health;
 * 6. runs the worker's scheduled handler on the crons of wrangler.toml (once now, to catch up,
 *    then on each cron's schedule), since wrangler dev never fires Cron Triggers itself;
 * 7. spreads the member buckets over the shards (a fresh coalition at SHARDS ≥ 2), seeds the demo coalition through the operator and partner APIs (once per database), writes
 *    .dev/local.json atomically and prints how to make a first signed call.
 * Then runs until Ctrl-C, SIGTERM, SIGHUP or its parent's exit; however it ends, wrangler and
 * everything wrangler started end with it (scripts/lib/supervisor.ts, process-group.ts).
 * COALITION_DEV_DIR=<dir> keeps every file of the run (secrets included) in <dir> instead of .dev/.
 */
import { mkdir } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { CronDriver, utcSecond, wranglerScheduledTrigger } from "./lib/crons";
import { upsertDotenv } from "./lib/dev-vars";
import { type DevKeys, loadOrCreateKeys } from "./lib/keys";
import { type LocalConfig, removeLocalConfig, writeLocalConfig } from "./lib/local-config";
import { mintOperatorToken } from "./lib/operator-token";
import { log, warn } from "./lib/output";
import { DEV_VARS_FILE, KEYS_FILE, LOCAL_FILE, ROOT, STATE_DIR, shown, WRANGLER_CONFIG } from "./lib/paths";
import type { GroupChild } from "./lib/process-group";
import { type SeedSummary, seedDemoCoalition } from "./lib/seed";
import { isHealthy, portIsFree, waitForHealth } from "./lib/server";
import { parseShardCount, ShardCountError, writeShardedConfig } from "./lib/shard-config";
import { Supervisor } from "./lib/supervisor";
import { welcomeText } from "./lib/welcome";
import { readWorkerConfig, type WorkerConfig } from "./lib/worker-config";
import { burnUnits, DEMO_PARTNERS, earnUnits } from "./seed/demo-coalition";

const HOST = "127.0.0.1";

class StartError extends Error {}

const supervisor = new Supervisor(log);

function parsePort(raw: string | undefined): number {
  if (raw === undefined || raw === "") return 8787;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new StartError(`PORT must be an integer 1-65535, got ${raw}`);
  return port;
}

function wranglerBin(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");
}

/** Runs wrangler (its own process group) with its output prefixed; the Node that runs this script runs wrangler. */
function runWrangler(args: string[], prefix: string, extraEnv: Record<string, string> = {}): GroupChild {
  const group = supervisor.spawn(process.execPath, [wranglerBin(), ...args], {
    cwd: ROOT,
    // No stdin: wrangler stays non-interactive (no prompts, no hotkeys).
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      ...(process.stdout.isTTY ? { FORCE_COLOR: "1" } : {}),
      ...extraEnv,
    },
  });
  for (const stream of [group.proc.stdout, group.proc.stderr]) {
    if (!stream) continue;
    const out = stream === group.proc.stderr ? process.stderr : process.stdout;
    createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on("line", (line) =>
      out.write(`${prefix} ${line}\n`),
    );
  }
  return group;
}

async function checkPort(port: number, baseUrl: string): Promise<void> {
  if (await portIsFree(port, HOST)) return;
  const ours = await isHealthy(baseUrl);
  throw new StartError(
    `port ${port} on ${HOST} is already in use${ours ? " (something there answers GET /health: another `npm start`?)" : ""}. ` +
      `Stop it, or choose another port: PORT=${port + 1} npm start`,
  );
}

/** Steps 2 and 3: the keys, and the secrets wrangler dev reads (single-line JSON, single-quoted). */
async function prepareKeys(): Promise<DevKeys> {
  const { keys, generated } = await loadOrCreateKeys(
    KEYS_FILE,
    DEMO_PARTNERS.map((p) => p.id),
  );
  log(generated.length > 0 ? `generated keys (${generated.join(", ")}) in ${shown(KEYS_FILE)}` : `keys: ${shown(KEYS_FILE)}`);
  const changed = await upsertDotenv(
    DEV_VARS_FILE,
    {
      OPERATOR_JWKS: JSON.stringify({ keys: [keys.operator.public_jwk] }),
      STATEMENT_SIGNING_JWK: JSON.stringify(keys.statement.private_jwk),
      // /docs "try it" signs as the demo partners (local only: src/http/docs-try-it.ts).
      DOCS_TRY_IT_KEYS: JSON.stringify(
        Object.entries(keys.partners).map(([partnerId, k]) => ({ partnerId, kid: k.kid, alg: k.alg, privateJwk: k.private_jwk })),
      ),
    },
    `# Written by \`npm start\` from ${shown(KEYS_FILE)} (local keys only; never use them elsewhere).`,
  );
  log(`${shown(DEV_VARS_FILE)}: ${changed ? "written" : "up to date"} (OPERATOR_JWKS, STATEMENT_SIGNING_JWK, DOCS_TRY_IT_KEYS)`);
  return keys;
}

/**
 * Step 4: the generated config, and migrations on every database (the same ones everywhere),
 * non-interactively (no TTY on stdin and CI=true), one wrangler run per database in turn.
 */
async function migrateShards(shardCount: number): Promise<void> {
  await mkdir(STATE_DIR, { recursive: true });
  const databases = await writeShardedConfig(WRANGLER_CONFIG, shardCount);
  log(
    `${shardCount} shard(s): ${databases.map((d) => d.binding).join(", ")} (${shown(WRANGLER_CONFIG)}; SHARDS=n npm start for another count)`,
  );
  for (const { binding } of databases) {
    if (supervisor.isStopping) return;
    log(`applying migrations to the local D1 ${binding} (${shown(STATE_DIR)})`);
    const migrate = runWrangler(
      ["d1", "migrations", "apply", binding, "--local", "--persist-to", STATE_DIR, "--config", WRANGLER_CONFIG],
      `[d1 ${binding}]`,
      { CI: "true" },
    );
    const migrated = await migrate.exited;
    await migrate.sweep();
    if (migrated.code !== 0) {
      throw new StartError(`wrangler d1 migrations apply ${binding} exited with ${migrated.signal ?? migrated.code}`);
    }
  }
}

/** Step 5: wrangler dev until healthy. */
async function startWrangler(port: number, baseUrl: string): Promise<void> {
  log(`starting wrangler dev --test-scheduled on ${baseUrl}`);
  const dev = runWrangler(
    [
      "dev",
      ...["--config", WRANGLER_CONFIG, "--port", String(port), "--ip", HOST],
      ...["--persist-to", STATE_DIR, "--env-file", DEV_VARS_FILE],
      "--test-scheduled",
      "--show-interactive-dev-session=false",
    ],
    "[wrangler]",
  );
  void dev.exited.then(({ code, signal }) => {
    if (!supervisor.isStopping) void supervisor.shutdown(1, `wrangler dev exited (${signal ?? `code ${code}`}): stopping`);
  });
  await waitForHealth(baseUrl, { timeoutMs: 120_000, stillRunning: () => dev.running });
  log(`${baseUrl}/health answers 200`);
}

/** Step 6: the Cron Triggers, driven through GET /__scheduled. */
async function driveCrons(worker: WorkerConfig, baseUrl: string): Promise<CronDriver> {
  const driver = new CronDriver({
    crons: worker.crons,
    trigger: wranglerScheduledTrigger(baseUrl),
    log: (m) => console.log(`[cron] ${m}`),
    warn: (m) => warn(m),
  });
  supervisor.beforeStop(() => driver.stop());
  if (worker.crons.length === 0) {
    log("wrangler.toml has no [triggers] crons: no scheduled runs");
    return driver;
  }
  log(
    `Cron Triggers ${worker.crons.map((c) => `"${c}"`).join(", ")} (wrangler.toml): npm start runs the scheduled handler ` +
      "on each (GET /__scheduled), once now to catch up, then on schedule (UTC)",
  );
  driver.start();
  await driver.runAllNow("catch-up at start");
  return driver;
}

/**
 * Before the seed, a fresh sharded coalition spreads its member buckets over every shard
 * (POST /admin/v1/shards/spread), so the demo's members and their ledgers land on all of them.
 * A coalition that already has members keeps its map (409 coalition_not_empty).
 */
async function spreadBuckets(keys: DevKeys, baseUrl: string): Promise<void> {
  const token = await mintOperatorToken(keys.operator, { sub: "npm-start", scope: "admin" });
  const r = await fetch(`${baseUrl}/admin/v1/shards/spread`, { method: "POST", headers: { Authorization: `Bearer ${token}` } });
  if (r.status === 200) log("member buckets spread over every shard");
  else if (r.status === 409) log("the coalition has members: its bucket map stays as it is");
  else throw new StartError(`POST /admin/v1/shards/spread answered ${r.status}: ${await r.text()}`);
}

/** Step 7: the demo coalition, seeded with the local keys. */
function seed(keys: DevKeys, baseUrl: string): Promise<SeedSummary> {
  return seedDemoCoalition({
    baseUrl,
    operatorToken: () => mintOperatorToken(keys.operator, { sub: "npm-start", scope: "admin" }),
    partnerKey: (id) => {
      const k = keys.partners[id];
      if (!k) throw new Error(`no key for ${id}`);
      return {
        credentials: { partnerId: id, kid: k.kid, alg: k.alg, privateJwk: k.private_jwk },
        publicJwk: { kty: k.public_jwk.kty, crv: k.public_jwk.crv, x: k.public_jwk.x },
      };
    },
    log,
    warn,
  });
}

function localConfig(keys: DevKeys, baseUrl: string, currency: string, memberRefs: Record<string, string>): LocalConfig {
  return {
    base_url: baseUrl,
    settlement_currency: currency,
    operator: { kid: keys.operator.kid, alg: keys.operator.alg, private_jwk: keys.operator.private_jwk },
    partners: DEMO_PARTNERS.map((p) => {
      const k = keys.partners[p.id]!;
      return {
        id: p.id,
        name: p.name,
        kid: k.kid,
        alg: k.alg,
        private_jwk: k.private_jwk,
        earn_units: earnUnits(p),
        burn_units: burnUnits(p),
      };
    }),
    ...(Object.keys(memberRefs).length > 0 ? { demo_member: { refs: memberRefs } } : {}),
  };
}

async function main(): Promise<void> {
  supervisor.install();
  const port = parsePort(process.env.PORT);
  const shardCount = parseShardCount(process.env.SHARDS);
  const baseUrl = `http://${HOST}:${port}`;
  await checkPort(port, baseUrl);
  await removeLocalConfig();
  const worker = readWorkerConfig();
  const keys = await prepareKeys();
  await migrateShards(shardCount);
  if (supervisor.isStopping) return;
  await startWrangler(port, baseUrl);
  if (supervisor.isStopping) return;
  const driver = await driveCrons(worker, baseUrl);
  if (shardCount > 1) await spreadBuckets(keys, baseUrl);
  const summary = await seed(keys, baseUrl);
  if (supervisor.isStopping) return;
  await writeLocalConfig(localConfig(keys, baseUrl, worker.settlementCurrency, summary.memberRefs));
  log(`wrote ${shown(LOCAL_FILE)}`);
  const next = driver.nextRun();
  // A fresh token each start, printed once and stored nowhere: the fragment keeps it out of logs.
  const consoleToken = await mintOperatorToken(keys.operator, { sub: "console", scope: "admin", ttlSeconds: 3600 });
  console.log(
    welcomeText({
      baseUrl,
      memberRefs: summary.memberRefs,
      warnings: summary.warnings,
      crons: worker.crons,
      ...(next ? { nextCronRun: utcSecond(next) } : {}),
      consoleSignIn: `${baseUrl}/console#token=${consoleToken}`,
    }),
  );
}

main().catch((e: unknown) => {
  console.error(
    `[start] error: ${e instanceof StartError || e instanceof ShardCountError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
  );
  void supervisor.shutdown(1);
});
