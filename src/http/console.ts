import type { OpenAPIHono } from "@hono/zod-openapi";
import { assetRoutes } from "./assets";
import { CONSOLE_FILES } from "./console-files";
import type { AppEnv } from "./context";

/**
 * `/console`: the operator console (issue 12), a client app over the operator API alone: the page
 * loads its bundle and stylesheet from our own origin and every screen calls /admin/v1/ with the
 * operator's bearer token, so nothing it does is beyond the API's checks, scopes and audit log.
 * Its CSP lets the browser load and call nothing but this origin (no inline script or style:
 * the bundle styles elements through the CSSOM, which a CSP does not restrict).
 */
export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Coalition operator console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/console.css">
<script type="module" src="/console/console.js"></script>
</head>
<body>
<noscript>The operator console needs JavaScript.</noscript>
<div id="app"></div>
</body>
</html>
`;

export function consoleRoutes(app: OpenAPIHono<AppEnv>): void {
  app.get("/", (c) => c.redirect("/console", 302));
  app.get("/console", (c) => {
    c.header("Content-Security-Policy", CONSOLE_CSP);
    // The sign-in token travels in the fragment (#token=…), which never reaches a server; the
    // page itself holds no secret, but is never cached so a new bundle is picked up at once.
    c.header("Cache-Control", "no-store");
    return c.html(PAGE);
  });
  app.get("/console/", (c) => c.redirect("/console", 301));
  assetRoutes(app, "/console", CONSOLE_FILES);
}
