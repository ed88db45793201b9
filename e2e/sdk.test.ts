import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { createServer, request, type Server } from "node:http";
import { tmpdir } from "node:os";
import { delimiter, extname, join, normalize, sep } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import type { Browser } from "playwright-core";
import { type LocalConfig, partnerCredentials, readLocalConfig } from "../scripts/lib/local-config";
import { ROOT } from "../scripts/lib/paths";
import {
  chromiumMissing,
  Exchange,
  expectAllGone,
  freePort,
  HOST,
  killTree,
  launchChromium,
  type Proc,
  scratchDir,
  survivors,
} from "./support";

/**
 * The partner SDK as a partner gets it (issue 13): `npm pack`ed, installed from the tarball into
 * an empty folder outside the repo, and run against a running `npm start` in every runtime it
 * promises: Node (this one, 22, and another on the PATH, the machine's 20), Deno and Bun (their
 * npm packages, devDependencies) and Chromium. Each runs the same flow, e2e/sdk-flow.mjs: whoami,
 * enrol, earn, burn, balance, two typed errors, activity pages, a statement verified.
 * And the README's "Partner quick start", run as the README tells a reader to.
 * And `cli sign`: its curl command, run as printed, works.
 * And docs/signing.md: its Node (plain jose) and Python (PyJWT) examples, run as written.
 * One exchange for the file (10-20 s to start); the install takes a few seconds more.
 */

const run = promisify(execFile);
const SDK_DIR = join(ROOT, "packages", "partner-sdk");
const FLOW = join(import.meta.dirname, "sdk-flow.mjs");
const BIN = join(ROOT, "node_modules", ".bin");
/** A guard against a hung runtime, not a timing assertion. */
const RUN_LIMIT_MS = 180_000;
let x: Exchange;
let snapshot: Proc[];
let config: LocalConfig;
let devDir: string;
let work: string;
/** An off-cycle settlement period closed once the demo coalition is seeded: a statement to verify. */
let settlementId: string;

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
  // Cut the open period now (a whole second, after the seeding's transactions): brew-coffee's
  // statement of it holds the demo earns.
  await sleep(1000);
  const closed = await x.operator("POST", "/settlements/close", {
    period_end: new Date(Math.floor(Date.now() / 1000) * 1000).toISOString(),
  });
  assert.equal(closed.status, 200, JSON.stringify(closed.json));
  settlementId = closed.json.data.at(-1).id;
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

// ---------------------------------------------------------------------------------------------
// The tarball, installed once for every runtime
// ---------------------------------------------------------------------------------------------

interface Installed {
  /** The partner's empty folder: package.json, node_modules (the SDK and jose), sdk-flow.mjs, main.mjs. */
  app: string;
  /** What the tarball holds. */
  files: string[];
}

let installing: Promise<Installed> | undefined;

/** `npm pack` of the SDK, installed into an empty folder with the shared flow beside it. */
function installed(): Promise<Installed> {
  installing ??= (async () => {
    const packed = await npm(["pack", "--json", "--pack-destination", work], SDK_DIR);
    const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as {
      filename: string;
      files: { path: string }[];
    }[];
    assert.ok(info, packed.stdout);
    const app = join(work, "app");
    await mkdir(app);
    await writeFile(join(app, "package.json"), JSON.stringify({ name: "sdk-smoke", private: true, type: "module" }));
    await npm(["install", "--no-audit", "--no-fund", "--prefer-offline", join(work, info.filename)], app);
    await copyFile(FLOW, join(app, "sdk-flow.mjs"));
    await writeFile(join(app, "main.mjs"), MAIN);
    return { app, files: info.files.map((f) => f.path) };
  })();
  return installing;
}

/** The flow as a program: its input from the environment (`process` is global in Node, Deno and Bun), its output JSON. */
const MAIN = `import { flow } from "./sdk-flow.mjs";
const runtime = globalThis.Deno ? "deno " + Deno.version.deno : globalThis.Bun ? "bun " + Bun.version : "node " + process.version;
console.log(JSON.stringify({ runtime, ...(await flow(JSON.parse(process.env.SDK_FLOW))) }));
`;

