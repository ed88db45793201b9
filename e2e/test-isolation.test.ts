import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { stripVTControlCharacters } from "node:util";
import { ROOT } from "../scripts/lib/paths";

/**
 * `npm test` must not read a developer's `.dev.vars` (which `npm start` writes, and which may hold
 * other settings): the vitest config supplies the bindings. A copy of the project, whose
 * `.dev.vars` holds a canary, runs test/bindings.test.ts (exactly the expected bindings). Would
 * fail if: vitest.config.ts let the plugin read `.dev.vars` (the canary shows up as a binding,
 * and wrangler announces "Using secrets defined in .dev.vars" once per test file).
 */
describe("npm test and a developer's .dev.vars", () => {
  it("the tests neither see nor announce .dev.vars", { timeout: 120_000 }, async () => {
    const copy = await mkdtemp(join(tmpdir(), "coalition-vitest-"));
    try {
      // The worker imports the partner SDK's signing (the docs' local try-it signer).
      for (const entry of [
        "package.json",
        "tsconfig.json",
        "vitest.config.ts",
        "wrangler.toml",
        "migrations",
        "src",
        "packages/partner-sdk/src",
        "console",
      ]) {
        await cp(join(ROOT, entry), join(copy, entry), { recursive: true });
      }
      // vitest.config.ts writes the docs' and console's assets (wrangler.toml's [assets]) with these scripts.
      await mkdir(join(copy, "scripts", "lib"), { recursive: true });
      for (const script of ["static-assets.ts", "docs-assets.ts", "console-assets.ts"])
        await cp(join(ROOT, "scripts/lib", script), join(copy, "scripts/lib", script));
      await mkdir(join(copy, "test"));
      for (const file of ["setup.ts", "env.d.ts", "bindings.test.ts"])
        await cp(join(ROOT, "test", file), join(copy, "test", file));
      await symlink(join(ROOT, "node_modules"), join(copy, "node_modules"));
      await writeFile(join(copy, ".dev.vars"), "DEV_VARS_CANARY='from the developer'\nOPERATOR_JWKS='{}'\n");

      const run = spawnSync(
        process.execPath,
        [join(ROOT, "node_modules", "vitest", "vitest.mjs"), "run", "test/bindings.test.ts"],
        {
          cwd: copy,
          encoding: "utf8",
          env: { ...process.env, FORCE_COLOR: "0", CI: "true" },
          timeout: 110_000,
        },
      );
      const output = `${run.stdout}\n${run.stderr}`;
      assert.equal(run.status, 0, output);
      assert.doesNotMatch(output, /Using secrets defined in/);
      assert.doesNotMatch(output, /DEV_VARS_CANARY/);
      // One file in each vitest project: `sharded` (DB, SHARD_1) and `single` (DB).
      assert.match(stripVTControlCharacters(output), /Test Files\s+2 passed \(2\)/);
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });
});
