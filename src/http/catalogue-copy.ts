import type { MiddlewareHandler } from "hono";
import { copyCatalogueAfterChange } from "../catalogue/replicate";
import type { AppEnv } from "./context";

/**
 * The operator routes that change what the catalogue holds (the triggers of migration 0007 bump
 * its version for exactly these tables). Other writes (adjustments, payments, closes) are left
 * alone: they keep their one D1 call (test/http/one-batch.test.ts).
 */
export const CATALOGUE_WRITES = [
  ["POST", "/partners"],
  ["PATCH", "/partners/:id"],
  ["POST", "/partners/:id/keys"],
  ["DELETE", "/partners/:id/keys/:kid"],
  ["POST", "/partners/:id/rate-cards"],
  ["PUT", "/risk-rules"],
] as const;

/** A catalogue change is copied to every shard before it is answered (src/catalogue/replicate.ts). */
export function catalogueCopy(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    if (c.res.status < 400) await copyCatalogueAfterChange(c.env);
  };
}
