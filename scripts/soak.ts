/**
 * `npm run soak`: the bank test (scripts/soak/bank-test.ts) against a real `wrangler dev`.
 *
 * 1. wipes and creates its own state directory, .dev/soak-state (never .dev/state of `npm start`),
 *    and copies the worker's code into it (src/, migrations/, wrangler.toml): wrangler dev reloads
 *    the worker whenever a watched file changes, and a reload in the middle of the run drops
 *    requests (503 "worker restarted mid-request"), so the soak runs a frozen snapshot of the tree;
 * 2. generates throw-away operator and statement-signing keys into .dev/soak-state/soak.env, which
 *    wrangler reads instead of .dev.vars (`--env-file`), so a developer's .dev.vars is left alone;
 * 3. applies the D1 migrations and starts `wrangler dev --test-scheduled` on its own port
 *    (SOAK_PORT, default 8797), logging to .dev/soak-state/wrangler.log;
 * 4. runs the bank test: it creates its coalition through the operator API, drives the workload,
 *    triggers the scheduled jobs through /__scheduled, and at the end reads the local D1 file
 *    read-only (node:sqlite) for the database checks;
 * 5. stops wrangler (its whole process group) and exits 0 only when there was no violation.
 *
 * Options (flags or environment): --operations N (SOAK_OPERATIONS, default 10000),
 * --concurrency N (SOAK_CONCURRENCY, 64), --seed N (SOAK_SEED, 1), --port N (SOAK_PORT, 8797),
 * --scheduled-every-ms N (SOAK_SCHEDULED_EVERY_MS, 5000).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, existsSync, readdirSync } from "node:fs";
import { cp, mkdir, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import { parseArgs } from "node:util";
import type { SqlQueryable } from "../src/ledger/invariants";
import { dotenvLine } from "./lib/dev-vars";
import { newKeyPair } from "./lib/keys";
import { mintOperatorToken } from "./lib/operator-token";
import { DEV_DIR, ROOT, shown } from "./lib/paths";
import { portIsFree, waitForHealth } from "./lib/server";
import { DEFAULTS, formatSummary, runBankTest } from "./soak/bank-test";

const HOST = "127.0.0.1";
const STATE = join(DEV_DIR, "soak-state");
const ENV_FILE = join(STATE, "soak.env");
/** The snapshot of the worker that this run serves (wrangler's cwd). */
const APP = join(STATE, "app");
const LOG_FILE = join(STATE, "wrangler.log");
const log = (m: string) => console.log(`[soak] ${m}`);

function intOption(flag: string | undefined, env: string | undefined, fallback: number, name: string): number {
  const raw = flag ?? env;
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return n;
}

function wranglerBin(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");
}

let server: ChildProcess | undefined;

/** Runs wrangler in its own process group (so it and workerd can be stopped together), output to the log file. */
function wrangler(args: string[], extraEnv: Record<string, string> = {}): ChildProcess {
  const out = createWriteStream(LOG_FILE, { flags: "a" });
  const proc = spawn(process.execPath, [wranglerBin(), ...args], {
    cwd: APP,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", ...extraEnv },
  });
  proc.stdout?.pipe(out, { end: false });
  proc.stderr?.pipe(out, { end: false });
  proc.once("exit", () => out.end());
  return proc;
}

function exited(proc: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve(proc.exitCode ?? 1);
    else proc.once("exit", (code) => resolve(code ?? 1));
  });
}

/** SIGTERM to wrangler's process group, SIGKILL after 10 s. Only the group we started. */
async function stopServer(): Promise<void> {
  const proc = server;
  if (!proc?.pid || proc.exitCode !== null || proc.signalCode !== null) return;
  const group = -proc.pid;
  try {
    process.kill(group, "SIGTERM");
  } catch {
    return;
  }
  const timeout = setTimeout(() => {
    try {
      process.kill(group, "SIGKILL");
    } catch {
      // gone
    }
  }, 10_000);
  await exited(proc);
  clearTimeout(timeout);
  // workerd may outlive wrangler by a moment: make sure nothing of the group is left.
  try {
    process.kill(group, "SIGKILL");
  } catch {
    // gone
  }
}

/** The local D1 database file of binding DB under the persistence directory. */
function d1File(): string {
  const dir = join(STATE, "v3", "d1", "miniflare-D1DatabaseObject");
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite") : [];
  for (const f of files) {
    const path = join(dir, f);
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      if (db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'transactions'").get()) return path;
    } finally {
      db.close();
    }
  }
  throw new Error(`no D1 database with a transactions table under ${shown(dir)}`);
}

