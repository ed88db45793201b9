import { Cron, type CronOptions } from "croner";

/**
 * Cron Triggers for a local run: `wrangler dev` never fires them, so `npm start` follows the
 * expressions of wrangler.toml itself and runs the worker's scheduled handler on each (through
 * `wrangler dev --test-scheduled`'s GET /__scheduled). Cloudflare's dialect: 5 fields, UTC,
 * weekdays 1-7 = SUN-SAT (Quartz style), with L, W and #.
 */
const CLOUDFLARE_DIALECT: CronOptions = { timezone: "UTC", mode: "5-part", alternativeWeekdays: true };

/** The next `count` times (UTC) at which `expression` fires after `from`; throws on an expression Cloudflare would not take. */
export function nextRuns(expression: string, count: number, from = new Date()): Date[] {
  return new Cron(expression, { ...CLOUDFLARE_DIALECT, paused: true }).nextRuns(count, from);
}

/** 2026-12-01T12:05:00Z */
export function utcSecond(at: Date): string {
  return `${at.toISOString().slice(0, 19)}Z`;
}

export interface CronDriverOptions {
  crons: readonly string[];
  /** Runs the worker's scheduled handler for `cron`; resolves to a short outcome for the log. */
  trigger: (cron: string) => Promise<string>;
  log: (message: string) => void;
  warn: (message: string) => void;
}

/** Follows each cron expression (and can run them all at once), one run of a cron at a time. */
export class CronDriver {
  private readonly jobs: Cron[] = [];

  constructor(private readonly opts: CronDriverOptions) {
    for (const cron of opts.crons) nextRuns(cron, 1); // refuse a bad expression before anything runs
  }

  /** Starts the timers; each fires at its expression's times from now on. */
  start(): void {
    for (const cron of this.opts.crons) {
      const job: Cron = new Cron(
        cron,
        {
          ...CLOUDFLARE_DIALECT,
          // A run still going (a slow or reloading wrangler) is not overrun by the next.
          protect: () => this.opts.warn(`cron "${cron}": skipped ${utcSecond(new Date())}, the previous run is still going`),
        },
        () => this.fire(cron, utcSecond(job.currentRun() ?? new Date())),
      );
      this.jobs.push(job);
    }
  }

  /**
   * Runs every cron once now: what a deployment would have run while the local exchange was
   * stopped (scheduled jobs are idempotent and catch up on whatever is due).
   */
  async runAllNow(label: string): Promise<void> {
    await Promise.all(this.opts.crons.map((cron) => this.fire(cron, label)));
  }

  /** The earliest next run of any cron, if a timer is running. */
  nextRun(): Date | undefined {
    const next = this.jobs.map((j) => j.nextRun()).filter((d): d is Date => d !== null);
    return next.sort((a, b) => a.getTime() - b.getTime())[0];
  }

  stop(): void {
    for (const job of this.jobs.splice(0)) job.stop();
  }

  private async fire(cron: string, label: string): Promise<void> {
    try {
      this.opts.log(`cron "${cron}" (${label}): ${await this.opts.trigger(cron)}`);
    } catch (e) {
      this.opts.warn(`cron "${cron}" (${label}): ${e instanceof Error ? e.message : String(e)}; the next run tries again`);
    }
  }
}

/** A trigger that runs the scheduled handler of `wrangler dev --test-scheduled` at `baseUrl`. */
export function wranglerScheduledTrigger(baseUrl: string): (cron: string) => Promise<string> {
  return async (cron) => {
    const path = `/__scheduled?cron=${encodeURIComponent(cron)}`;
    const response = await fetch(`${baseUrl}${path}`, { signal: AbortSignal.timeout(30_000) });
    const text = await response.text();
    if (!response.ok) throw new Error(`GET ${path} answered ${response.status} ${text.slice(0, 200)}`);
    return `GET ${path} → ${response.status}`;
  };
}
