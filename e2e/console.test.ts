import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { exportJWK, generateKeyPair } from "jose";
import type { Browser, Page } from "playwright-core";
import { PartnerClient } from "../packages/partner-sdk/src/index";
import { type LocalConfig, partnerCredentials, readLocalConfig } from "../scripts/lib/local-config";
import { mintOperatorToken } from "../scripts/lib/operator-token";
import { confirm, openPage, screenshot, show, WAIT, type WatchedPage } from "./console-browser";
import { chromiumMissing, Exchange, freePort, launchChromium, scratchDir } from "./support";

/**
 * The operator console in real Chromium against a real `npm start` (issue 12): signed in with
 * the link npm start prints, every screen reads and writes through /admin/v1 and shows what the
 * API says. Each test would fail if its screen disagreed with the API, wrote nothing, or let a
 * `read` token write. Screenshots of each screen: docs/console/.
 */

let devDir: string;
let x: Exchange;
let config: LocalConfig;
let browser: Browser;
let admin: WatchedPage;

const client = (partnerId: string) =>
  new PartnerClient({ baseUrl: x.baseUrl, credentials: partnerCredentials(config, partnerId) });
const text = async (page: Page, selector: string) => ((await page.locator(selector).first().textContent()) ?? "").trim();

/**
 * A fresh brew-coffee member's burn that the demo rule new-member-large-burn sends to review (a
 * new member's burn over 5000 points), with the member's available points before it.
 */
async function burnInReview(tag: string, ip: string) {
  const brew = client("brew-coffee");
  const ref = `console-e2e-${tag}-${Date.now()}`;
  const context = { ip, device_id: `console-e2e-${tag}` };
  await brew.enrol(ref, { context });
  await brew.earn({ member_ref: ref, amount: { value: "6000.00", unit: "CNY" }, context });
  const before = (await brew.balance(ref)).points.available;
  const burn = await brew.burn({ member_ref: ref, points: 5001, context });
  assert.equal(burn.transaction.status, "review");
  return { brew, ref, before, burn: burn.transaction };
}

/** Decides a review from the Risk screen's queue, confirmed, and waits until it left the queue. */
async function decideReview(page: Page, txnId: string, verb: "Approve" | "Reject", shot?: string): Promise<void> {
  await show(page, x.baseUrl, "risk");
  const queued = () => page.locator("table[data-table='reviews'] tbody tr", { hasText: txnId });
  await queued().waitFor({ timeout: WAIT });
  if (shot) await screenshot(page, shot);
  await queued().getByRole("button", { name: verb }).click();
  await confirm(page, verb);
  await queued().waitFor({ state: "detached", timeout: WAIT });
}

before(async () => {
  devDir = await scratchDir();
  x = Exchange.start(devDir, await freePort());
  await x.ready();
  config = await readLocalConfig(join(devDir, "local.json"));
  browser = await launchChromium();
  admin = await openPage(browser);
});

after(async () => {
  await browser?.close();
  await x.stop();
});

