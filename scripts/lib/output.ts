/** `npm start`'s own lines: prefixed, colour only on a terminal. */
export const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[22m` : s);
export const yellow = (s: string) => (process.stdout.isTTY ? `\x1b[33m${s}\x1b[39m` : s);
export const log = (m: string) => console.log(`[start] ${m}`);
export const warn = (m: string) => console.log(yellow(`[start] warning: ${m}`));
