/**
 * The bench's own exchange: `wrangler dev` of the bench worker (wrangler.bench.toml: the production
 * app plus the bench routes, D1 metered; scripts/bench/worker/) on a free port, serving a bundle
 * made at start (.dev/bench-build), persisting to a directory of its own (wiped first, so runs
 * are comparable), with the local keys of `npm start` (.dev/keys.json → .dev.vars, scripts/lib).
 * Its output goes to a log file, not the terminal (thousands of request log lines would cost the
 * server time).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { upsertDotenv } from "../lib/dev-vars";
import { type DevKeys, loadOrCreateKeys } from "../lib/keys";
import { DEV_DIR, KEYS_FILE, ROOT, shown } from "../lib/paths";
import { portIsFree, waitForHealth } from "../lib/server";
import { DEMO_PARTNERS } from "../seed/demo-coalition";
import { checkBenchConfig, snapshotConfig, WRANGLER_BENCH_TOML } from "./config";

export const HOST = "127.0.0.1";
export const BENCH_STATE_DIR = join(DEV_DIR, "bench-state");
export const BENCH_LOG_FILE = join(DEV_DIR, "bench-wrangler.log");
/** The bundled worker and the config that serves it (`wrangler dev --config`). */
export const BENCH_BUILD_DIR = join(DEV_DIR, "bench-build");

export interface BenchServer {
  baseUrl: string;
  port: number;
  keys: DevKeys;
  /** Stops wrangler and everything it started (its process group). */
  stop(): Promise<void>;
}

function wranglerBin(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");
}

/** The first free port from `start` on (PORT_BENCH, else 8790). */
async function freePort(start: number): Promise<number> {
  for (let port = start; port < start + 50; port++) if (await portIsFree(port, HOST)) return port;
  throw new Error(`no free port in ${start}..${start + 49}`);
}

const children = new Set<ChildProcess>();

function alive(proc: ChildProcess): boolean {
  return proc.exitCode === null && proc.signalCode === null;
}

function signalGroup(proc: ChildProcess, signal: NodeJS.Signals): void {
  if (proc.pid === undefined) return;
  try {
    process.kill(-proc.pid, signal);
  } catch {
    // Already gone.
  }
}

/** SIGTERM to the group, then SIGKILL to whatever is left of it after `graceMs`. */
async function stopGroup(proc: ChildProcess, graceMs = 8000): Promise<void> {
  if (alive(proc)) {
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    signalGroup(proc, "SIGTERM");
    await Promise.race([exited, sleep(graceMs)]);
  }
  // workerd may outlive wrangler: the group is ours alone, so kill what remains of it.
  signalGroup(proc, "SIGKILL");
  children.delete(proc);
}

/** On an abrupt exit, no wrangler or workerd of ours may stay behind. */
export function killAllNow(): void {
  for (const proc of children) signalGroup(proc, "SIGKILL");
  children.clear();
}

function run(args: string[], log: NodeJS.WritableStream, extraEnv: Record<string, string> = {}): ChildProcess {
  const proc = spawn(process.execPath, [wranglerBin(), ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so stop() reaches wrangler, workerd and esbuild, and nothing else.
    detached: true,
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      NO_COLOR: "1",
      FORCE_COLOR: "0",
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
      ...extraEnv,
    },
  });
  proc.stdout?.pipe(log, { end: false });
  proc.stderr?.pipe(log, { end: false });
  children.add(proc);
  proc.once("exit", () => {
    if (proc.exitCode !== null || proc.signalCode !== null) children.delete(proc);
  });
  return proc;
}

function exitCode(proc: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    if (!alive(proc)) resolve(proc.exitCode ?? 1);
    else proc.once("exit", (code) => resolve(code ?? 1));
  });
}

