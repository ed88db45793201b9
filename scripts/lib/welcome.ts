import { DEMO_PARTNERS } from "../seed/demo-coalition";
import { bold, yellow } from "./output";
import { DEV_DIR, DEV_VARS_FILE, LOCAL_FILE, shown } from "./paths";

export interface Welcome {
  baseUrl: string;
  memberRefs: Record<string, string>;
  warnings: number;
  crons: readonly string[];
  nextCronRun?: string;
  /** The console's sign-in link: /console#token=<a short-lived operator token> (the fragment never reaches a server). */
  consoleSignIn?: string;
}

/** What `npm start` prints once the exchange is up and seeded: where it runs and how to call it. */
export function welcomeText(w: Welcome): string {
  const brewRef = w.memberRefs["brew-coffee"];
  return [
    "",
    bold(`The coalition exchange is running at ${w.baseUrl}`),
    `  API reference: ${w.baseUrl}/docs   (OpenAPI document: ${w.baseUrl}/openapi.json)`,
    ...(w.consoleSignIn
      ? [
          `  Operator console: ${w.baseUrl}/console, signed in (admin, for 1 hour; shown only here) with:`,
          `    ${w.consoleSignIn}`,
        ]
      : []),
    `  Credentials:   ${shown(LOCAL_FILE)} (base URL, operator key, each demo partner's key)`,
    `  Demo partners: ${DEMO_PARTNERS.map((p) => p.id).join(", ")}`,
    w.crons.length > 0
      ? `  Cron Triggers: ${w.crons.map((c) => `"${c}"`).join(", ")} (wrangler.toml) run the scheduled jobs, as in a deployment${w.nextCronRun ? `; next ${w.nextCronRun}` : ""}`
      : "  Cron Triggers: none in wrangler.toml",
    ...(w.warnings > 0 ? [yellow(`  Seeding finished with ${w.warnings} warning(s), shown above.`)] : []),
    "",
    bold("Make a first signed call, as the partner brew-coffee:"),
    "  npm run cli -- partner brew-coffee get /v1/partner",
    "",
    `  The CLI signs the request with brew-coffee's private key from ${shown(LOCAL_FILE)}: a`,
    "  Coalition-Signature header carrying a JWS over the method, path, body hash and a one-time",
    "  jti (partner-api.md §2), exactly what a partner's own integration sends.",
    "",
    bold("More:"),
    "  npm run cli -- operator get /admin/v1/partners        (operator token, scope admin)",
    "  npm run cli -- operator get /admin/v1/audit --scope read",
    ...(brewRef
      ? [
          `  npm run cli -- balance brew-coffee ${brewRef}`,
          `  npm run cli -- earn brew-coffee ${brewRef} 25.00 CNY`,
          `  npm run cli -- burn brew-coffee ${brewRef} 20`,
        ]
      : []),
    "  npm run cli -- help",
    "",
    `Ctrl-C stops the exchange and everything it started (data and keys stay in ${shown(DEV_DIR)}/;` +
      ` delete ${shown(DEV_DIR)}/ and ${shown(DEV_VARS_FILE)} to start over).`,
    "",
  ].join("\n");
}
