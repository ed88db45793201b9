import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import { PartnerClient } from "../packages/partner-sdk/src/index";
import { partnerCredentials, readLocalConfig } from "../scripts/lib/local-config";
import { chromiumMissing, Exchange, freePort, HOST, launchChromium, scratchDir } from "./support";

/**
 * The member widget in real Chromium (Debian's package, driven by playwright-core; nothing is
 * downloaded): a partner's page on another origin loads `/widget/v1.js` from the exchange and
 * shows `<coalition-balance token>` with a member session its backend asked for. The page's
 * origin is allowed for that partner (allowed_origins); a page on an origin that is not
 * allowed cannot read the balance. Screenshot: docs/widget/coalition-balance.png.
 */

const SCREENSHOTS = join(import.meta.dirname, "..", "docs", "widget");

let devDir: string;
let x: Exchange;
let browser: Browser | undefined;
const pages: Server[] = [];

/** A partner's page on its own origin (a port of this machine): the widget tag and its script. */
async function partnerPage(port: number, token: string, exchangeUrl: string): Promise<string> {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Coffee app</title>
<style>coalition-balance { --coalition-accent: #7b3f00; --coalition-font: sans-serif; }</style></head>
<body><h1>Coffee app</h1><coalition-balance token="${token}"></coalition-balance>
<script src="${exchangeUrl}/widget/v1.js"></script></body></html>`;
  const server = createServer((_req, res) => {
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end(html);
  });
  await new Promise<void>((resolve) => server.listen(port, HOST, resolve));
  pages.push(server);
  return `http://${HOST}:${port}`;
}

before(async () => {
  devDir = await scratchDir();
  x = Exchange.start(devDir, await freePort());
  await x.ready();
});

after(async () => {
  await browser?.close();
  for (const server of pages) server.close();
  await x.stop();
});

describe("the member widget in Chromium", { skip: chromiumMissing() }, () => {
  it("shows the member's coalition balance on an allowed partner origin, and nothing on another", async () => {
    const config = await readLocalConfig(join(devDir, "local.json"));
    const partner = config.partners[0];
    const memberRef = partner ? config.demo_member?.refs[partner.id] : undefined;
    assert.ok(partner && memberRef, "the demo coalition has a partner with the demo member");
    const client = new PartnerClient({ baseUrl: x.baseUrl, credentials: partnerCredentials(config, partner.id) });
    const balance = await client.get<{ points: { available: number } }>(`/v1/members/${memberRef}/balance`);
    assert.ok(balance.ok, balance.text);

    const port = await freePort();
    const patched = await x.operator("PATCH", `/partners/${partner.id}`, { allowed_origins: [`http://${HOST}:${port}`] });
    assert.equal(patched.status, 200, JSON.stringify(patched.json));
    const session = { data: await client.createMemberSession(memberRef) };
    const allowedOrigin = await partnerPage(port, session.data.token, x.baseUrl);

    browser ??= await launchChromium();
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on("request", (r) => requests.push(r.url()));
    await page.goto(allowedOrigin);
    const available = page.locator("coalition-balance .available");
    await available.waitFor({ timeout: 15_000 });
    assert.equal(await available.getAttribute("data-available"), String(balance.data.points.available));
    assert.equal(
      await available.getAttribute("aria-label"),
      `${new Intl.NumberFormat("en-US").format(balance.data.points.available)} points available`,
    );
    assert.ok((await page.locator("coalition-balance ol[aria-label='Recent activity'] li").count()) > 0, "recent activity shown");
    // The partner's colour reaches the shadow root through the custom property.
    const colour = await available.evaluate(
      (el) => (globalThis as unknown as { getComputedStyle(e: unknown): { color: string } }).getComputedStyle(el).color,
    );
    assert.equal(colour, "rgb(123, 63, 0)");
    // Nothing but the page itself and the exchange was loaded.
    for (const url of requests) {
      const origin = new URL(url).origin;
      assert.ok(origin === allowedOrigin || origin === x.baseUrl, `loaded from another host: ${url}`);
    }
    await mkdir(SCREENSHOTS, { recursive: true });
    await page.locator("coalition-balance").screenshot({ path: join(SCREENSHOTS, "coalition-balance.png") });

    // The same token on a page whose origin no partner allowed: the browser refuses the answer.
    const otherOrigin = await partnerPage(await freePort(), session.data.token, x.baseUrl);
    await page.goto(otherOrigin);
    await page.locator("coalition-balance [role='alert']").waitFor({ timeout: 15_000 });
    assert.equal(await page.locator("coalition-balance .available").count(), 0);
  });

  it("/docs loads only from the exchange, and in a local run signs try-it partner requests", async () => {
    browser ??= await launchChromium();
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on("request", (r) => requests.push(r.url()));
    await page.goto(`${x.baseUrl}/docs?partner=sky-air`);
    await page.locator("#try-it-note").waitFor({ timeout: 15_000 });
    await page.locator(".swagger-ui .opblock").first().waitFor({ timeout: 15_000 });
    // What Swagger UI's "Execute" does: the page's request interceptor, then the request.
    const answer = await page.evaluate(async () => {
      const ui = (globalThis as unknown as { ui: { getConfigs(): { requestInterceptor(r: unknown): Promise<unknown> } } }).ui;
      const req = (await ui.getConfigs().requestInterceptor({ url: "/v1/partner", method: "GET", headers: {} })) as {
        headers: Record<string, string>;
      };
      const res = await fetch("/v1/partner", { headers: req.headers });
      return { status: res.status, body: (await res.json()) as { partner: { id: string } } };
    });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.partner.id, "sky-air");
    for (const url of requests) assert.equal(new URL(url).origin, x.baseUrl, `loaded from another host: ${url}`);
  });
});
