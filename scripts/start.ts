/**
 * `npm start`: runs the exchange locally with a seeded demo coalition.
 *
 * 1. generates (first run) and keeps the local keys in .dev/keys.json;
 * 2. writes OPERATOR_JWKS and STATEMENT_SIGNING_JWK into .dev.vars for `wrangler dev`;
 * 3. applies the D1 migrations to the local database (.dev/state);
 * 4. starts `wrangler dev` on 127.0.0.1:$PORT (default 8787) and waits for GET /health;
 * 5. seeds the demo coalition through the operator and partner APIs (idempotent);
 * 6. writes .dev/local.json and prints how to make a first signed call;
 * then runs until Ctrl-C, which it forwards to wrangler.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { upsertDotenv } from "./lib/dev-vars";
import { loadOrCreateKeys } from "./lib/keys";
import type { LocalConfig } from "./lib/local-config";
import { mintOperatorToken } from "./lib/operator-token";
import { DEV_DIR, DEV_VARS_FILE, KEYS_FILE, LOCAL_FILE, ROOT, STATE_DIR, shown, WRANGLER_TOML } from "./lib/paths";
import { seedDemoCoalition } from "./lib/seed";
import { isHealthy, portIsFree, waitForHealth } from "./lib/server";
import { burnUnits, DEMO_PARTNERS, earnUnits } from "./seed/demo-coalition";

const HOST = "127.0.0.1";
const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[22m` : s);
const yellow = (s: string) => (process.stdout.isTTY ? `\x1b[33m${s}\x1b[39m` : s);
const log = (m: string) => console.log(`[start] ${m}`);
const warn = (m: string) => console.log(yellow(`[start] warning: ${m}`));

class StartError extends Error {}

function parsePort(raw: string | undefined): number {
  if (raw === undefined || raw === "") return 8787;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new StartError(`PORT must be an integer 1-65535, got ${raw}`);
  return port;
}

/** SETTLEMENT_CURRENCY from wrangler.toml's [vars]. */
async function settlementCurrency(): Promise<string> {
  const toml = await readFile(WRANGLER_TOML, "utf8");
  return /^\s*SETTLEMENT_CURRENCY\s*=\s*"([A-Z0-9]+)"/m.exec(toml)?.[1] ?? "CNY";
}

function wranglerBin(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");
}

// The child that is running now (migrations, then wrangler dev), so signals reach it.
let child: ChildProcess | undefined;
let stopping = false;

/** Runs wrangler with its output prefixed; the same Node binary that runs this script runs wrangler. */
function runWrangler(args: string[], prefix: string, extraEnv: Record<string, string> = {}): ChildProcess {
  const proc = spawn(process.execPath, [wranglerBin(), ...args], {
    cwd: ROOT,
    // No stdin: wrangler stays non-interactive (no prompts, no hotkeys). Its own process group:
    // a terminal's Ctrl-C reaches only us and we forward it to wrangler, which then stops workerd
    // cleanly (signalled all at once, workerd can die first and wrangler reports a crash).
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      ...(process.stdout.isTTY ? { FORCE_COLOR: "1" } : {}),
      ...extraEnv,
    },
  });
  for (const stream of [proc.stdout, proc.stderr]) {
    if (!stream) continue;
    const out = stream === proc.stderr ? process.stderr : process.stdout;
    createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on("line", (line) =>
      out.write(`${prefix} ${line}\n`),
    );
  }
  child = proc;
  return proc;
}

function exited(proc: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve(proc.exitCode ?? 1);
    else proc.once("exit", (code) => resolve(code ?? 1));
  });
}

function exitCodeFor(signal: NodeJS.Signals): number {
  return signal === "SIGINT" ? 130 : signal === "SIGHUP" ? 129 : 143;
}

/** SIGKILL to the child's whole process group (wrangler, workerd, esbuild): when waiting is over. */
function killGroup(): void {
  if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

function onSignal(signal: NodeJS.Signals): void {
  if (stopping) {
    // A second Ctrl-C: do not wait any longer.
    killGroup();
    process.exit(exitCodeFor(signal));
  }
  stopping = true;
  console.log(`\n[start] ${signal}: stopping wrangler…`);
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill(signal);
    const force = setTimeout(killGroup, 10_000);
    force.unref();
    child.once("exit", () => process.exit(exitCodeFor(signal)));
  } else {
    process.exit(exitCodeFor(signal));
  }
}

