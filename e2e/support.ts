import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { setTimeout as sleep } from "node:timers/promises";
import { type Browser, chromium } from "playwright-core";
import { readLocalConfig } from "../scripts/lib/local-config";
import { mintOperatorToken } from "../scripts/lib/operator-token";
import { ROOT } from "../scripts/lib/paths";

/**
 * Drives `npm start` as a person does, from outside: in its own session and process group (as a
 * terminal runs a job), on a free port, with its files in a scratch COALITION_DEV_DIR, and looks
 * at its process tree through /proc (Linux).
 */

export const HOST = "127.0.0.1";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen({ port: 0, host: HOST }, () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

export async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host: HOST, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export function scratchDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "coalition-e2e-"));
}

export interface Line {
  at: number;
  text: string;
}

/** A running `npm start`: its npm process leads the group and session of the whole tree. */
export class Exchange {
  readonly lines: Line[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly baseUrl: string;

  private constructor(
    readonly npm: ChildProcess,
    readonly port: number,
    readonly devDir: string,
  ) {
    this.baseUrl = `http://${HOST}:${port}`;
    this.exited = new Promise((resolve) => npm.once("exit", (code, signal) => resolve({ code, signal })));
    for (const stream of [npm.stdout, npm.stderr]) {
      let buffered = "";
      stream?.setEncoding("utf8");
      stream?.on("data", (chunk: string) => {
        buffered += chunk;
        for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
          this.lines.push({ at: Date.now(), text: buffered.slice(0, nl) });
          buffered = buffered.slice(nl + 1);
        }
      });
    }
  }

  static start(devDir: string, port: number, env: Record<string, string> = {}): Exchange {
    // npm itself, as `npm start` in a terminal; npm_execpath is npm's own script when run by npm.
    const npmCli = process.env.npm_execpath;
    const [command, args] = npmCli ? [process.execPath, [npmCli, "start"]] : ["npm", ["start"]];
    const npm = spawn(command, args, {
      cwd: ROOT,
      // A new session and process group, like a terminal's job; the group id is npm's pid.
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, PORT: String(port), COALITION_DEV_DIR: devDir, FORCE_COLOR: "0", ...env },
    });
    if (npm.pid === undefined) throw new Error("npm did not start");
    return new Exchange(npm, port, devDir);
  }

  get pgid(): number {
    return this.npm.pid!;
  }

  /** Every process of the tree seen so far (for the checks, and to clean up after a failure). */
  readonly seen: Proc[] = [];

  /** The tree now (npm and everything below it), remembered in `seen`. */
  snapshot(): Proc[] {
    const now = tree(this.npm.pid!);
    for (const p of now) if (!this.seen.some((q) => q.pid === p.pid && q.start === p.start)) this.seen.push(p);
    return now;
  }

  output(): string {
    return this.lines.map((l) => l.text).join("\n");
  }

  /** The first line matching `pattern` (waiting for it), or an error with the output so far. */
  async waitForLine(pattern: RegExp, timeoutMs = 90_000): Promise<Line> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.lines.find((l) => pattern.test(l.text));
      if (line) return line;
      if (Date.now() > deadline || this.npm.exitCode !== null || this.npm.signalCode !== null) {
        throw new Error(`no line matching ${pattern} in npm start's output:\n${this.output()}`);
      }
      await sleep(50);
    }
  }

  /** Up, seeded, local.json written: the welcome is printed. */
  ready(): Promise<Line> {
    return this.waitForLine(/The coalition exchange is running at/);
  }

  /** Test teardown: SIGTERM to the whole tree if it still runs, SIGKILL to whatever is left, then the scratch dir goes. */
  async stop(): Promise<void> {
    if (this.npm.exitCode === null && this.npm.signalCode === null) {
      this.snapshot();
      process.kill(-this.pgid, "SIGTERM");
      await this.exited;
    }
    killTree(survivors(this.seen));
    await rm(this.devDir, { recursive: true, force: true });
  }

  async operatorToken(): Promise<string> {
    const config = await readLocalConfig(join(this.devDir, "local.json"));
    return mintOperatorToken(config.operator, { sub: "e2e", scope: "admin" });
  }

  async operator(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
    const response = await fetch(`${this.baseUrl}/admin/v1${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${await this.operatorToken()}`,
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, json: text ? JSON.parse(text) : undefined };
  }
}

// ---------------------------------------------------------------------------------------------
// The process tree, from /proc
// ---------------------------------------------------------------------------------------------

export interface Proc {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  state: string;
  /** Clock ticks since boot: with the pid, it names one process (a pid may be reused). */
  start: string;
  cmd: string;
}

