import { publicJwks } from "../settlement/signing";
import type { RouteModule } from "./app";
import { tag } from "./tags";

/** Unauthenticated routes: health, and the public half of the statement-signing key. */
export const publicRoutes: RouteModule = (r) => {
  r.get("/health", (c) => c.json({ status: "ok" }));

  r.get("/.well-known/jwks.json", (c) => {
    c.header("Cache-Control", "public, max-age=300");
    return c.json(publicJwks(c.env.STATEMENT_SIGNING_JWK));
  });
  r.openAPIRegistry.registerPath({
    method: "get",
    path: "/.well-known/jwks.json",
    tags: tag("partnerSettlement"),
    summary: "The public keys that verify settlement statements and reports (JWK set; never a private member)",
    responses: { 200: { description: "`{ keys: [ { kty, crv, x, kid, alg, use } ] }`" } },
  });
};