describe("the operator console in Chromium", { skip: chromiumMissing() }, () => {
  it("signs in with the link npm start printed, keeps the token in the tab only, and shows the demo partners", async () => {
    const line = await x.waitForLine(/\/console#token=/);
    const link = /(http:\/\/\S+\/console#token=\S+)/.exec(line.text)?.[1];
    if (!link?.startsWith(`${x.baseUrl}/console#token=ey`)) throw new Error(`no sign-in link in: ${line.text}`);
    const { page } = admin;
    await page.goto(`${x.baseUrl}/`); // `/` sends the browser to the console, which asks to sign in
    await page.getByRole("form", { name: "Sign in" }).waitFor({ timeout: WAIT });
    assert.equal(new URL(page.url()).pathname, "/console");
    await screenshot(page, "sign-in");

    await page.goto(link);
    await page.locator("header .who").waitFor({ timeout: WAIT });
    assert.doesNotMatch(page.url(), /token=/, "the token is taken out of the address");
    assert.equal(await text(page, "header .who span"), "console");
    assert.equal(await text(page, "header .scope"), "admin");
    assert.ok(await page.locator("header .expires time[title$='(UTC)']").count(), "expiry shown, UTC on hover");
    const stored = await page.evaluate(() => sessionStorage.getItem("coalition-operator-token"));
    assert.equal(stored, new URL(link).hash.slice("#token=".length));

    await show(page, x.baseUrl, "partners");
    const listed = await page.locator("table[data-table='partners'] tbody tr td:nth-child(2)").allInnerTexts();
    assert.deepEqual([...listed].sort(), config.partners.map((p) => p.id).sort());
    await screenshot(page, "partners");
  });

  it("shows on the overview exactly the figures of GET /admin/v1/metrics", async () => {
    const { page } = admin;
    await show(page, x.baseUrl, "overview");
    await page.locator(".chart canvas").waitFor({ timeout: WAIT });
    const metrics = (await x.operator("GET", "/metrics")).json;
    const m = (name: string) => text(page, `[data-metric='${name}']`);
    assert.equal(await m("outstanding-points"), String(metrics.outstanding.total.points));
    assert.equal(
      await m("outstanding-liability"),
      `${metrics.outstanding.total.liability.value} ${metrics.outstanding.total.liability.unit}`,
    );
    assert.equal(await m("breakage-rate"), metrics.breakage.rate);
    const reviews = (await x.operator("GET", "/reviews?limit=100")).json.data.length;
    assert.equal(await m("reviews-waiting"), String(reviews));
    const rows = async (table: string) =>
      (await page.locator(`table[data-table='${table}'] tbody tr`).allInnerTexts()).map((r) =>
        r.split("\t").map((c) => c.trim()),
      );
    assert.deepEqual(
      await rows("outstanding"),
      metrics.outstanding.by_issuer.map((i: any) => [i.issuer, String(i.points), `${i.liability.value} ${i.liability.unit}`]),
    );
    assert.deepEqual(
      (await rows("periods")).map((r) => r.slice(1, 5)),
      metrics.periods.map((p: any) => [String(p.issued), String(p.redeemed), String(p.expired), p.breakage_rate]),
    );
    assert.deepEqual(
      (await rows("exposure")).map((r) => r.slice(3, 6)),
      metrics.exposure.map((p: any) => [
        `${(p.balance ?? p.credit_limit).value} CNY`,
        `${p.exposure.value} CNY`,
        `${p.payout_due.value} CNY`,
      ]),
    );
    await screenshot(page, "overview");
  });

  it("adds a rate-card version, previewing what 58.00 CNY earns as the exchange's quote does", async () => {
    const { page } = admin;
    await show(page, x.baseUrl, "partners/brew-coffee");
    const form = page.getByRole("form", { name: "New rate-card version" });
    await form.waitFor({ timeout: WAIT });
    // Prefilled from the version in force: the preview is what GET /v1/quote answers now.
    const { quote } = await client("brew-coffee").quote({ unit: "CNY", value: "58.00" });
    assert.ok(quote.earn);
    assert.match(await text(page, "output.preview"), new RegExp(`^58\\.00 CNY earns ${quote.earn.points} points`));
    await form.locator("[name='earn']").fill("CNY 1.5");
    assert.match(await text(page, "output.preview"), /^58\.00 CNY earns 87 points/); // 58 × 1.5, exact
    await form.locator("[name='issue_price']").fill("abc");
    await form.getByRole("button", { name: "Add rate-card version" }).click();
    await form.locator("[role='alert']").waitFor({ timeout: WAIT });
    assert.match(await text(page, "form[aria-label='New rate-card version'] [role='alert']"), /issue_price/);
    assert.equal(await form.locator("[name='issue_price']").getAttribute("aria-invalid"), "true");

    const before = (await x.operator("GET", "/partners/brew-coffee/rate-cards")).json.data.length;
    await form.locator("[name='issue_price']").fill("0.011");
    await form.getByRole("button", { name: "Add rate-card version" }).click();
    await form.locator(".notice").waitFor({ timeout: WAIT });
    const cards = (await x.operator("GET", "/partners/brew-coffee/rate-cards")).json.data;
    assert.equal(cards.length, before + 1);
    assert.ok(cards.some((c: any) => c.issue_price === "0.011" && c.earn[0]?.points_per_unit === "1.5"));
    await page.locator("table[data-table='rate-cards'] tbody tr").nth(before).waitFor({ timeout: WAIT });

    // A payment: a prepaid partner's top-up, shown as the API then answers it.
    const balance = async () => (await x.operator("GET", "/partners/brew-coffee")).json.partner.funding.balance.value as string;
    const was = await balance();
    const pay = page.getByRole("form", { name: "Record payment" });
    await pay.locator("[name='value']").fill("1.00");
    await pay.locator("[name='reference']").fill("console-e2e top-up");
    await pay.getByRole("button", { name: "Record payment" }).click();
    await page.locator("dl.facts dd", { hasText: `balance ${(Number(was) + 1).toFixed(2)} CNY` }).waitFor({ timeout: WAIT });
    assert.equal(await balance(), (Number(was) + 1).toFixed(2)); // test-side float is fine: two decimals, small
    await screenshot(page, "partner");
  });

  it("creates a partner, adds and revokes its key, shows a refused payout in words, and suspends it", async () => {
    const { page } = admin;
    await show(page, x.baseUrl, "partners");
    const create = page.getByRole("form", { name: "Create partner" });
    await create.locator("[name='id']").fill("console-e2e-shop");
    await create.locator("[name='name']").fill("Console E2E Shop");
    await create.locator("[name='mode']").selectOption("postpaid");
    await create.locator("[name='amount']").fill("5000.00");
    await create.getByRole("button", { name: "Create partner" }).click();
    await page.locator("dl.facts[data-partner='console-e2e-shop']").waitFor({ timeout: WAIT });
    assert.equal((await x.operator("GET", "/partners/console-e2e-shop")).json.partner.funding.credit_limit.value, "5000.00");

    const { publicKey } = await generateKeyPair("EdDSA", { extractable: true });
    const addKey = page.getByRole("form", { name: "Add key" });
    await addKey.locator("[name='kid']").fill("shop-k1");
    await addKey.locator("[name='jwk']").fill(JSON.stringify(await exportJWK(publicKey)));
    await addKey.getByRole("button", { name: "Add key" }).click();
    const keyRow = page.locator("table[data-table='keys'] tbody tr", { hasText: "shop-k1" });
    await keyRow.waitFor({ timeout: WAIT });
    await keyRow.getByRole("button", { name: "Revoke" }).click();
    await confirm(page, "Revoke");
    await page.locator("table[data-table='keys'] tbody tr", { hasText: "revoked" }).waitFor({ timeout: WAIT });
    const keys = (await x.operator("GET", "/partners/console-e2e-shop")).json.partner.keys;
    assert.deepEqual(
      keys.map((k: any) => [k.kid, k.status]),
      [["shop-k1", "revoked"]],
    );

    const payout = page.getByRole("form", { name: "Record payout" });
    await payout.locator("[name='value']").fill("1.00");
    await payout.locator("[name='reference']").fill("nothing is due");
    await payout.getByRole("button", { name: "Record payout" }).click();
    await payout.locator("[role='alert']").waitFor({ timeout: WAIT });
    assert.match(
      (await payout.locator("[role='alert']").textContent()) ?? "",
      /^the payout exceeds what is due .*\(payout_exceeds_due\b/,
    );

    await page.getByRole("button", { name: "Suspend partner" }).click();
    await confirm(page, "Suspend partner");
    await page.locator("dd[data-field='status']", { hasText: "suspended" }).waitFor({ timeout: WAIT });
    assert.equal((await x.operator("GET", "/partners/console-e2e-shop")).json.partner.status, "suspended");
  });

  it("refuses a rule set with one invalid rule, showing the API's error on that rule and field, then saves it fixed", async () => {
    const { page } = admin;
    await show(page, x.baseUrl, "risk");
    const version = (await x.operator("GET", "/risk-rules")).json.version;
    await page.getByRole("button", { name: "Add rule" }).click();
    const row = page.locator("table[data-table='rules'] tbody tr[data-rule]").last();
    await row.locator("[name='id']").fill("console-e2e-earns");
    await row.locator("[name='window_seconds']").fill("-5");
    await row.locator("[name='max_count']").fill("1000");
    await page.getByRole("button", { name: "Save rule set" }).click();
    const error = row.locator("td[data-field='window_seconds'] .field-error");
    await error.waitFor({ timeout: WAIT });
    assert.match((await error.textContent()) ?? "", /window_seconds/);
    assert.equal(await row.locator("[name='window_seconds']").getAttribute("aria-invalid"), "true");
    assert.equal(await page.locator(".field-error").count(), 1, "only that field is marked");
    assert.equal((await x.operator("GET", "/risk-rules")).json.version, version, "nothing saved");
    await screenshot(page, "risk-invalid-rule");

    await row.locator("[name='window_seconds']").fill("3600");
    await page.getByRole("button", { name: "Save rule set" }).click();
    await page.locator("section[aria-label='Rule set'] .notice").waitFor({ timeout: WAIT });
    const saved = (await x.operator("GET", "/risk-rules")).json;
    assert.equal(saved.version, version + 1);
    assert.deepEqual(saved.rules.at(-1), {
      id: "console-e2e-earns",
      action: "deny",
      applies_to: "earn",
      subject: "member",
      window_seconds: 3600,
      max_count: 1000,
    });
  });

  it("approves a review made through the partner API", async () => {
    const { brew, burn } = await burnInReview("approve", "203.0.113.9");
    await decideReview(admin.page, burn.id, "Approve", "risk");
    assert.equal((await brew.transaction(burn.id)).transaction.status, "posted");
  });

  it("closes a period off-cycle with a confirmation, opens its report with the matrix, verifies it and downloads the CSV", async () => {
    // A cross-partner redemption, so the matrix has a cell: points brew-coffee issued (sky-air's are
    // still pending), redeemed at sky-air.
    const refs = config.demo_member?.refs ?? {};
    await client("sky-air").burn({ member_ref: refs["sky-air"]!, points: 50, context: { ip: "203.0.113.7" } });
    await sleep(1100); // the cut is on a whole second, after the burn
    const { page } = admin;
    await show(page, x.baseUrl, "settlement");
    await page.getByRole("button", { name: "Close off-cycle" }).click();
    await confirm(page, "Close");
    const open = page.getByRole("link", { name: /^Open report stl_/ });
    await open.waitFor({ timeout: WAIT });
    const id = ((await open.textContent()) ?? "").replace("Open report ", "");
    await open.click();
    await page.locator("table[data-table='matrix']").waitFor({ timeout: WAIT });
    await page.locator("[data-verify='ok']").waitFor({ timeout: WAIT });

    const report = (await x.operator("GET", `/settlements/${id}`)).json;
    assert.ok(report.matrix.length > 0, "the report has a matrix");
    for (const cell of report.matrix) {
      const td = page.locator(`td[data-issuer='${cell.issuer}'][data-redeemer='${cell.redeemer}']`);
      assert.equal(
        ((await td.textContent()) ?? "").replace(/\s+/g, " ").trim(),
        `${cell.points} pt ${cell.amount.value} ${cell.amount.unit}`,
      );
    }
    assert.equal(await text(page, "[data-field='digest']"), report.digest);
    assert.equal(await text(page, "[data-field='margin']"), `${report.totals.margin.value} ${report.totals.margin.unit}`);
    await screenshot(page, "report");

    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Download CSV" }).click(),
    ]);
    assert.equal(download.suggestedFilename(), `${id}.csv`);
    const csv = await readFile((await download.path())!, "utf8");
    const fromApi = await fetch(`${x.baseUrl}/admin/v1/settlements/${id}.csv`, {
      headers: { Authorization: `Bearer ${await x.operatorToken()}` },
    });
    assert.equal(csv, await fromApi.text());

    await show(page, x.baseUrl, "settlement");
    await page.locator("table[data-table='settlements'] tbody tr", { hasText: id }).waitFor({ timeout: WAIT });
    await screenshot(page, "settlement");
  });

  it("pays out what the close left due, rejects a review (its reserved points go back), filters risk events by member and finds the member by id", async () => {
    // The close above split brew-coffee's receivable; what it could not set off is due to it.
    const due = (await x.operator("GET", "/partners/brew-coffee")).json.partner.payout_due;
    assert.ok(Number(due.value.replace(".", "")) > 0, `something is due to brew-coffee: ${due.value}`);
    const { page } = admin;
    await show(page, x.baseUrl, "partners/brew-coffee");
    const payout = page.getByRole("form", { name: "Record payout" });
    await payout.waitFor({ timeout: WAIT });
    await payout.locator("[name='value']").fill(due.value);
    await payout.locator("[name='reference']").fill("console e2e payout");
    await payout.getByRole("button", { name: "Record payout" }).click();
    await page.locator("dd[data-field='payout_due']", { hasText: /^0\.0+ CNY$/ }).waitFor({ timeout: WAIT });
    const after = (await x.operator("GET", "/partners/brew-coffee")).json.partner.payout_due;
    assert.equal(Number(after.value.replace(".", "")), 0, `nothing due after paying ${due.value}: ${after.value}`);

    const { brew, ref, before, burn } = await burnInReview("reject", "203.0.113.10");
    await decideReview(page, burn.id, "Reject");
    assert.equal((await brew.transaction(burn.id)).transaction.status, "voided");
    assert.equal((await brew.balance(ref)).points.available, before);

    // The risk events of that member, filtered as the API filters them; then the member by id.
    const memberId = burn.member_id;
    const filters = page.getByRole("form", { name: "Filter risk events" });
    await filters.locator("[name='member_id']").fill(memberId);
    await filters.getByRole("button", { name: "Filter" }).click();
    const events = (await x.operator("GET", `/risk-events?member_id=${memberId}&limit=20`)).json.data;
    assert.ok(events.length > 0, "the review left a risk event");
    const shown = page.locator("table[data-table='risk-events'] tbody tr");
    // Every row shown is that member's (its ref in the Member column), as many as the API lists.
    // (A string, evaluated in the page: this file is typed for Node.)
    await page.waitForFunction(
      `(() => { const rows = [...document.querySelectorAll("table[data-table='risk-events'] tbody tr")];
        return rows.length === ${events.length} && rows.every((r) => r.cells[5]?.textContent.trim() === ${JSON.stringify(ref)}); })()`,
      undefined,
      { timeout: WAIT },
    );
    assert.deepEqual(
      (await shown.allInnerTexts()).map((r) => r.split("\t")[1]?.trim()),
      events.map((e: any) => e.rule_id),
    );
    await show(page, x.baseUrl, "members");
    const byId = page.getByRole("form", { name: "Find member by id" });
    await byId.locator("[name='member_id']").fill(memberId);
    await byId.getByRole("button", { name: "Find" }).click();
    const found = page.locator(`dl.facts[data-member='${memberId}'] [data-field='available']`);
    await found.waitFor({ timeout: WAIT });
    assert.equal(((await found.textContent()) ?? "").trim(), String(before));
  });

  it("finds a member by partner and ref, shows its balance and links, and books an adjustment with a reason", async () => {
    const { page } = admin;
    await show(page, x.baseUrl, "members");
    const form = page.getByRole("form", { name: "Find member by partner and member ref" });
    await form.locator("[name='partner_id']").selectOption("sky-air");
    await form.locator("[name='member_ref']").fill(config.demo_member!.refs["sky-air"]!);
    await form.getByRole("button", { name: "Find" }).click();
    await page.locator("[data-field='available']").waitFor({ timeout: WAIT });
    const balance = await client("sky-air").balance(config.demo_member!.refs["sky-air"]!);
    assert.equal(await text(page, "[data-field='available']"), String(balance.points.available));
    const links = await page.locator("table[data-table='links'] tbody tr td:first-child").allInnerTexts();
    assert.deepEqual([...links].sort(), ["brew-coffee", "sky-air"]);

    const adjust = page.getByRole("form", { name: "Adjust points" });
    await adjust.locator("[name='points']").fill("25");
    await adjust.locator("[name='reason']").fill("goodwill: console e2e");
    await adjust.getByRole("button", { name: "Adjust" }).click();
    await adjust.locator(".notice").waitFor({ timeout: WAIT });
    const after = await client("sky-air").balance(config.demo_member!.refs["sky-air"]!);
    assert.equal(after.points.available, balance.points.available + 25);
    await page.locator("table[data-table='activity'] tbody tr", { hasText: "adjustment" }).waitFor({ timeout: WAIT });
    await screenshot(page, "member");
  });

  it("shows the audit log newest first, a page at a time", async () => {
    // More than one page of 20 entries: a few audited changes through the API.
    const entries = async () => (await x.operator("GET", "/audit?limit=100")).json.data;
    for (let n = (await entries()).length; n <= 22; n++) {
      assert.equal((await x.operator("PATCH", "/partners/star-cinema", { name: "Star Cinema" })).status, 200);
    }
    const all = await entries();
    assert.ok(all.length > 20, `${all.length} audit entries`);
    const { page } = admin;
    await show(page, x.baseUrl, "audit");
    const rows = page.locator("table[data-table='audit'] tbody tr");
    assert.equal(await rows.count(), 20);
    assert.equal(((await rows.first().locator("td:nth-child(3)").textContent()) ?? "").trim(), all[0].action);
    await page.getByRole("button", { name: "More" }).click();
    await rows.nth(20).waitFor({ timeout: WAIT });
    assert.equal(await rows.count(), Math.min(all.length, 40));
    const actions = (await rows.locator("td:nth-child(3)").allInnerTexts()).map((a) => a.trim());
    assert.deepEqual(
      actions,
      all.slice(0, actions.length).map((e: any) => e.action),
    );
    await screenshot(page, "audit");
    assert.deepEqual(admin.errors, [], "no page error or CSP violation");
    for (const url of admin.requests) {
      if (!url.startsWith("blob:")) assert.equal(new URL(url).origin, x.baseUrl, `loaded from another host: ${url}`);
    }
  });

  it("with a read token shows no write control, and the API refuses a write", async () => {
    const reader = await openPage(browser);
    const { page } = reader;
    const token = await mintOperatorToken(config.operator, { sub: "auditor", scope: "read" });
    await page.goto(`${x.baseUrl}/console`);
    await page.getByRole("textbox", { name: "Operator token" }).fill(token);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator("header .scope.read-only").waitFor({ timeout: WAIT });
    const memberId = (await x.operator("GET", `/members?partner_id=sky-air&member_ref=${config.demo_member!.refs["sky-air"]}`))
      .json.member.id;
    for (const route of [
      "overview",
      "partners",
      "partners/sky-air",
      "risk",
      "settlement",
      "members",
      `members/${memberId}`,
      "audit",
    ]) {
      await show(page, x.baseUrl, route);
      assert.equal(await page.locator("[data-write]").count(), 0, `${route}: no write control`);
      assert.equal(await page.locator("main form.action").count(), 0, `${route}: no write form`);
    }
    await show(page, x.baseUrl, "risk");
    assert.ok(await page.locator("table[data-table='rules'] input[name='id']").first().isDisabled());
    await screenshot(page, "read-only");
    const refused = await page.evaluate(async () => {
      const auth = `Bearer ${sessionStorage.getItem("coalition-operator-token")}`;
      const r = await fetch("/admin/v1/risk-rules", {
        method: "PUT",
        headers: { Authorization: auth, "Content-Type": "application/json" },
        body: JSON.stringify({ rules: [] }),
      });
      return { status: r.status, body: (await r.json()) as { error: { code: string } } };
    });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, "scope_missing");
    assert.deepEqual(reader.errors, []);
  });

  it("signs the tab out when the API answers 401", async () => {
    const { page } = await openPage(browser);
    const token = await mintOperatorToken(config.operator, { sub: "tampered", scope: "admin" });
    const [head, body, sig] = token.split(".");
    const tampered = `${head}.${body}.${sig!.startsWith("A") ? "B" : "A"}${sig!.slice(1)}`;
    await page.goto(`${x.baseUrl}/console`);
    await page.getByRole("textbox", { name: "Operator token" }).fill(tampered);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("form", { name: "Sign in" }).locator(".notice").waitFor({ timeout: WAIT });
    assert.match(await text(page, "form[aria-label='Sign in'] .notice"), /^Signed out: /);
    assert.equal(await page.evaluate(() => sessionStorage.getItem("coalition-operator-token")), null);

    // A sign-in link whose token has expired is refused, saying so, and leaves the address.
    const expired = await mintOperatorToken(config.operator, { sub: "late", scope: "admin", ttlSeconds: -60 });
    await page.goto(`${x.baseUrl}/console#token=${expired}`);
    await page.getByRole("form", { name: "Sign in" }).locator(".notice", { hasText: "expired" }).waitFor({ timeout: WAIT });
    assert.doesNotMatch(page.url(), /token=/);
  });

  it("keeps a new sign-in when a request of the token before it answers 401 late", async () => {
    const { page, errors } = await openPage(browser);
    const first = await mintOperatorToken(config.operator, { sub: "first", scope: "admin" });
    const second = await mintOperatorToken(config.operator, { sub: "second", scope: "admin" });
    // Every answer to the first token is held, then refused after the second has signed in.
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let held = 0;
    await page.route("**/admin/v1/**", async (route) => {
      if (route.request().headers().authorization !== `Bearer ${first}`) return route.continue();
      held++;
      await released;
      const error = { type: "authentication_error", code: "operator_token_invalid", message: "held, then refused" };
      return route.fulfill({ status: 401, contentType: "application/json", body: JSON.stringify({ error }) });
    });
    await page.goto(`${x.baseUrl}/console#token=${first}`);
    for (let i = 0; held === 0 && i < 100; i++) await sleep(100);
    assert.ok(held > 0, "the first token's screen made a request");
    await page.goto(`${x.baseUrl}/console#token=${second}`);
    await page.locator("main#screen .loading").waitFor({ state: "detached", timeout: WAIT });
    const late = page.waitForResponse((r) => r.status() === 401, { timeout: WAIT });
    release();
    await late;
    await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 200)));
    assert.equal(await page.evaluate(() => sessionStorage.getItem("coalition-operator-token")), second);
    assert.equal(await page.locator("form.sign-in").count(), 0);
    assert.deepEqual(errors, []);
  });
});
