import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";

/**
 * What the console's browser tests share (Chromium itself: support.ts's launchChromium): a page
 * that records every request and every error it sees, screens by route, the console's own
 * confirmation dialog, and screenshots into docs/console/ for the README.
 */

export const SCREENSHOTS = join(import.meta.dirname, "..", "docs", "console");
/** Generous: the machine is shared and has two cores. */
export const WAIT = 30_000;

export interface WatchedPage {
  page: Page;
  requests: string[];
  errors: string[];
}

/** A fresh context (its own sessionStorage) with a wide viewport; CSP violations and page errors are collected. */
export async function openPage(browser: Browser): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  const watched: WatchedPage = { page, requests: [], errors: [] };
  page.on("request", (r) => watched.requests.push(r.url()));
  page.on("pageerror", (e) => watched.errors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy|Refused to/i.test(m.text())) watched.errors.push(m.text());
  });
  return watched;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Goes to a screen of the console (hash route) and waits until it has loaded. */
export async function show(page: Page, baseUrl: string, route: string): Promise<void> {
  const url = `${baseUrl}/console#/${route}`;
  // The same address again is no navigation: reload, so the screen shows what the API says now.
  if (page.url() === url) await page.reload();
  else await page.goto(url);
  await page.locator(`main#screen[data-screen='${route.split("/")[0]}']`).waitFor({ timeout: WAIT });
  await page.locator("main#screen h1").waitFor({ timeout: WAIT });
  await page.locator("main#screen .loading").waitFor({ state: "detached", timeout: WAIT });
}

/** Answers the console's own confirmation dialog. */
export async function confirm(page: Page, label: string): Promise<void> {
  const dialog = page.locator("dialog.confirm[open]");
  await dialog.waitFor({ timeout: WAIT });
  await dialog.getByRole("button", { name: label, exact: true }).click();
}