/** What the flow needs: the exchange, brew-coffee's key, the statement to verify. */
function flowConfig(baseUrl = x.baseUrl) {
  return { baseUrl, credentials: partnerCredentials(config, "brew-coffee"), settlementId };
}

/** What every runtime must have seen, the same everywhere. */
function assertFlow(out: Record<string, any>, where: string): void {
  const at = `${where} (${out.runtime}): ${JSON.stringify(out)}`;
  assert.equal(out.whoami, "brew-coffee", at);
  assert.equal(out.created, true, at);
  assert.equal(out.earned.type, "earn", at);
  assert.equal(out.earned.status, "posted", at); // brew-coffee: CNY 1 per point, no pending days
  assert.equal(out.earned.points, 12, at);
  assert.equal(out.burned.type, "burn", at);
  assert.equal(out.burned.status, "posted", at);
  assert.deepEqual(out.balance, { available: 7, pending: 0, held: 0 }, at);
  // A declined burn: the typed error, with the contract's type and code and the request id.
  assert.equal(out.declined.typed, true, at);
  assert.equal(out.declined.name, "InvalidRequestError", at);
  assert.equal(out.declined.status, 422, at);
  assert.equal(out.declined.type, "invalid_request", at);
  assert.equal(out.declined.code, "insufficient_points", at);
  assert.match(out.declined.requestId, /^req_/, at);
  // A member this partner does not have: 404, and the contract's param.
  assert.equal(out.unknownMember.typed, true, at);
  assert.equal(out.unknownMember.status, 404, at);
  assert.equal(out.unknownMember.code, "member_not_found", at);
  assert.equal(out.unknownMember.param, "member_ref", at);
  assert.deepEqual(out.activity, ["burn", "earn"], at); // newest first, one page each; a declined burn books nothing
  // The statement: signature against the JWKS, digest, every figure from its lines.
  assert.deepEqual(out.statement.problems, [], at);
  assert.equal(out.statement.ok, true, at);
  assert.equal(out.statement.partner, "brew-coffee", at);
  assert.ok(out.statement.lines > 0, at);
  assert.ok(out.settlements.includes(settlementId), at);
}