function readProc(pid: number): Proc | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // pid (comm) state ppid pgrp session … field 22 is starttime; comm may hold spaces and parens.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
    return {
      pid,
      state: fields[0] ?? "?",
      ppid: Number(fields[1]),
      pgid: Number(fields[2]),
      sid: Number(fields[3]),
      start: fields[19] ?? "",
      cmd: cmd || stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")),
    };
  } catch {
    return undefined;
  }
}

export function allProcs(): Proc[] {
  const procs: Proc[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const p = readProc(Number(entry));
    if (p) procs.push(p);
  }
  return procs;
}

/** `root` and every process below it. */
export function tree(root: number): Proc[] {
  const procs = allProcs();
  const found = procs.filter((p) => p.pid === root);
  for (let i = 0; i < found.length; i++) {
    for (const p of procs) if (p.ppid === found[i]!.pid && !found.includes(p)) found.push(p);
  }
  return found;
}

/** The process of the tree whose command line matches `pattern`. */
export function findInTree(root: number, pattern: RegExp): Proc {
  const p = tree(root).find((x) => pattern.test(x.cmd));
  if (!p) throw new Error(`no process matching ${pattern} below ${root}:\n${describeProcs(tree(root))}`);
  return p;
}

export function describeProcs(procs: Proc[]): string {
  return procs.map((p) => `  ${p.pid} (ppid ${p.ppid}, pgid ${p.pgid}, ${p.state}) ${p.cmd.slice(0, 140)}`).join("\n");
}

/**
 * What is still alive of a snapshot of the tree: the same processes (pid and start time), and
 * any process in one of the snapshot's sessions or process groups (started later, e.g. a
 * restarted workerd). A zombie has exited: it holds no port or memory, only its parent's record.
 */
export function survivors(snapshot: Proc[]): Proc[] {
  const same = new Set(snapshot.map((p) => `${p.pid}/${p.start}`));
  const groups = new Set(snapshot.map((p) => p.pgid));
  const sessions = new Set(snapshot.map((p) => p.sid));
  return allProcs().filter(
    (p) => p.state !== "Z" && (same.has(`${p.pid}/${p.start}`) || groups.has(p.pgid) || sessions.has(p.sid)),
  );
}

/** Waits until nothing of the snapshot is left and the port is free; kills and reports whatever is. */
export async function expectAllGone(snapshot: Proc[], port: number, withinMs = 20_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  let left = survivors(snapshot);
  let free = await portIsFree(port);
  while ((left.length > 0 || !free) && Date.now() < deadline) {
    await sleep(200);
    left = survivors(snapshot);
    free = await portIsFree(port);
  }
  if (left.length === 0 && free) return;
  // Leave the machine clean for the next test before failing.
  for (const p of left) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  throw new Error(
    `${withinMs / 1000} s after npm start ended: ${left.length} process(es) left${free ? "" : `, port ${port} still in use`}:\n${describeProcs(left)}`,
  );
}

/** Test hygiene after a failure: SIGKILL to every process and process group of the tree. */
export function killTree(procs: Proc[]): void {
  for (const target of [...new Set(procs.map((p) => -p.pgid)), ...procs.map((p) => p.pid)]) {
    try {
      process.kill(target, "SIGKILL");
    } catch {
      // gone
    }
  }
}

/** Every local D1 database file in a COALITION_DEV_DIR: DB's and each shard's (named by a hash, in no order). */
export function d1Files(devDir: string): string[] {
  const dir = join(devDir, "state", "v3", "d1", "miniflare-D1DatabaseObject");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite")
    .map((f) => join(dir, f));
}

/**
 * The local D1 database file of binding DB: with several shards, the one the demo coalition
 * was seeded into (every database has the same tables; only DB has a seed's record).
 */
export function d1File(devDir: string): string {
  const seeded = d1Files(devDir).filter((file) => {
    const db = new DatabaseSync(file, { readOnly: true });
    try {
      return (db.prepare("SELECT COUNT(*) AS n FROM seeds").get() as { n: number }).n > 0;
    } finally {
      db.close();
    }
  });
  if (seeded.length !== 1) throw new Error(`${seeded.length} seeded D1 databases in ${devDir}, not one (DB)`);
  return seeded[0] as string;
}

// ---------------------------------------------------------------------------------------------
// Chromium: Debian's package, driven by playwright-core (nothing is downloaded)
// ---------------------------------------------------------------------------------------------

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Why a browser test is skipped (no Chromium here), or false. */
export function chromiumMissing(): string | false {
  return existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}`;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
