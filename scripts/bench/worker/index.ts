/**
 * The bench worker (`npm run bench`, wrangler.bench.toml): the production app (src/index.ts: the
 * same routes, the same scheduled handler) plus the bench's own routes (./routes.ts), with every
 * request's D1 binding metered (./meter.ts). Each response carries what its request cost in D1,
 * summed over every D1 call it made, from D1's own meta:
 *
 *   D1-Calls          round trips (batches and single statements)
 *   D1-Rows-Read      rows read
 *   D1-Rows-Written   rows written
 *   D1-Duration-Ms    SQL time inside the database (meta.duration)
 *   D1-Size-After     the database size in bytes after the request's last call (meta.size_after)
 *   D1-Explain        with a request header `Bench-Explain: 1`: each call's statements and their
 *                     rows, base64 of JSON
 *
 * The production worker has none of this: no bench route, no metering, no D1 headers.
 */
import type { Env } from "../../../src/env";
import { createApp } from "../../../src/http/app";
import production, { routes } from "../../../src/index";
import { D1Meter } from "./meter";
import { benchRoutes } from "./routes";

const app = createApp({ ...routes, public: [...routes.public, benchRoutes] });

export default {
  async fetch(request, env, ctx) {
    const meter = new D1Meter(env.DB);
    const response = await app.fetch(request, { ...env, DB: meter.db }, ctx);
    return meter.annotate(response, request.headers.get("Bench-Explain") === "1");
  },
  scheduled: production.scheduled,
} satisfies ExportedHandler<Env>;
