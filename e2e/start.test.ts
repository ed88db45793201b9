import assert from "node:assert/strict";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, afterEach, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ROOT } from "../scripts/lib/paths";
import {
  d1File,
  d1Files,
  Exchange,
  expectAllGone,
  findInTree,
  freePort,
  killTree,
  type Proc,
  scratchDir,
  survivors,
} from "./support";

/**
 * `npm start` end to end (issue 9, part 3): a real wrangler dev on a free port, its files in a
 * scratch directory. Every way it ends leaves no process of its tree behind and frees the port;
 * it runs the Cron Triggers of wrangler.toml; its local.json is never stale nor partial; the
 * demo coalition is seeded once per database. Each start takes 10-20 s.
 */

const DAY = 86_400_000;
let devDir: string;

before(async () => {
  devDir = await scratchDir();
});

after(async () => {
  await rm(devDir, { recursive: true, force: true });
});

// A test that failed midway may have left its npm start running: nothing may outlive the suite.
const running = new Set<Exchange>();
afterEach(() => {
  for (const x of running) {
    if (x.npm.exitCode === null && x.npm.signalCode === null) x.snapshot(); // (a dead pid may be reused)
    killTree(survivors(x.seen));
  }
  running.clear();
});

function startExchange(port: number): Exchange {
  const x = Exchange.start(devDir, port);
  running.add(x);
  return x;
}

async function started(): Promise<{ x: Exchange; snapshot: Proc[] }> {
  const x = startExchange(await freePort());
  await x.ready();
  // Everything npm start runs now: npm, node, tsx's esbuild, the watchdog, wrangler (two
  // nodes), workerd, esbuild. Checked afterwards by pid and by process group and session.
  const snapshot = x.snapshot();
  assert.ok(
    snapshot.some((p) => /workerd/.test(p.cmd)),
    `no workerd in the tree:\n${snapshot.map((p) => p.cmd).join("\n")}`,
  );
  assert.ok(
    snapshot.some((p) => /watchdog\.mjs/.test(p.cmd)),
    "no watchdog in the tree",
  );
  return { x, snapshot };
}

async function endsCleanly(x: Exchange, snapshot: Proc[], expected: { code?: number }): Promise<void> {
  const exit = await Promise.race([x.exited, sleep(30_000).then(() => undefined)]);
  assert.ok(exit, `npm start did not end within 30 s:\n${x.output()}`);
  if (expected.code !== undefined) assert.equal(exit.code, expected.code, x.output());
  await expectAllGone(snapshot, x.port);
}

/** The generated config's databases: `count` of them, distinct, each with a local file migrated to the last migration. */
async function assertShardsMigrated(count: number): Promise<void> {
  const config = JSON.parse((await readFile(join(devDir, "wrangler.jsonc"), "utf8")).replace(/^\/\/.*\n/, "")) as {
    d1_databases: { binding: string; database_id: string }[];
  };
  const bindings = config.d1_databases.map((d) => d.binding);
  assert.deepEqual(bindings, ["DB", ...Array.from({ length: count - 1 }, (_, i) => `SHARD_${i + 1}`)]);
  assert.equal(new Set(config.d1_databases.map((d) => d.database_id)).size, count);
  const migrations = (await readdir(join(ROOT, "migrations"))).filter((f) => f.endsWith(".sql")).sort();
  const files = d1Files(devDir);
  assert.ok(files.length >= count, `${files.length} local databases for ${count} shards`);
  const migrated = files.filter((file) => {
    const db = new DatabaseSync(file, { readOnly: true });
    try {
      const applied = db.prepare("SELECT name FROM d1_migrations ORDER BY id").all() as { name: string }[];
      return JSON.stringify(applied.map((r) => r.name)) === JSON.stringify(migrations);
    } finally {
      db.close();
    }
  });
  assert.ok(migrated.length >= count, `${migrated.length} of ${files.length} local databases have every migration`);
}

