import { describe, expect, it } from "vitest";
import { DOCS_FILES } from "../../src/http/docs-files";
import { BASE_URL, workerFetch } from "../support/exchange";

/**
 * `/docs` works offline: the page, its script and every file it references come from our own
 * origin (issue 13), and its Content-Security-Policy forbids the browser any other host.
 */
const get = (path: string, init?: RequestInit) => workerFetch(new Request(`${BASE_URL}${path}`, init));

/** Every src and href of the page. */
function references(html: string): string[] {
  return [...html.matchAll(/\b(?:src|href)\s*=\s*"([^"]*)"/g)].map((m) => m[1] as string);
}

describe("/docs", () => {
  it("serves a page whose every reference is a path on our origin, each answering 200", async () => {
    const page = await get("/docs");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await page.text();
    const refs = references(html);
    expect(refs).toEqual(expect.arrayContaining(["/docs/swagger-ui.css", "/docs/swagger-ui-bundle.js", "/docs/init.js"]));
    for (const ref of refs) {
      // A path, not a URL or a protocol-relative //host.
      expect(ref, ref).toMatch(/^\/(?!\/)/);
      const response = await get(ref);
      expect(response.status, ref).toBe(200);
      await response.arrayBuffer();
    }
    expect(html).not.toMatch(/https?:\/\/|\/\/cdn|jsdelivr|unpkg/);
  });

  it("forbids the browser every other host (CSP: self only, no wildcard)", async () => {
    const csp = (await get("/docs")).headers.get("content-security-policy") ?? "";
    const directives = new Map(
      csp.split(";").map((d) => {
        const [name, ...values] = d.trim().split(/\s+/);
        return [name, values] as const;
      }),
    );
    expect(directives.get("default-src")).toEqual(["'self'"]);
    for (const name of ["script-src", "style-src", "img-src", "font-src", "connect-src"]) {
      const values = directives.get(name);
      expect(values, name).toBeDefined();
      for (const value of values ?? []) expect(value, `${name} ${value}`).toMatch(/^('self'|'unsafe-inline'|data:)$/);
    }
    expect(directives.get("script-src")).toEqual(["'self'"]);
  });

  it("serves Swagger UI's own bundle and stylesheet from swagger-ui-dist, the stylesheet loading nothing", async () => {
    const bundle = await get("/docs/swagger-ui-bundle.js");
    expect(bundle.headers.get("content-type")).toMatch(/javascript/);
    const js = await bundle.text();
    expect(js.length).toBeGreaterThan(500_000);
    expect(js).toContain("SwaggerUIBundle");
    const css = await (await get("/docs/swagger-ui.css")).text();
    expect(css).toContain(".swagger-ui");
    // url(...) only with data: URIs, and no @import.
    for (const m of css.matchAll(/url\(\s*["']?([^"')\s]*)/g)) expect(m[1]).toMatch(/^data:/);
    expect(css).not.toMatch(/@import/);
    for (const file of DOCS_FILES) expect((await get(`/docs/${file}`)).status, file).toBe(200);
  });

  it("starts Swagger UI on /openapi.json with the online validator off", async () => {
    const init = await (await get("/docs/init.js")).text();
    expect(init).toContain('url: "/openapi.json"');
    expect(init).toContain("validatorUrl: null");
    expect(init).not.toMatch(/https?:\/\//);
  });

  it("answers 404 not_found for any other file under /docs/", async () => {
    for (const path of [
      "/docs/index.html",
      "/docs/swagger-ui.js.map",
      "/docs/..%2Fwrangler.toml",
      "/docs/LICENSE.swagger-ui.txt",
    ]) {
      const response = await get(path);
      expect(response.status, path).toBe(404);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("not_found");
    }
  });
});
