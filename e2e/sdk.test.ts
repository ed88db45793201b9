import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { type LocalConfig, partnerCredentials, readLocalConfig } from "../scripts/lib/local-config";
import { ROOT } from "../scripts/lib/paths";
import { Exchange, expectAllGone, freePort, killTree, type Proc, scratchDir, survivors } from "./support";

/**
 * The partner SDK as a partner gets it (issue 13): `npm pack`ed, installed from the tarball into
 * an empty folder outside the repo, imported by a plain `node` ESM script that enrols, earns and
 * burns against a running `npm start`. And `cli sign`: its curl command, run as printed, works.
 * And docs/signing.md: its Node (plain jose) and Python (PyJWT) examples, run as written.
 * One exchange for the file (10-20 s to start); the install takes a few seconds more.
 */

const run = promisify(execFile);
const SDK_DIR = join(ROOT, "packages", "partner-sdk");
let x: Exchange;
let snapshot: Proc[];
let config: LocalConfig;
let devDir: string;
let work: string;

// npm itself, as the e2e suite was started (npm_execpath is npm's script when run by npm).
function npm(args: string[], cwd: string) {
  const cli = process.env.npm_execpath;
  return cli ? run(process.execPath, [cli, ...args], { cwd }) : run("npm", args, { cwd });
}

before(async () => {
  devDir = await scratchDir();
  work = await mkdtemp(join(tmpdir(), "coalition-sdk-"));
  x = Exchange.start(devDir, await freePort());
  await x.ready();
  snapshot = x.snapshot();
  config = await readLocalConfig(join(devDir, "local.json"));
});

after(async () => {
  if (x) {
    process.kill(-x.pgid, "SIGINT");
    const exit = await Promise.race([x.exited, sleep(30_000).then(() => undefined)]);
    if (!exit) killTree(survivors(x.seen));
    await expectAllGone(snapshot, x.port);
  }
  await rm(devDir, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

const SMOKE = `
import { InvalidRequestError, PartnerClient } from "@coalition/partner-sdk";
const client = new PartnerClient({ baseUrl: process.env.SDK_BASE_URL, credentials: JSON.parse(process.env.SDK_PARTNER) });
const ref = "sdk-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 8);
const context = { ip: "203.0.113.9" };
const enrolled = await client.enrol(ref, { context });
const earned = await client.earn({ member_ref: ref, amount: { value: "12.00", unit: "CNY" }, context });
const burned = await client.burn({ member_ref: ref, points: 5, context });
let declined;
try {
  await client.burn({ member_ref: ref, points: 100, context });
} catch (e) {
  declined = { typed: e instanceof InvalidRequestError, status: e.status, type: e.type, code: e.code, requestId: e.requestId };
}
const activity = [];
for await (const t of client.activity(ref, { limit: 1 })) activity.push(t.type);
console.log(JSON.stringify({ node: process.version, created: enrolled.created, earned: earned.transaction,
  burned: burned.transaction, balance: burned.balance.points, declined, activity }));
`;

/** Another Node on the PATH than the one running the suite (the machine's Node 20, say), if any. */
async function otherNodes(): Promise<string[]> {
  const found: string[] = [];
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir || dir.includes("node_modules")) continue;
    const candidate = join(dir, "node");
    try {
      const { stdout } = await run(candidate, ["--version"]);
      if (stdout.trim() !== process.version && !found.length) found.push(candidate);
    } catch {
      // not here
    }
  }
  return found;
}

describe("partner SDK, installed from its tarball", () => {
  it("npm pack builds it; in an empty folder, plain node imports it, enrols, earns and burns", async (t) => {
    const packed = await npm(["pack", "--json", "--pack-destination", work], SDK_DIR);
    const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as {
      filename: string;
      files: { path: string }[];
    }[];
    assert.ok(info, packed.stdout);
    const files = info.files.map((f) => f.path);
    for (const f of ["package.json", "dist/index.js", "dist/index.d.ts", "dist/client.js"]) assert.ok(files.includes(f), f);

    const app = join(work, "app");
    await mkdir(app);
    await writeFile(join(app, "package.json"), JSON.stringify({ name: "sdk-smoke", private: true, type: "module" }));
    await npm(["install", "--no-audit", "--no-fund", "--prefer-offline", join(work, info.filename)], app);
    const installed = join(app, "node_modules", "@coalition", "partner-sdk", "dist");
    // Web APIs only: no Node built-in is imported anywhere in what a browser or a Worker loads.
    for (const f of (await readdir(installed)).filter((f) => f.endsWith(".js"))) {
      assert.doesNotMatch(await readFile(join(installed, f), "utf8"), /from\s+["']node:|require\(/, f);
    }
    await writeFile(join(app, "smoke.mjs"), SMOKE);
    const env = {
      ...process.env,
      SDK_BASE_URL: x.baseUrl,
      SDK_PARTNER: JSON.stringify(partnerCredentials(config, "brew-coffee")),
    };
    for (const node of [process.execPath, ...(await otherNodes())]) {
      const { stdout } = await run(node, ["smoke.mjs"], { cwd: app, env });
      const out = JSON.parse(stdout) as Record<string, any>;
      t.diagnostic(`ran on ${node} ${out.node}`);
      const where = `${node} ${out.node}: ${stdout}`;
      assert.equal(out.created, true, where);
      assert.equal(out.earned.type, "earn", where);
      assert.equal(out.earned.status, "posted", where); // brew-coffee: CNY 1 per point, no pending days
      assert.equal(out.earned.points, 12, where);
      assert.equal(out.burned.status, "posted", where);
      assert.deepEqual(out.balance, { available: 7, pending: 0, held: 0 }, where);
      assert.equal(out.declined.typed, true, where);
      assert.equal(out.declined.status, 422, where);
      assert.equal(out.declined.code, "insufficient_points", where);
      assert.match(out.declined.requestId, /./, where);
      assert.deepEqual(out.activity, ["burn", "earn"], where); // newest first, one page each; a declined burn books nothing
    }
  });
});

describe("cli sign", () => {
  async function sign(...args: string[]): Promise<{ headers: Map<string, string>; curl: string }> {
    const cli = [join(ROOT, "scripts", "cli.ts"), "--config", join(devDir, "local.json"), "sign", ...args];
    const { stdout } = await run(process.execPath, ["--import", "tsx", ...cli], { cwd: ROOT });
    const lines = stdout.trimEnd().split("\n");
    const curl = lines.at(-1) ?? "";
    const headers = new Map(
      lines.slice(0, lines.indexOf("")).map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 2)] as [string, string]),
    );
    return { headers, curl };
  }

  const curl = async (command: string) => JSON.parse((await run("bash", ["-c", command])).stdout) as any;

  it("prints the headers and a curl command that works as pasted, once", async () => {
    const post = await sign(
      "brew-coffee",
      "post",
      "/v1/earn",
      '{"member_ref":"c-1001","points":3,"context":{"ip":"203.0.113.7"}}',
    );
    assert.deepEqual([...post.headers.keys()], ["Coalition-Signature", "Idempotency-Key", "Content-Type"]);
    assert.match(post.curl, /^curl -sS -X POST /);
    const earned = await curl(post.curl);
    assert.equal(earned.transaction?.type, "earn", JSON.stringify(earned));
    assert.equal(earned.transaction.points, 3);
    // The same command again: its jti is spent (§2), so a pasted command works once.
    assert.equal((await curl(post.curl)).error?.code, "replayed_request");

    const get = await sign("brew-coffee", "get", "/v1/members/c-1001/balance");
    assert.deepEqual([...get.headers.keys()], ["Coalition-Signature"]);
    const balance = await curl(get.curl);
    assert.equal(typeof balance.points?.available, "number", JSON.stringify(balance));
  });
});