/** Runs main.mjs with `command` in the installed folder; its JSON output. */
async function runFlow(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Record<string, any>> {
  const { app } = await installed();
  const { stdout } = await run(command, [...args, "main.mjs"], {
    cwd: app,
    env: { ...process.env, ...env, SDK_FLOW: JSON.stringify(flowConfig()) },
    timeout: RUN_LIMIT_MS,
  });
  return JSON.parse(stdout) as Record<string, any>;
}

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

/** A runtime's binary from node_modules/.bin (its npm package), or why it cannot run here. */
async function binary(name: string): Promise<{ path: string } | { missing: string }> {
  const path = join(BIN, name);
  try {
    await run(path, ["--version"], { timeout: RUN_LIMIT_MS });
    return { path };
  } catch (e) {
    return {
      missing: `${path} does not run (${(e as Error).message.split("\n")[0]}): the npm package ${name} (a devDependency) brings no binary for ${process.platform}-${process.arch} here`,
    };
  }
}

describe("partner SDK, installed from its tarball", () => {
  it("npm pack builds it; it installs in an empty folder, Web APIs only", async () => {
    const { app, files } = await installed();
    for (const f of ["package.json", "dist/index.js", "dist/index.d.ts", "dist/client.js"]) assert.ok(files.includes(f), f);
    const dist = join(app, "node_modules", "@coalition", "partner-sdk", "dist");
    // No Node built-in is imported anywhere in what a browser, Deno, Bun or a Worker loads.
    for (const f of (await readdir(dist)).filter((f) => f.endsWith(".js"))) {
      assert.doesNotMatch(await readFile(join(dist, f), "utf8"), /from\s+["']node:|require\(/, f);
    }
  });

  it("Node: this one and another on the PATH", async (t) => {
    for (const node of [process.execPath, ...(await otherNodes())]) {
      const out = await runFlow(node, []);
      t.diagnostic(`ran on ${node} (${out.runtime})`);
      assertFlow(out, node);
    }
  });

  // Deno and Bun from their npm packages (devDependencies), each resolving the SDK and jose from
  // the folder's node_modules. Deno: no remote modules and no npm: specifiers fetched, only what
  // npm installed; its cache in the scratch folder.
  const runtimes: { name: string; args: () => string[]; env: () => NodeJS.ProcessEnv }[] = [
    {
      name: "deno",
      args: () => ["run", "--node-modules-dir=manual", "--no-remote", "--allow-env=SDK_FLOW", `--allow-net=${HOST}`],
      env: () => ({ DENO_DIR: join(work, "deno-dir"), DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" }),
    },
    { name: "bun", args: () => [], env: () => ({ NO_COLOR: "1" }) },
  ];
  for (const runtime of runtimes) {
    it(`${runtime.name} (the npm package ${runtime.name}), with the folder's node_modules`, async (t) => {
      const bin = await binary(runtime.name);
      if ("missing" in bin) {
        console.log(`skipped: ${bin.missing}`);
        t.skip(bin.missing);
        return;
      }
      const out = await runFlow(bin.path, runtime.args(), runtime.env());
      t.diagnostic(`ran on ${bin.path} (${out.runtime})`);
      assert.ok(out.runtime.startsWith(`${runtime.name} `), out.runtime);
      assertFlow(out, bin.path);
    });
  }

  describe("in Chromium", { skip: chromiumMissing() }, () => {
    let browser: Browser | undefined;
    let server: Server | undefined;
    after(async () => {
      await browser?.close();
      server?.close();
    });

    it("the built ESM and jose's browser build, through an import map, same origin as the API", async () => {
      // A capability check (Web APIs only, nothing Node-specific), not a recommendation: a
      // partner's key is a server-side secret, never to be sent to a browser. So the page is
      // served from a test origin that proxies the API to the exchange: no CORS involved.
      const { app } = await installed();
      server = await sdkPage(app);
      const address = server.address();
      assert.ok(address && typeof address === "object");
      const origin = `http://${HOST}:${address.port}`;

      browser = await launchChromium();
      const page = await browser.newPage();
      const requests: string[] = [];
      const problems: string[] = [];
      page.on("request", (r) => requests.push(r.url()));
      page.on("pageerror", (e) => problems.push(e.message)); // (the console shows the flow's two 4xx answers: expected)
      await page.goto(origin);
      const out = await page.evaluate(async (config) => {
        const flowModule = "/sdk-flow.mjs"; // the same file Node, Deno and Bun ran
        const { flow } = await import(flowModule);
        const nav = (globalThis as unknown as { navigator: { userAgent: string } }).navigator;
        return { runtime: nav.userAgent, ...(await flow(config)) };
      }, flowConfig(origin));
      assert.deepEqual(problems, []);
      assertFlow(out, "Chromium");
      assert.match(out.runtime, /Chrome\//);
      // Everything came from the test origin: the SDK and jose as files, the API through the proxy.
      for (const url of requests) assert.equal(new URL(url).origin, origin, url);
      for (const path of ["/sdk/index.js", "/sdk/client.js", "/jose/index.js", "/v1/earn", "/.well-known/jwks.json"]) {
        assert.ok(
          requests.some((u) => new URL(u).pathname === path),
          `${path} not requested: ${requests.join(" ")}`,
        );
      }
    });
  });
});

/**
 * The test origin of the browser run: a page whose import map names the SDK's built ESM and
 * jose's browser build (`dist/webapi`) as installed in the partner's folder, the shared flow,
 * and `/v1/*` and `/.well-known/*` passed through to the exchange as they come.
 */
async function sdkPage(app: string): Promise<Server> {
  const mounts: Record<string, string> = {
    "/sdk/": join(app, "node_modules", "@coalition", "partner-sdk", "dist"),
    "/jose/": join(app, "node_modules", "jose", "dist", "webapi"),
  };
  const importMap = { imports: { "@coalition/partner-sdk": "/sdk/index.js", jose: "/jose/index.js" } };
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>SDK in a browser</title>
<script type="importmap">${JSON.stringify(importMap)}</script></head><body><h1>SDK in a browser</h1></body></html>`;
  const exchange = new URL(x.baseUrl);
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://test").pathname;
    if (path.startsWith("/v1/") || path.startsWith("/.well-known/")) {
      const upstream = request(
        {
          host: exchange.hostname,
          port: exchange.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: exchange.host },
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on("error", (e) => res.writeHead(502).end(String(e)));
      req.pipe(upstream);
      return;
    }
    const send = (status: number, type: string, body: string | Buffer) =>
      res.writeHead(status, { "Content-Type": type, "Cache-Control": "no-store" }).end(body);
    if (path === "/") return send(200, "text/html; charset=utf-8", html);
    const prefix = Object.keys(mounts).find((p) => path.startsWith(p));
    const file = path === "/sdk-flow.mjs" ? FLOW : prefix ? normalize(join(mounts[prefix]!, path.slice(prefix.length))) : "";
    if (!file || (prefix && !file.startsWith(mounts[prefix]! + sep)) || ![".js", ".mjs"].includes(extname(file))) {
      return send(404, "text/plain", "not found");
    }
    readFile(file).then(
      (body) => send(200, "text/javascript; charset=utf-8", body),
      () => send(404, "text/plain", "not found"),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  return server;
}

/** The fenced blocks named by their info string (```js sign.mjs), in `text`. */
function namedBlocks(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^```\w+ (\S+)\n([\s\S]*?)^```$/gm)].map((m) => [m[1]!, m[2]!]));
}

describe("README: Partner quick start", () => {
  it("its snippet, with the environment its commands set, makes a first earn and burn", async () => {
    const readme = await readFile(join(ROOT, "README.md"), "utf8");
    const from = readme.indexOf("\n## Partner quick start\n");
    assert.ok(from >= 0, "README.md has no ## Partner quick start");
    const next = readme.indexOf("\n## ", from + 1);
    const blocks = namedBlocks(readme.slice(from, next < 0 ? undefined : next));
    const setup = blocks.get("partner-env.sh");
    const code = blocks.get("first-earn.mjs");
    assert.ok(setup, "no ```sh partner-env.sh block in the Partner quick start");
    assert.ok(code, "no ```js first-earn.mjs block in the Partner quick start");

    // The README's exports, run as written in a folder laid out as the exchange's (its .dev/local.json).
    const exchangeDir = join(work, "exchange");
    await mkdir(join(exchangeDir, ".dev"), { recursive: true });
    await copyFile(join(devDir, "local.json"), join(exchangeDir, ".dev", "local.json"));
    const shell = await run("bash", ["-euo", "pipefail", "-c", `${setup}\nenv -0`], {
      cwd: exchangeDir,
      env: { PATH: process.env.PATH ?? "" },
    });
    const exported = [...setup.matchAll(/^export (\w+)=/gm)].map((m) => m[1]!);
    const set = new Map(shell.stdout.split("\0").map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const name of exported) {
      assert.ok(set.get(name), `${name} is empty after the README's commands`);
      env[name] = set.get(name);
    }
    // What the snippet reads is what the commands set.
    const read = /const \{ ([\w, ]+) \} = process\.env;/.exec(code)?.[1]?.split(", ") ?? [];
    assert.deepEqual([...read].sort(), [...exported].sort());
    assert.equal(env.EXCHANGE_URL, "http://127.0.0.1:8787"); // npm start's default port; this exchange runs on another
    env.EXCHANGE_URL = x.baseUrl;

    const { app } = await installed();
    await writeFile(join(app, "first-earn.mjs"), code);
    const { stdout } = await run(process.execPath, ["first-earn.mjs"], { cwd: app, env, timeout: RUN_LIMIT_MS });
    const lines = stdout.trimEnd().split("\n");
    assert.equal(lines[0], "38", stdout);
    assert.match(lines[1] ?? "", /^422 invalid_request insufficient_points req_\w+$/, stdout);
    assert.deepEqual(lines.slice(2), ["burn 20", "earn 58"], stdout);
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
  /** The page's named blocks, as it shows them. */
  async function examples(): Promise<Map<string, string>> {
    return namedBlocks(await readFile(join(ROOT, "docs", "signing.md"), "utf8"));
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
