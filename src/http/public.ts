import type { RouteModule } from "./app";

/** Unauthenticated routes: health. (The JWKS of the statement key is added by settlement.) */
export const publicRoutes: RouteModule = (r) => {
  r.get("/health", (c) => c.json({ status: "ok" }));
};