describe("npm start", () => {
  it("first start: removes a stale local.json, writes the new one atomically after the seed, runs the crons; Ctrl-C stops everything", async () => {
    const localFile = join(devDir, "local.json");
    await writeFile(localFile, `${JSON.stringify({ base_url: "http://stale.invalid", operator: {}, partners: [] })}\n`);
    const x = startExchange(await freePort());
    // Watch the file as a script waiting for it would: every read must be this run's complete
    // file, seeded (the seed records itself just before the file is written).
    const seen: { at: number; baseUrl?: string; seeded?: boolean; error?: string }[] = [];
    let watching = true;
    const watcher = (async () => {
      // Until the welcome is printed, and then until this run's file has been read at least once.
      const fresh = () => seen.some((s) => s.baseUrl === x.baseUrl);
      for (let last = 0; watching || (!fresh() && last++ < 100); ) {
        let text: string | undefined;
        try {
          text = await readFile(localFile, "utf8");
        } catch {
          seen.push({ at: Date.now() });
        }
        if (text !== undefined) {
          try {
            const config = JSON.parse(text) as { base_url: string };
            const entry: (typeof seen)[number] = { at: Date.now(), baseUrl: config.base_url };
            if (config.base_url === x.baseUrl && !seen.some((s) => s.seeded)) {
              entry.seeded = (await x.operator("GET", "/seeds/demo-coalition")).status === 200;
            }
            seen.push(entry);
          } catch (e) {
            seen.push({ at: Date.now(), error: String(e) });
          }
        }
        await sleep(10);
      }
    })();
    const health = await x.waitForLine(/\/health answers 200/);
    await x.ready();
    watching = false;
    await watcher;

    assert.deepEqual(
      seen.filter((s) => s.error),
      [],
      "local.json was read half-written",
    );
    const stale = seen.filter((s) => s.baseUrl === "http://stale.invalid");
    assert.ok(
      stale.every((s) => s.at < health.at),
      "the stale local.json was still there when the server was up",
    );
    const fresh = seen.filter((s) => s.baseUrl === x.baseUrl);
    assert.ok(fresh.length > 0, "local.json was not seen");
    assert.equal(fresh[0]?.seeded, true, "local.json appeared before the seed was done");
    const config = JSON.parse(await readFile(localFile, "utf8"));
    assert.equal(config.partners.length, 4);

    // Two shards by default: the generated config declares DB and SHARD_1, each its own local
    // database, each migrated to the last migration; the shard list shows both.
    await assertShardsMigrated(2);
    const listed = await x.operator("GET", "/shards");
    assert.equal(listed.status, 200);
    // The fresh coalition was spread over both before the seed: half the buckets each.
    assert.match(x.output(), /member buckets spread over every shard/);
    assert.deepEqual(
      listed.json.data.map((s: { binding: string; reachable: boolean; buckets: { count: number } }) => [
        s.binding,
        s.reachable,
        s.buckets.count,
      ]),
      [
        ["DB", true, 2048],
        ["SHARD_1", true, 2048],
      ],
    );

    // The Cron Triggers of wrangler.toml: announced, and run once at start through /__scheduled.
    await x.waitForLine(/Cron Triggers "\* \* \* \* \*" \(wrangler\.toml\): npm start runs the scheduled handler/);
    await x.waitForLine(/\[cron\] cron "\* \* \* \* \*" \(catch-up at start\): GET \/__scheduled\?cron=.* → 200/);

    // The operator empties the rule set on purpose (the next test restarts and expects it empty).
    const emptied = await x.operator("PUT", "/risk-rules", { rules: [] });
    assert.equal(emptied.status, 200);

    const snapshot = x.snapshot();
    process.kill(-x.pgid, "SIGINT"); // Ctrl-C: the terminal signals the whole foreground group
    await endsCleanly(x, snapshot, { code: 130 });
    assert.match(x.output(), /SIGINT: stopping wrangler/);
  });

  it("restart: seeds nothing back (the empty rule set stays), the scheduled run closes the days missed, the cron timer fires; SIGTERM to npm alone", async () => {
    // As if the exchange had been installed two days ago: the first settlement period started then.
    const db = new DatabaseSync(d1File(devDir));
    db.prepare("UPDATE settlement_config SET origin = origin - ?").run(2 * DAY);
    db.close();

    const { x, snapshot } = await started();
    assert.match(x.output(), /demo coalition: seeded .* by npm-start; its risk rules and demo member are left as they are now/);
    const rules = await x.operator("GET", "/risk-rules");
    assert.equal(rules.status, 200);
    assert.deepEqual(rules.json.rules, []);
    assert.equal((await x.operator("GET", "/seeds/demo-coalition")).json.seed.seeded_by, "npm-start");

    // The catch-up run at start closed the ended daily periods, as the scheduler of a deployment would have.
    let closedBy: string[] = [];
    for (let i = 0; i < 50 && closedBy.length === 0; i++) {
      closedBy = ((await x.operator("GET", "/settlements")).json.data as { closed_by: string }[]).map((r) => r.closed_by);
      if (closedBy.length === 0) await sleep(200);
    }
    assert.ok(closedBy.length > 0, "no settlement period was closed by the scheduled run");
    assert.ok(
      closedBy.every((by) => by === "scheduler"),
      closedBy.join(),
    );

    // The timer follows "* * * * *": a run at the next whole minute (UTC).
    await x.waitForLine(/\[cron\] cron "\* \* \* \* \*" \(\d{4}-\d\d-\d\dT\d\d:\d\d:00Z\): GET \/__scheduled/, 70_000);

    const snapshotNow = [...snapshot, ...x.snapshot()];
    process.kill(x.npm.pid!, "SIGTERM"); // npm passes SIGTERM on to its script
    await endsCleanly(x, snapshotNow, { code: 143 });
  });

  it("SHARDS=3 after a start on 2: three databases, each migrated; the seeded coalition keeps the map it was spread over", async () => {
    const x = Exchange.start(devDir, await freePort(), { SHARDS: "3" });
    running.add(x);
    await x.ready();
    assert.match(x.output(), /3 shard\(s\): DB, SHARD_1, SHARD_2/);
    // The first start (2 shards) spread the fresh coalition before seeding it; with members, the map stays.
    assert.match(x.output(), /the coalition has members: its bucket map stays as it is/);
    await assertShardsMigrated(3);
    const listed = (await x.operator("GET", "/shards")).json.data as {
      binding: string;
      members: number;
      buckets: { count: number };
    }[];
    assert.deepEqual(
      listed.map((s) => [s.binding, s.buckets.count]),
      [
        ["DB", 2048],
        ["SHARD_1", 2048],
        ["SHARD_2", 0],
      ],
    );
    assert.ok((listed[0]?.members ?? 0) + (listed[1]?.members ?? 0) > 0, "no demo member on DB or SHARD_1");
    assert.equal(listed[2]?.members, 0);
    const snapshot = x.snapshot();
    process.kill(-x.pgid, "SIGTERM");
    await endsCleanly(x, snapshot, { code: 143 });
  });

  it("SHARDS that is not a shard count: a clear error, exit 1, nothing started", async () => {
    for (const shards of ["0", "two", "257", "1.5"]) {
      const x = Exchange.start(devDir, await freePort(), { SHARDS: shards });
      running.add(x);
      const exit = await x.exited;
      assert.equal(exit.code, 1, x.output());
      assert.match(x.output(), new RegExp(`SHARDS must be a whole number of shards from 1 to 256, got "${shards}"`));
      assert.doesNotMatch(x.output(), /applying migrations|wrangler dev/);
    }
  });

  it("SIGHUP to the whole group (the terminal is closed): nothing is left", async () => {
    const { x, snapshot } = await started();
    process.kill(-x.pgid, "SIGHUP");
    // The terminal is gone: whatever npm start still writes goes nowhere.
    x.npm.stdout?.destroy();
    x.npm.stderr?.destroy();
    await endsCleanly(x, snapshot, {});
  });

  it("SIGHUP to npm alone (npm dies without passing it on): npm start sees its parent go and stops", async () => {
    const { x, snapshot } = await started();
    process.kill(x.npm.pid!, "SIGHUP");
    await endsCleanly(x, snapshot, {});
    await sleep(1500); // the output of the orphaned script, after npm's exit
    assert.match(x.output(), /the process that started npm start \(pid \d+\) is gone: stopping wrangler/);
  });

  it("SIGINT to npm alone: nothing is left", async () => {
    const { x, snapshot } = await started();
    process.kill(x.npm.pid!, "SIGINT");
    await endsCleanly(x, snapshot, { code: 130 });
  });

  it("SIGTERM to the whole group: nothing is left", async () => {
    const { x, snapshot } = await started();
    process.kill(-x.pgid, "SIGTERM");
    await endsCleanly(x, snapshot, { code: 143 });
  });

  it("SIGKILL to npm start's node (no handler runs): the watchdog stops wrangler", async () => {
    const { x, snapshot } = await started();
    process.kill(findInTree(x.npm.pid!, /scripts\/start\.ts/).pid, "SIGKILL");
    await endsCleanly(x, snapshot, {});
  });

  it("wrangler crashes (its process is killed): npm start stops what is left of it and exits 1", async () => {
    const { x, snapshot } = await started();
    process.kill(findInTree(x.npm.pid!, /wrangler-dist\/cli\.js dev/).pid, "SIGKILL");
    await endsCleanly(x, snapshot, { code: 1 });
    assert.match(x.output(), /wrangler dev exited \(code \d+\): stopping/);
  });
});
