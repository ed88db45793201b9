import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./context";
import { ApiError } from "./errors";

/**
 * Serves the named files of wrangler.toml's [assets] under `prefix` through the ASSETS binding
 * (run_worker_first: the worker answers these paths, so tests, which call the worker and not the
 * asset router, and deployments serve them the same way); any other name is a 404.
 */
export function assetRoutes(app: OpenAPIHono<AppEnv>, prefix: string, files: readonly string[]): void {
  const known = new Set(files);
  app.get(`${prefix}/:file`, async (c) => {
    const file = c.req.param("file");
    const assets = c.env?.ASSETS;
    if (known.has(file) && assets) {
      const url = new URL(c.req.url);
      url.pathname = `${prefix}/${file}`;
      const response = await assets.fetch(new Request(url, { headers: c.req.raw.headers }));
      if (response.ok || response.status === 304) return response;
    }
    const error = new ApiError("not_found", `no route for GET ${new URL(c.req.url).pathname}`);
    return c.json(error.body(c.get("requestId")), 404);
  });
}
