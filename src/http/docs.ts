import type { OpenAPIHono } from "@hono/zod-openapi";
import { assetRoutes } from "./assets";
import type { AppEnv } from "./context";
import { DOCS_FILES } from "./docs-files";

/**
 * `/docs`: Swagger UI over /openapi.json, every file from our own origin (the bundle and its
 * stylesheet are Workers static assets copied from swagger-ui-dist at build; the page and its
 * start script are here). The Content-Security-Policy lets the browser load nothing from another
 * host, so a page that still tried would break visibly instead of phoning out.
 */
export const DOCS_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Coalition points exchange · API reference</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
<link rel="icon" type="image/png" href="/docs/favicon-16x16.png" sizes="16x16">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

// validatorUrl null: Swagger UI would otherwise load a badge from validator.swagger.io. In a
// local run (/docs/try-it answers), "try it" requests under /v1/ are signed as a demo partner
// (?partner=<id> picks which) by the worker's local signer (src/http/docs-try-it.ts).
const INIT = `(async () => {
  let partner = null;
  try {
    const res = await fetch("/docs/try-it");
    if (res.ok) {
      const { partners } = await res.json();
      const asked = new URLSearchParams(location.search).get("partner");
      partner = partners.includes(asked) ? asked : partners[0] || null;
    }
  } catch (e) {}
  const partnerRequest = (url) =>
    url.origin === location.origin && url.pathname.startsWith("/v1/") && url.pathname !== "/v1/me" && !url.pathname.startsWith("/v1/me/");
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    requestInterceptor: async (req) => {
      const url = new URL(req.url, location.href);
      if (!partner || !partnerRequest(url)) return req;
      const method = (req.method || "GET").toUpperCase();
      const body = req.body == null ? "" : typeof req.body === "string" ? req.body : JSON.stringify(req.body);
      const idempotencyKey = method === "POST" ? req.headers["Idempotency-Key"] || "docs-" + crypto.randomUUID() : undefined;
      const res = await fetch("/docs/try-it/sign", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ partner, method, target: url.pathname + url.search, body: body || undefined, idempotency_key: idempotencyKey }),
      });
      if (!res.ok) return req;
      Object.assign(req.headers, (await res.json()).headers);
      if (body) req.body = body;
      return req;
    },
  });
  if (partner) {
    const note = document.createElement("p");
    note.id = "try-it-note";
    note.style.cssText = "font-family:sans-serif;margin:8px 20px;padding:8px;background:#fff8e1;border:1px solid #f0c36d";
    note.textContent = "Local run: \u201cTry it out\u201d signs partner requests as " + partner + " (?partner=<id> picks another demo partner).";
    document.body.prepend(note);
  }
})();
`;

export function docsRoutes(app: OpenAPIHono<AppEnv>): void {
  app.get("/docs", (c) => {
    c.header("Content-Security-Policy", DOCS_CSP);
    return c.html(PAGE);
  });
  app.get("/docs/init.js", (c) => {
    c.header("Content-Type", "text/javascript; charset=UTF-8");
    return c.body(INIT);
  });
  assetRoutes(app, "/docs", DOCS_FILES);
}
