/**
 * The bench worker's wrangler config (wrangler.bench.toml) and the production one (wrangler.toml)
 * must describe the same worker but for its entry point: the same bindings, vars and
 * compatibility, read with wrangler's own parser. `npm run bench` refuses to start when they
 * disagree, so the bench never measures a worker configured unlike the one deployed.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { unstable_convertConfigBindingsToStartWorkerBindings, unstable_readConfig } from "wrangler";
import { ROOT, shown, WRANGLER_TOML } from "../lib/paths";

export const WRANGLER_BENCH_TOML = join(ROOT, "wrangler.bench.toml");

function described(file: string) {
  const config = unstable_readConfig({ config: file }, { hideWarnings: true });
  return {
    compatibility_date: config.compatibility_date,
    compatibility_flags: [...(config.compatibility_flags ?? [])].sort(),
    bindings: unstable_convertConfigBindingsToStartWorkerBindings(config) ?? {},
    migrations_dirs: config.d1_databases.map((d: { binding: string; migrations_dir?: string }) => [
      d.binding,
      d.migrations_dir ?? "migrations",
    ]),
    no_bundle: config.no_bundle ?? false,
    // The docs' static assets and the build that writes them (dirs and commands as written).
    assets: config.assets ?? null,
    build_command: config.build?.command ?? null,
  };
}

/** Throws, naming what differs, unless wrangler.bench.toml configures the worker as wrangler.toml does. */
export function checkBenchConfig(): void {
  const production = described(WRANGLER_TOML);
  const bench = described(WRANGLER_BENCH_TOML);
  const differs = (Object.keys(production) as (keyof typeof production)[]).filter(
    (key) => !isDeepStrictEqual(production[key], bench[key]),
  );
  if (differs.length > 0) {
    throw new Error(
      `${shown(WRANGLER_BENCH_TOML)} differs from ${shown(WRANGLER_TOML)} in ${differs.join(", ")}: make them agree (only name and main may differ)`,
    );
  }
}

/**
 * The bench config for serving the bundle made at start (`main` = the bundle, no_bundle), with
 * the project's migrations and assets directories (the snapshot lives in .dev/bench-build), and
 * without the `[build]` command: the dry run that made the bundle has written the assets.
 */
export async function snapshotConfig(bundle: string): Promise<string> {
  const toml = await readFile(WRANGLER_BENCH_TOML, "utf8");
  const main = /^main\s*=.*$/m;
  if (!main.test(toml)) throw new Error(`${shown(WRANGLER_BENCH_TOML)} has no top-level main = …`);
  return toml
    .replace(main, `main = ${JSON.stringify(bundle)}\nno_bundle = true`)
    .replace(
      /^(\s*migrations_dir\s*=\s*)"([^"]*)"/m,
      (_m, key: string, dir: string) => `${key}${JSON.stringify(join(ROOT, dir))}`,
    )
    .replace(/^(\s*directory\s*=\s*)"([^"]*)"/m, (_m, key: string, dir: string) => `${key}${JSON.stringify(join(ROOT, dir))}`)
    .replace(/^\[build\]\n(?:[^[\n][^\n]*\n|\n)*/m, "");
}
