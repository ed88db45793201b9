/**
 * The operator console's static assets (src/http/console-files.ts names them): console/main.ts
 * bundled by esbuild for the browser into dist/assets/console/console.js (uPlot, jose and the
 * partner SDK's report check inside: nothing loads from another host), and console.css, uPlot's
 * stylesheet followed by ours. Written beside, then renamed over, like the docs' files.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { build } from "esbuild";
import { ASSETS_DIR, ROOT_DIR } from "./docs-assets.ts";

const require = createRequire(import.meta.url);
const packageDir = (name: string) => dirname(require.resolve(`${name}/package.json`));

async function replace(file: string, content: string | Uint8Array): Promise<void> {
  await writeFile(`${file}.tmp`, content);
  await rename(`${file}.tmp`, file);
}

export async function writeConsoleAssets(): Promise<string> {
  const target = join(ASSETS_DIR, "console");
  await mkdir(target, { recursive: true });
  const bundle = await build({
    entryPoints: [join(ROOT_DIR, "console", "main.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    legalComments: "none",
    write: false,
    logLevel: "warning",
  });
  const js = bundle.outputFiles[0];
  if (!js) throw new Error("esbuild wrote no console bundle");
  await replace(join(target, "console.js"), js.contents);
  const uplot = packageDir("uplot");
  const css = [
    await readFile(join(uplot, "dist", "uPlot.min.css"), "utf8"),
    await readFile(join(ROOT_DIR, "console", "console.css"), "utf8"),
  ];
  await replace(join(target, "console.css"), css.join("\n"));
  // The licences of what the bundle carries travel with it.
  const licences = await Promise.all(
    [
      ["uplot", "LICENSE"],
      ["jose", "LICENSE.md"],
    ].map(async ([name, file]) => `${name}:\n\n${await readFile(join(packageDir(name!), file!), "utf8")}`),
  );
  await replace(join(target, "LICENSES.txt"), licences.join("\n\n"));
  return target;
}