async function logTail(lines = 30): Promise<string> {
  try {
    return (await readFile(BENCH_LOG_FILE, "utf8")).split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

export async function startBenchServer(log: (m: string) => void): Promise<BenchServer> {
  const port = await freePort(Number(process.env.PORT_BENCH ?? "") || 8790);
  // Its own devtools port too: another `wrangler dev` (npm start) may hold the default 9229.
  const inspectorPort = await freePort(9330);
  const baseUrl = `http://${HOST}:${port}`;

  await rm(BENCH_BUILD_DIR, { recursive: true, force: true });
  await mkdir(BENCH_BUILD_DIR, { recursive: true });
  const logStream = createWriteStream(BENCH_LOG_FILE, { flags: "w" });
  const wrangler = async (what: string, args: string[], extraEnv: Record<string, string> = {}) => {
    const proc = run(args, logStream, extraEnv);
    const code = await exitCode(proc);
    children.delete(proc);
    if (code !== 0) throw new Error(`${what} exited with ${code}:\n${await logTail()}`);
  };

  // A snapshot of the worker, bundled once: other engineers' edits during the run neither reload
  // the server mid-request nor mix two versions into one run.
  checkBenchConfig();
  log(`bundling the bench worker into ${shown(BENCH_BUILD_DIR)} (wrangler deploy --dry-run -c ${shown(WRANGLER_BENCH_TOML)})`);
  const dist = join(BENCH_BUILD_DIR, "dist");
  await wrangler("wrangler deploy --dry-run", ["deploy", "--dry-run", "--config", WRANGLER_BENCH_TOML, "--outdir", dist]);
  const bundle = (await readdir(dist)).find((f) => f.endsWith(".js"));
  if (!bundle) throw new Error(`wrangler deploy --dry-run wrote no .js into ${shown(dist)}`);
  await writeFile(join(BENCH_BUILD_DIR, "wrangler.toml"), await snapshotConfig(`dist/${bundle}`));

  // Keys exactly as `npm start` keeps them (.dev/keys.json), written as `npm start` writes
  // .dev.vars, but next to the snapshot's config; the bench partner's key is made per run.
  const { keys, generated } = await loadOrCreateKeys(
    KEYS_FILE,
    DEMO_PARTNERS.map((p) => p.id),
  );
  if (generated.length > 0) log(`generated local keys (${generated.join(", ")}) in ${shown(KEYS_FILE)}`);
  await upsertDotenv(
    join(BENCH_BUILD_DIR, ".dev.vars"),
    {
      OPERATOR_JWKS: JSON.stringify({ keys: [keys.operator.public_jwk] }),
      STATEMENT_SIGNING_JWK: JSON.stringify(keys.statement.private_jwk),
    },
    "# Written by `npm run bench` from .dev/keys.json (local keys only; never use them elsewhere).",
  );

  await rm(BENCH_STATE_DIR, { recursive: true, force: true });
  await mkdir(BENCH_STATE_DIR, { recursive: true });
  log(`fresh state in ${shown(BENCH_STATE_DIR)}; wrangler output in ${shown(BENCH_LOG_FILE)}`);
  await wrangler(
    "wrangler d1 migrations apply",
    [
      "d1",
      "migrations",
      "apply",
      "DB",
      "--local",
      "--config",
      join(BENCH_BUILD_DIR, "wrangler.toml"),
      "--persist-to",
      BENCH_STATE_DIR,
    ],
    {
      CI: "true",
    },
  );

  log(`starting wrangler dev of the bench worker on ${baseUrl}`);
  const dev = run(
    [
      "dev",
      "--config",
      join(BENCH_BUILD_DIR, "wrangler.toml"),
      "--port",
      String(port),
      "--ip",
      HOST,
      "--persist-to",
      BENCH_STATE_DIR,
      "--inspector-port",
      String(inspectorPort),
      "--show-interactive-dev-session=false",
      // Request logging at info level would print a line per request.
      "--log-level",
      "warn",
    ],
    logStream,
  );
  try {
    await waitForHealth(baseUrl, { timeoutMs: 120_000, stillRunning: () => alive(dev) });
  } catch (e) {
    await stopGroup(dev);
    throw new Error(`${(e as Error).message}\n${await logTail()}`);
  }
  return {
    baseUrl,
    port,
    keys,
    stop: async () => {
      await stopGroup(dev);
      logStream.end();
    },
  };
}