/** node:sqlite behind the `prepare().bind().all()` shape the invariant SQL uses, read-only. */
function readOnlyD1(path: string): SqlQueryable & { close(): void } {
  const db = new DatabaseSync(path, { readOnly: true });
  return {
    prepare(query: string) {
      const statement = db.prepare(query);
      return {
        bind: (...values: unknown[]) => ({
          all: async <T>() => ({ results: statement.all(...(values as SQLInputValue[])) as T[] }),
        }),
      };
    },
    close: () => db.close(),
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      operations: { type: "string" },
      concurrency: { type: "string" },
      seed: { type: "string" },
      port: { type: "string" },
      "scheduled-every-ms": { type: "string" },
    },
  });
  const env = process.env;
  const operations = intOption(values.operations, env.SOAK_OPERATIONS, DEFAULTS.operations, "operations");
  const concurrency = intOption(values.concurrency, env.SOAK_CONCURRENCY, DEFAULTS.concurrency, "concurrency");
  const seed = intOption(values.seed, env.SOAK_SEED, DEFAULTS.seed, "seed");
  const scheduledEveryMs = intOption(
    values["scheduled-every-ms"],
    env.SOAK_SCHEDULED_EVERY_MS,
    DEFAULTS.scheduledEveryMs,
    "scheduled-every-ms",
  );
  let port = intOption(values.port, env.SOAK_PORT, 8797, "port");
  if (!values.port && !env.SOAK_PORT) {
    while (!(await portIsFree(port, HOST))) port++;
  } else if (!(await portIsFree(port, HOST))) {
    throw new Error(`port ${port} on ${HOST} is in use; choose another with --port or SOAK_PORT`);
  }
  const baseUrl = `http://${HOST}:${port}`;

  // 1-2. Fresh state and throw-away keys.
  await rm(STATE, { recursive: true, force: true });
  await mkdir(STATE, { recursive: true });
  // The code under test, frozen (module resolution still finds the project's node_modules above
  // it), with the scripts wrangler.toml's [build] runs (the static assets), what they build from,
  // and the SDK source the worker imports.
  for (const entry of ["src", "migrations", "scripts", "console", "packages", "wrangler.toml", "package.json", "tsconfig.json"]) {
    if (existsSync(join(ROOT, entry))) await cp(join(ROOT, entry), join(APP, entry), { recursive: true });
  }
  const operatorKey = await newKeyPair("soak-operator");
  const statementKey = await newKeyPair("soak-statement");
  await writeFile(
    ENV_FILE,
    `${[
      "# Written by `npm run soak` for its own wrangler dev (throw-away keys).",
      dotenvLine("OPERATOR_JWKS", JSON.stringify({ keys: [operatorKey.public_jwk] })),
      dotenvLine("STATEMENT_SIGNING_JWK", JSON.stringify(statementKey.private_jwk)),
    ].join("\n")}\n`,
    { mode: 0o600 },
  );

  // 3. Migrations, then wrangler dev.
  log(
    `state: ${shown(STATE)} (wiped; the worker is a snapshot of the tree in ${shown(APP)}); wrangler output: ${shown(LOG_FILE)}`,
  );
  const migrate = wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", STATE, "--env-file", ENV_FILE], {
    CI: "true",
  });
  server = migrate;
  const migrated = await exited(migrate);
  if (migrated !== 0) throw new Error(`wrangler d1 migrations apply exited with ${migrated} (see ${shown(LOG_FILE)})`);
  log(`starting wrangler dev --test-scheduled on ${baseUrl}`);
  server = wrangler([
    "dev",
    "--port",
    String(port),
    "--ip",
    HOST,
    "--persist-to",
    STATE,
    "--env-file",
    ENV_FILE,
    "--test-scheduled",
    "--show-interactive-dev-session=false",
  ]);
  let serverExited = false;
  server.once("exit", () => {
    serverExited = true;
  });
  await waitForHealth(baseUrl, { timeoutMs: 120_000, stillRunning: () => !serverExited });
  log(`${baseUrl}/health answers 200`);

  // 4. The bank test.
  let token: { value: string; at: number } | undefined;
  const operatorToken = async () => {
    if (!token || Date.now() - token.at > 300_000) {
      token = {
        value: await mintOperatorToken(operatorKey, { sub: "bank-test", scope: "admin", ttlSeconds: 600 }),
        at: Date.now(),
      };
    }
    return token.value;
  };
  let db: ReturnType<typeof readOnlyD1> | undefined;
  const report = await runBankTest({
    fetch: (request) => fetch(request),
    baseUrl,
    operatorToken,
    openDb: async () => {
      db = readOnlyD1(d1File());
      return db;
    },
    runScheduled: async (scheduledTime) => {
      // wrangler dev --test-scheduled: /__scheduled runs the scheduled handler; miniflare's
      // /cdn-cgi/local/scheduled takes a time and answers after the handler's waitUntil work.
      const url =
        scheduledTime === undefined
          ? `${baseUrl}/__scheduled?cron=*+*+*+*+*`
          : `${baseUrl}/cdn-cgi/local/scheduled?cron=*+*+*+*+*&time=${scheduledTime}`;
      const r = await fetch(url);
      const text = await r.text();
      if (r.status !== 200) throw new Error(`GET ${url} → ${r.status} ${text.slice(0, 200)}`);
    },
    operations,
    concurrency,
    seed,
    holdExpiry: "wait",
    scheduledEveryMs,
    shortHoldTtlSeconds: DEFAULTS.shortHoldTtlSeconds,
    maxRetries: DEFAULTS.maxRetries,
    log,
  });
  db?.close();

  // 5. Stop, summarise.
  await stopServer();
  console.log("");
  console.log(formatSummary(report));
  return report.violations.length === 0 ? 0 : 1;
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    log(`${signal}: stopping wrangler`);
    void stopServer().then(() => process.exit(signal === "SIGINT" ? 130 : 143));
  });
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    console.error(`[soak] error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    await stopServer();
    process.exit(2);
  },
);
