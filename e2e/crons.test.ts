import assert from "node:assert/strict";
import { afterEach, describe, it, mock } from "node:test";
import { CronDriver, nextRuns } from "../scripts/lib/crons";
import { readWorkerConfig } from "../scripts/lib/worker-config";

/**
 * The cron driving of `npm start` (scripts/lib/crons.ts), on a mocked clock: it follows the
 * expressions of wrangler.toml in Cloudflare's dialect (UTC, weekdays 1-7 = SUN-SAT) and runs
 * each at its times, one run at a time. Would fail if: a run fired early, late, twice, in local
 * time, or after stop().
 */

const at = (iso: string) => new Date(iso);
const iso = (dates: Date[]) => dates.map((d) => d.toISOString());

/** Lets the promise callbacks a timer started run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

afterEach(() => mock.timers.reset());

describe("cron expressions (Cloudflare's dialect)", () => {
  it("reads [triggers] crons from wrangler.toml", () => {
    assert.deepEqual(readWorkerConfig().crons, ["* * * * *"]);
    assert.equal(readWorkerConfig().settlementCurrency, "CNY");
  });

  it("computes the next runs in UTC, weekday 1 being Sunday", () => {
    assert.deepEqual(iso(nextRuns("* * * * *", 2, at("2026-12-01T12:00:30Z"))), [
      "2026-12-01T12:01:00.000Z",
      "2026-12-01T12:02:00.000Z",
    ]);
    // 2026-12-02 is a Wednesday; "0 17 * * 1" is 5 PM on Sunday in Cloudflare's docs.
    assert.deepEqual(iso(nextRuns("0 17 * * 1", 1, at("2026-12-02T00:00:00Z"))), ["2026-12-06T17:00:00.000Z"]);
    assert.deepEqual(iso(nextRuns("0 17 * * sun", 1, at("2026-12-02T00:00:00Z"))), ["2026-12-06T17:00:00.000Z"]);
    assert.deepEqual(iso(nextRuns("59 23 L * *", 1, at("2026-12-02T00:00:00Z"))), ["2026-12-31T23:59:00.000Z"]);
  });

  it("refuses an expression Cloudflare would not take", () => {
    assert.throws(() => new CronDriver({ crons: ["* * * *"], trigger: async () => "", log() {}, warn() {} }));
    assert.throws(() => new CronDriver({ crons: ["*/5 * * * * *"], trigger: async () => "", log() {}, warn() {} }));
  });
});

describe("CronDriver", () => {
  it('fires "* * * * *" at each whole minute, not before, and not after stop()', async () => {
    mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"], now: at("2026-12-01T12:00:30Z") });
    const runs: { cron: string; at: string }[] = [];
    const logged: string[] = [];
    const driver = new CronDriver({
      crons: ["* * * * *"],
      trigger: async (cron) => {
        runs.push({ cron, at: new Date().toISOString() });
        return "ok";
      },
      log: (m) => logged.push(m),
      warn: (m) => logged.push(`warn ${m}`),
    });
    driver.start();
    assert.equal(driver.nextRun()?.toISOString(), "2026-12-01T12:01:00.000Z");
    mock.timers.tick(29_000);
    await settle();
    assert.equal(runs.length, 0);
    mock.timers.tick(1_000);
    await settle();
    assert.deepEqual(runs, [{ cron: "* * * * *", at: "2026-12-01T12:01:00.000Z" }]);
    assert.deepEqual(logged, ['cron "* * * * *" (2026-12-01T12:01:00Z): ok']);
    mock.timers.tick(60_000);
    await settle();
    assert.equal(runs.length, 2);
    assert.equal(runs[1]?.at, "2026-12-01T12:02:00.000Z");
    driver.stop();
    mock.timers.tick(180_000);
    await settle();
    assert.equal(runs.length, 2);
  });

  it("runs every cron once on runAllNow (the catch-up at start), and reports a failed run without stopping", async () => {
    const logged: string[] = [];
    let calls = 0;
    const driver = new CronDriver({
      crons: ["* * * * *", "0 0 * * *"],
      trigger: async (cron) => {
        calls++;
        if (cron === "0 0 * * *") throw new Error("GET /__scheduled answered 500");
        return "200";
      },
      log: (m) => logged.push(m),
      warn: (m) => logged.push(`warn ${m}`),
    });
    await driver.runAllNow("catch-up at start");
    assert.equal(calls, 2);
    assert.deepEqual(logged.sort(), [
      'cron "* * * * *" (catch-up at start): 200',
      'warn cron "0 0 * * *" (catch-up at start): GET /__scheduled answered 500; the next run tries again',
    ]);
  });
});
