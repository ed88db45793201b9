import type { MiddlewareHandler } from "hono";
import { copyCatalogueIfChanged } from "../catalogue/replicate";
import type { AppEnv } from "./context";

/** Operator writes that changed the catalogue are copied to every shard before they are answered (src/catalogue/replicate.ts). */
export function catalogueCopy(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    if (c.req.method !== "GET" && c.req.method !== "HEAD" && c.res.status < 400) await copyCatalogueIfChanged(c.env);
  };
}
