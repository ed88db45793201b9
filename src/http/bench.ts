import type { RouteModule } from "./app";

/**
 * Bare baselines for `npm run bench`, only when BENCH_ROUTES = "1": a route doing nothing, and
 * one doing a bare 2-statement D1 batch. They measure the platform, not the exchange.
 */
export const benchRoutes: RouteModule = (r) => {
  r.get("/__bench/noop", (c) => {
    if (c.env.BENCH_ROUTES !== "1") return c.notFound();
    return c.json({ ok: true });
  });
  r.get("/__bench/batch", async (c) => {
    if (c.env.BENCH_ROUTES !== "1") return c.notFound();
    const db = c.env.DB;
    await db.batch([db.prepare("SELECT 1"), db.prepare("SELECT 2")]);
    return c.json({ ok: true });
  });
};