describe("docs/signing.md", () => {
  /** The fenced blocks named by their info string (```js sign.mjs), as the page shows them. */
  async function examples(): Promise<Map<string, string>> {
    const page = await readFile(join(ROOT, "docs", "signing.md"), "utf8");
    return new Map([...page.matchAll(/^```\w+ (\S+)\n([\s\S]*?)^```$/gm)].map((m) => [m[1]!, m[2]!]));
  }

  function env(): NodeJS.ProcessEnv {
    const p = config.partners.find((q) => q.id === "brew-coffee")!;
    return {
      ...process.env,
      EXCHANGE_URL: x.baseUrl,
      PARTNER_ID: p.id,
      PARTNER_KID: p.kid,
      PARTNER_JWK: JSON.stringify(p.private_jwk),
      MEMBER_REF: config.demo_member?.refs["brew-coffee"] ?? "c-1001",
    };
  }

  function earned(stdout: string): void {
    const [status, ...rest] = stdout.trim().split(" ");
    assert.equal(status, "201", stdout);
    const body = JSON.parse(rest.join(" ")) as any;
    assert.equal(body.transaction.type, "earn", stdout);
    assert.equal(body.transaction.points, 2, stdout);
  }

  it("the Node example (plain jose) earns", async () => {
    const code = (await examples()).get("sign.mjs");
    assert.ok(code, "no ```js sign.mjs block");
    const dir = join(work, "docs-node");
    await mkdir(dir);
    await writeFile(join(dir, "sign.mjs"), code);
    await symlink(join(ROOT, "node_modules"), join(dir, "node_modules")); // jose, as `npm install jose` gives it
    earned((await run(process.execPath, ["sign.mjs"], { cwd: dir, env: env() })).stdout);
  });

  it("the Python example (PyJWT, cryptography) earns", async (t) => {
    const code = (await examples()).get("sign.py");
    assert.ok(code, "no ```python sign.py block");
    const python = process.env.COALITION_PYTHON ?? "python3";
    try {
      await run(python, ["-c", "import jwt, cryptography"]);
    } catch (e) {
      const why = `${python} with PyJWT and cryptography not found (${(e as Error).message.split("\n").filter(Boolean).at(-1)}); set COALITION_PYTHON to one that has them`;
      console.log(`skipped: ${why}`);
      t.skip(why);
      return;
    }
    const file = join(work, "sign.py");
    await writeFile(file, code);
    earned((await run(python, [file], { env: env() })).stdout);
  });
});
