import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ROOT } from "./paths";

/**
 * Children that must not outlive `npm start`, however it ends. wrangler starts more processes
 * (a second node, workerd, esbuild) and does not stop them all on every signal (its launcher
 * dies of SIGHUP and leaves the rest running), so each child is started as the leader of its own
 * process group and stopped as a group: the leader is asked first (wrangler then stops workerd
 * cleanly), whatever is left of the group gets SIGTERM, then SIGKILL. A group signal reaches
 * every process of it, however deep, without tracking pids. When `npm start` cannot do that
 * itself (SIGKILL, a crash past every handler), the watchdog (watchdog.mjs) does.
 */

/** Whether any process of the group is left. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Gone meanwhile.
  }
}

async function groupGone(pgid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (groupAlive(pgid)) {
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
  return true;
}

/** Tells the watchdog which process groups to stop should `npm start` end without stopping them. */
export class Watchdog {
  private constructor(private readonly proc: ChildProcess) {}

  static start(): Watchdog {
    const proc = spawn(process.execPath, [join(ROOT, "scripts", "lib", "watchdog.mjs")], {
      // Its own session: a terminal's hang-up or Ctrl-C must not take it down with npm start.
      detached: true,
      stdio: ["pipe", "ignore", "ignore"],
    });
    // If it is gone there is nobody to tell; npm start itself still stops its groups.
    proc.stdin?.on("error", () => {});
    proc.unref();
    return new Watchdog(proc);
  }

  guard(pgid: number): void {
    this.proc.stdin?.write(`+${pgid}\n`);
  }

  release(pgid: number): void {
    this.proc.stdin?.write(`-${pgid}\n`);
  }
}

/** A child that leads its own process group (pgid = its pid), guarded by the watchdog until the group is gone. */
export class GroupChild {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The group is known to be gone (its pgid may be reused from then on: never signal it again). */
  private gone = false;

  private constructor(
    readonly proc: ChildProcess,
    readonly pgid: number,
    private readonly watchdog: Watchdog,
  ) {
    this.exited = new Promise((resolve) => proc.once("exit", (code, signal) => resolve({ code, signal })));
  }

  static spawn(command: string, args: string[], options: SpawnOptions, watchdog: Watchdog): GroupChild {
    const proc = spawn(command, args, { ...options, detached: true });
    if (proc.pid === undefined) throw new Error(`could not start ${command}`);
    watchdog.guard(proc.pid);
    return new GroupChild(proc, proc.pid, watchdog);
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /**
   * Asks the leader to stop with `signal`, waits up to `graceMs` for it, then stops whatever is
   * left of the group. Resolves when the group is gone (or nothing more can be done).
   */
  async stop(signal: NodeJS.Signals = "SIGTERM", graceMs = 10_000): Promise<void> {
    if (this.running) {
      this.proc.kill(signal);
      await Promise.race([this.exited, sleep(graceMs)]);
    }
    await this.sweep();
  }

  /** Whatever outlived the leader (or a leader that would not stop): SIGTERM, then SIGKILL. */
  async sweep(): Promise<void> {
    if (this.gone) return;
    if (groupAlive(this.pgid)) {
      signalGroup(this.pgid, "SIGTERM");
      if (!(await groupGone(this.pgid, 2000))) {
        signalGroup(this.pgid, "SIGKILL");
        await groupGone(this.pgid, 2000);
      }
    }
    // Only a group known to be gone is released: the watchdog keeps trying the others.
    if (!groupAlive(this.pgid)) {
      this.gone = true;
      this.watchdog.release(this.pgid);
    }
  }

  /** SIGKILL to the whole group at once: a second Ctrl-C, or the process 'exit' handler (no waiting there). */
  killNow(): void {
    if (!this.gone) signalGroup(this.pgid, "SIGKILL");
  }
}
