import type { RouteModule } from "../http/app";
import { WIDGET_SCRIPT } from "./widget-script";

/** `GET /widget/v1.js`: the member widget (./widget-script.ts), same for every partner. */
export const widgetRoutes: RouteModule = (r) => {
  r.get("/widget/v1.js", () => {
    return new Response(WIDGET_SCRIPT, {
      headers: {
        "Content-Type": "text/javascript; charset=utf-8",
        "Cache-Control": "public, max-age=300",
        "X-Content-Type-Options": "nosniff",
        // Any partner's page may load it (a script tag needs no CORS; a module import does).
        "Access-Control-Allow-Origin": "*",
      },
    });
  });
};
