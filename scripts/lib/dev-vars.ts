import { readFile, writeFile } from "node:fs/promises";

/**
 * A dotenv line whose value is single-line JSON. Single quotes make dotenv (which wrangler uses to
 * read `.dev.vars`) take the value literally: no escapes, no `${}` expansion, the inner double
 * quotes kept. JSON from JSON.stringify never contains a newline or a single quote here (JWKs are
 * base64url strings and fixed names), which we check rather than assume.
 */
export function dotenvLine(name: string, value: string): string {
  if (/['\n\r]/.test(value)) throw new Error(`${name}: the value cannot be single-quoted in .dev.vars`);
  return `${name}='${value}'`;
}

/**
 * Writes `vars` into the dotenv file, replacing those names and keeping every other line (a
 * developer's own settings such as BENCH_ROUTES=1). Returns whether the file changed.
 */
export async function upsertDotenv(file: string, vars: Record<string, string>, header: string): Promise<boolean> {
  let before = "";
  try {
    before = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  const names = new Set(Object.keys(vars));
  const kept = before
    .split("\n")
    .filter((line) => {
      const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line);
      return !(m?.[1] && names.has(m[1])) && line !== header;
    })
    .join("\n")
    .trim();
  const managed = [header, ...Object.entries(vars).map(([k, v]) => dotenvLine(k, v))].join("\n");
  const after = `${kept ? `${kept}\n\n` : ""}${managed}\n`;
  if (after === before) return false;
  await writeFile(file, after, { mode: 0o600 });
  return true;
}
