/**
 * The files `/docs` serves from our own origin (Workers static assets, `[assets]` of
 * wrangler.toml): Swagger UI's browser bundle and stylesheet, copied from the `swagger-ui-dist`
 * package into dist/assets/docs/ so no page of the docs loads anything from another host. Written
 * with the console's by static-assets.ts; generated, never committed (dist/ is git-ignored).
 */
import { copyFile, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DOCS_FILES } from "../../src/http/docs-files.ts";

export const ROOT_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** wrangler.toml's `[assets] directory`. */
export const ASSETS_DIR = join(ROOT_DIR, "dist", "assets");

export async function writeDocsAssets(): Promise<string> {
  const dist = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
  const target = join(ASSETS_DIR, "docs");
  await mkdir(target, { recursive: true });
  for (const file of DOCS_FILES) {
    // Copied beside, then renamed over: a running wrangler dev never serves half a file.
    await copyFile(join(dist, file), join(target, `${file}.tmp`));
    await rename(join(target, `${file}.tmp`), join(target, file));
  }
  // The licence travels with the bundle (Apache-2.0).
  await writeFile(join(target, "LICENSE.swagger-ui.txt"), await readFile(join(dist, "LICENSE")));
  return target;
}
