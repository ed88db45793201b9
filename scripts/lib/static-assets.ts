/**
 * Every file of wrangler.toml's `[assets]` directory: the docs' Swagger UI (docs-assets.ts) and
 * the operator console's bundle (console-assets.ts). Run by wrangler's `[build]` command (every
 * `wrangler dev` and `wrangler deploy`) and by vitest.config.ts; generated, never committed.
 */
import { fileURLToPath } from "node:url";
import { writeConsoleAssets } from "./console-assets.ts";
import { writeDocsAssets } from "./docs-assets.ts";

export async function writeStaticAssets(): Promise<string[]> {
  return [await writeDocsAssets(), await writeConsoleAssets()];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const targets = await writeStaticAssets();
  console.log(`static assets: ${targets.join(", ")}`);
}
