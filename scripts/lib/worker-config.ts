import { unstable_readConfig } from "wrangler";
import { WRANGLER_TOML } from "./paths";

/** What `npm start` needs to know of wrangler.toml, read by wrangler's own parser (as wrangler dev reads it). */
export interface WorkerConfig {
  /** `[triggers] crons`: when a deployment runs the worker's scheduled handler. */
  crons: string[];
  /** `[vars] SETTLEMENT_CURRENCY`. */
  settlementCurrency: string;
}

export function readWorkerConfig(file = WRANGLER_TOML): WorkerConfig {
  const config = unstable_readConfig({ config: file });
  const currency = config.vars.SETTLEMENT_CURRENCY;
  return {
    crons: [...(config.triggers.crons ?? [])],
    settlementCurrency: typeof currency === "string" ? currency : "CNY",
  };
}
