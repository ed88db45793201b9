/**
 * The files `/console` serves from our own origin, by their name under /console/: the operator
 * console's bundle (console/ built with esbuild, uPlot and the partner SDK's report check inside)
 * and its stylesheet (uPlot's with ours). scripts/lib/console-assets.ts writes exactly these.
 */
export const CONSOLE_FILES = ["console.js", "console.css", "LICENSES.txt"] as const;
