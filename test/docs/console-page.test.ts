import { describe, expect, it } from "vitest";
import { CONSOLE_FILES } from "../../src/http/console-files";
import { BASE_URL, workerFetch } from "../support/exchange";

/**
 * The operator console (issue 12) is served by the worker and works offline: `/` sends a
 * browser to it, the page and every file it loads come from our own origin, no served file
 * names another host, and its Content-Security-Policy allows the browser nothing else. Would
 * fail if: `/` answered 404, the page referenced a CDN, the bundle carried a URL of another
 * host, the CSP allowed one (or inline script), or a file outside the list were served.
 */
const get = (path: string, init?: RequestInit) => workerFetch(new Request(`${BASE_URL}${path}`, { redirect: "manual", ...init }));

function directives(csp: string): Map<string, string[]> {
  return new Map(
    csp.split(";").map((d) => {
      const [name, ...values] = d.trim().split(/\s+/);
      return [name ?? "", values] as const;
    }),
  );
}

describe("/console", () => {
  it("/ redirects to /console", async () => {
    const r = await get("/");
    expect(r.status).toBe(302);
    expect(r.headers.get("location")).toBe("/console");
  });

  it("serves a page whose every reference is a path on our origin, each answering 200", async () => {
    const page = await get("/console");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await page.text();
    const refs = [...html.matchAll(/\b(?:src|href)\s*=\s*"([^"]*)"/g)].map((m) => m[1] as string).filter((r) => r !== "data:,");
    expect(refs).toEqual(expect.arrayContaining(["/console/console.js", "/console/console.css"]));
    for (const ref of refs) {
      expect(ref, ref).toMatch(/^\/(?!\/)/);
      const response = await get(ref);
      expect(response.status, ref).toBe(200);
      await response.arrayBuffer();
    }
    expect(html).not.toMatch(/https?:\/\/|\/\/cdn/);
  });

  it("allows the browser this origin only: no other host, no inline script or style", async () => {
    const csp = directives((await get("/console")).headers.get("content-security-policy") ?? "");
    expect(csp.get("default-src")).toEqual(["'self'"]);
    expect(csp.get("script-src")).toEqual(["'self'"]);
    expect(csp.get("style-src")).toEqual(["'self'"]);
    expect(csp.get("connect-src")).toEqual(["'self'"]);
    for (const name of ["img-src", "font-src"]) {
      for (const value of csp.get(name) ?? []) expect(value, `${name} ${value}`).toMatch(/^('self'|data:|blob:)$/);
    }
  });

  it("serves its bundle (uPlot and the SDK's report check inside) with no URL of any other host in any file", async () => {
    for (const file of CONSOLE_FILES) {
      const response = await get(`/console/${file}`);
      expect(response.status, file).toBe(200);
      const text = await response.text();
      expect(text.length, file).toBeGreaterThan(100);
      const hosts = [...text.matchAll(/\b(?:https?:)?\/\/([a-z0-9.-]+\.[a-z]{2,})/gi)].map((m) => m[1]);
      expect(hosts, file).toEqual([]);
    }
    const js = await (await get("/console/console.js")).text();
    expect((await get("/console/console.js")).headers.get("content-type")).toMatch(/javascript/);
    expect(js).toContain("/admin/v1");
    expect(js).toContain("/.well-known/jwks.json");
    const css = await (await get("/console/console.css")).text();
    expect(css).toContain(".uplot");
    expect(css).not.toMatch(/@import/);
  });

  it("answers 404 for any other file under /console/", async () => {
    for (const path of ["/console/nope.js", "/console/..%2Fdocs%2Fswagger-ui.css", "/console/index.html"]) {
      expect((await get(path)).status, path).toBe(404);
    }
  });
});
