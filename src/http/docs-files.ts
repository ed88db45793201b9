/**
 * The files of swagger-ui-dist that `/docs` serves from our own origin, by their name under
 * /docs/. scripts/lib/docs-assets.ts copies exactly these into the static assets directory.
 */
export const DOCS_FILES = ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "favicon-16x16.png"] as const;