async function main(): Promise<void> {
  const port = parsePort(process.env.PORT);
  const baseUrl = `http://${HOST}:${port}`;
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, onSignal);
  process.on("exit", () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  });

  if (!(await portIsFree(port, HOST))) {
    const ours = await isHealthy(baseUrl);
    throw new StartError(
      `port ${port} on ${HOST} is already in use${ours ? " (something there answers GET /health: another `npm start`?)" : ""}. ` +
        `Stop it, or choose another port: PORT=${port + 1} npm start`,
    );
  }

  // 1. Keys.
  const { keys, generated } = await loadOrCreateKeys(
    KEYS_FILE,
    DEMO_PARTNERS.map((p) => p.id),
  );
  log(generated.length > 0 ? `generated keys (${generated.join(", ")}) in ${shown(KEYS_FILE)}` : `keys: ${shown(KEYS_FILE)}`);

  // 2. .dev.vars: single-line JSON, single-quoted (dotenv takes it literally).
  const changed = await upsertDotenv(
    DEV_VARS_FILE,
    {
      OPERATOR_JWKS: JSON.stringify({ keys: [keys.operator.public_jwk] }),
      STATEMENT_SIGNING_JWK: JSON.stringify(keys.statement.private_jwk),
    },
    "# Written by `npm start` from .dev/keys.json (local keys only; never use them elsewhere).",
  );
  log(`${shown(DEV_VARS_FILE)}: ${changed ? "written" : "up to date"} (OPERATOR_JWKS, STATEMENT_SIGNING_JWK)`);

  // 3. Migrations, non-interactively: no TTY on stdin and CI=true make wrangler skip its confirmation.
  await mkdir(STATE_DIR, { recursive: true });
  log(`applying migrations to the local D1 (${shown(STATE_DIR)})`);
  const migrate = runWrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", STATE_DIR], "[d1]", { CI: "true" });
  const migrateCode = await exited(migrate);
  if (stopping) return;
  if (migrateCode !== 0) throw new StartError(`wrangler d1 migrations apply exited with ${migrateCode}`);

  // 4. wrangler dev.
  log(`starting wrangler dev on ${baseUrl}`);
  const dev = runWrangler(
    ["dev", "--port", String(port), "--ip", HOST, "--persist-to", STATE_DIR, "--show-interactive-dev-session=false"],
    "[wrangler]",
  );
  let devExited = false;
  dev.once("exit", (code, signal) => {
    devExited = true;
    if (stopping) return;
    console.error(`[start] wrangler dev exited (${signal ?? `code ${code}`})`);
    process.exit(code === 0 ? 1 : (code ?? 1));
  });
  await waitForHealth(baseUrl, { timeoutMs: 120_000, stillRunning: () => !devExited });
  log(`${baseUrl}/health answers 200`);

  // 5. Seed.
  const summary = await seedDemoCoalition({
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

  // 6. .dev/local.json.
  const local: LocalConfig = {
    base_url: baseUrl,
    settlement_currency: await settlementCurrency(),
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
    ...(Object.keys(summary.memberRefs).length > 0 ? { demo_member: { refs: summary.memberRefs } } : {}),
  };
  await mkdir(DEV_DIR, { recursive: true });
  await writeFile(LOCAL_FILE, `${JSON.stringify(local, null, 2)}\n`, { mode: 0o600 });
  log(`wrote ${shown(LOCAL_FILE)}`);
  if (stopping) return;

  printWelcome(baseUrl, summary.memberRefs, summary.warnings);
}

function printWelcome(baseUrl: string, memberRefs: Record<string, string>, warnings: number): void {
  const brewRef = memberRefs["brew-coffee"];
  const lines = [
    "",
    bold(`The coalition exchange is running at ${baseUrl}`),
    `  API reference: ${baseUrl}/docs   (OpenAPI document: ${baseUrl}/openapi.json)`,
    `  Credentials:   ${shown(LOCAL_FILE)} (base URL, operator key, each demo partner's key)`,
    `  Demo partners: ${DEMO_PARTNERS.map((p) => p.id).join(", ")}`,
    ...(warnings > 0 ? [yellow(`  Seeding finished with ${warnings} warning(s), shown above.`)] : []),
    "",
    bold("Make a first signed call, as the partner brew-coffee:"),
    "  npm run cli -- partner brew-coffee get /v1/partner",
    "",
    "  The CLI signs the request with brew-coffee's private key from .dev/local.json: a",
    "  Coalition-Signature header carrying a JWS over the method, path, body hash and a one-time",
    "  jti (partner-api.md §2), exactly what a partner's own integration sends.",
    "",
    bold("More:"),
    "  npm run cli -- operator get /admin/v1/partners        (operator token, scope admin)",
    "  npm run cli -- operator get /admin/v1/audit --scope read",
    ...(brewRef
      ? [
          `  npm run cli -- balance brew-coffee ${brewRef}`,
          `  npm run cli -- earn brew-coffee ${brewRef} 25.00 CNY`,
          `  npm run cli -- burn brew-coffee ${brewRef} 20`,
        ]
      : []),
    "  npm run cli -- help",
    "",
    "Ctrl-C stops the exchange (data and keys stay in .dev/; delete .dev/ and .dev.vars to start over).",
    "",
  ];
  console.log(lines.join("\n"));
}

main().catch((e: unknown) => {
  console.error(
    `[start] error: ${e instanceof StartError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
  );
  stopping = true;
  if (child && child.exitCode === null && child.signalCode === null) {
    child.once("exit", () => process.exit(1));
    child.kill("SIGTERM");
    setTimeout(() => {
      killGroup();
      process.exit(1);
    }, 10_000).unref();
  } else {
    process.exit(1);
  }
});
