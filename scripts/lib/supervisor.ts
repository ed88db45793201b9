import { GroupChild, Watchdog } from "./process-group";

/**
 * How `npm start` ends: on Ctrl-C (SIGINT), SIGTERM, SIGHUP (a closed terminal), the exit of its
 * parent (npm killed on its own: npm does not pass SIGHUP on), a crash of wrangler, an error, or
 * an exception nobody caught, it stops every process group it started before it exits. For
 * SIGKILL, which no handler sees, the watchdog does it (process-group.ts).
 */

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
/** npm passes the terminal's Ctrl-C on to its script, which got it from the terminal already. */
const SAME_SIGNAL_MS = 1000;

function exitCodeFor(signal: NodeJS.Signals): number {
  return signal === "SIGINT" ? 130 : signal === "SIGHUP" ? 129 : 143;
}

export class Supervisor {
  private readonly watchdog = Watchdog.start();
  private readonly groups = new Set<GroupChild>();
  private readonly onStop: (() => void)[] = [];
  private stopping: Promise<never> | undefined;
  private firstSignalAt = 0;

  constructor(private readonly log: (message: string) => void) {}

  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  /** Signals, the parent's exit, uncaught errors; a closed terminal's write errors are ignored. */
  install(): void {
    for (const stream of [process.stdout, process.stderr]) stream.on("error", () => {});
    for (const signal of SIGNALS) process.on(signal, () => this.onSignal(signal));
    const parent = process.ppid;
    const watch = setInterval(() => {
      if (process.ppid === parent) return;
      clearInterval(watch);
      void this.shutdown(129, `the process that started npm start (pid ${parent}) is gone: stopping wrangler…`);
    }, 500);
    watch.unref();
    const crash = (e: unknown) => {
      this.log(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      void this.shutdown(1);
    };
    process.on("uncaughtException", crash);
    process.on("unhandledRejection", crash);
    // Last resort for a path that exits without shutdown(): no waiting is possible here.
    process.on("exit", () => {
      for (const group of this.groups) group.killNow();
    });
  }

  /** Starts a child as its own process group, stopped with everything else. */
  spawn(command: string, args: string[], options: Parameters<typeof GroupChild.spawn>[2]): GroupChild {
    const group = GroupChild.spawn(command, args, options, this.watchdog);
    this.groups.add(group);
    return group;
  }

  /** Called first when stopping (e.g. the cron timers, so nothing new starts). */
  beforeStop(fn: () => void): void {
    this.onStop.push(fn);
  }

  /**
   * Stops every group (the leader with `signal`, then whatever is left) and exits with `code`.
   * Once only: later calls wait for the first.
   */
  shutdown(code: number, message?: string, signal: NodeJS.Signals = "SIGTERM"): Promise<never> {
    this.stopping ??= (async () => {
      if (message) this.log(message);
      for (const fn of this.onStop) {
        try {
          fn();
        } catch {
          // Stopping goes on.
        }
      }
      await Promise.all([...this.groups].map((group) => group.stop(signal)));
      process.exit(code);
    })();
    return this.stopping;
  }

  private onSignal(signal: NodeJS.Signals): void {
    if (!this.stopping) {
      this.firstSignalAt = Date.now();
      // wrangler's launcher passes SIGINT and SIGTERM on to wrangler, but dies of SIGHUP.
      void this.shutdown(exitCodeFor(signal), `${signal}: stopping wrangler…`, signal === "SIGINT" ? "SIGINT" : "SIGTERM");
      return;
    }
    if (Date.now() - this.firstSignalAt < SAME_SIGNAL_MS) return;
    // A second Ctrl-C: stop waiting.
    this.log(`${signal} again: killing wrangler and everything it started`);
    for (const group of this.groups) group.killNow();
    process.exit(exitCodeFor(signal));
  }
}
