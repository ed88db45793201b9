import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { app } from "../../src/index";
import type { TestPartner } from "../support/exchange";
import { CONTEXT, enrol, partnerWithCard } from "../support/ledger";

/**
 * /docs "try it" in a local run: the worker signs partner requests as a demo partner, with the keys
 * `npm start` puts in .dev.vars (DOCS_TRY_IT_KEYS), and only on this machine. Without the var (every
 * deployment) or from another host, the signer does not exist.
 */

const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
let p: TestPartner;
let ref: string;
let localEnv: typeof env;

const call = (url: string, init: RequestInit = {}, e: typeof env = localEnv) => app.fetch(new Request(url, init), e, ctx);
const sign = (body: unknown, host = "http://127.0.0.1:8787", e: typeof env = localEnv) =>
  call(
    `${host}/docs/try-it/sign`,
    { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) },
    e,
  );

beforeAll(async () => {
  p = await partnerWithCard();
  ({ ref } = await enrol(p));
  localEnv = { ...env, DOCS_TRY_IT_KEYS: JSON.stringify([{ ...p.credentials }]) };
});

describe("/docs try-it signing", () => {
  it("locally, signs a request exactly as a partner does: the API accepts it", async () => {
    const listed = await call("http://127.0.0.1:8787/docs/try-it");
    expect(await listed.json()).toEqual({ partners: [p.id] });
    const body = JSON.stringify({ member_ref: ref, points: 5, context: CONTEXT });
    const signed = await sign({ partner: p.id, method: "POST", target: "/v1/earn", body, idempotency_key: "docs-try-1" });
    expect(signed.status).toBe(200);
    const { headers } = (await signed.json()) as { headers: Record<string, string> };
    expect(Object.keys(headers).sort()).toEqual(["Coalition-Signature", "Idempotency-Key"]);
    const earn = await call("http://127.0.0.1:8787/v1/earn", {
      method: "POST",
      headers: { ...headers, "Content-Type": "application/json" },
      body,
    });
    expect(earn.status).toBe(201);
    // The signature covers the body: another body with it is refused.
    const tampered = await call("http://127.0.0.1:8787/v1/earn", {
      method: "POST",
      headers: { ...headers, "Content-Type": "application/json" },
      body: body.replace('"points":5', '"points":500'),
    });
    expect(tampered.status).toBe(401);
  });

  it("does not exist without DOCS_TRY_IT_KEYS (a deployment) nor from another host", async () => {
    const deployed = { ...env };
    delete (deployed as { DOCS_TRY_IT_KEYS?: string }).DOCS_TRY_IT_KEYS;
    expect((await call("http://127.0.0.1:8787/docs/try-it", {}, deployed)).status).toBe(404);
    expect((await sign({ partner: p.id, method: "GET", target: "/v1/partner" }, "http://127.0.0.1:8787", deployed)).status).toBe(
      404,
    );
    expect((await call("https://exchange.example/docs/try-it")).status).toBe(404);
    expect((await sign({ partner: p.id, method: "GET", target: "/v1/partner" }, "https://exchange.example")).status).toBe(404);
  });

  it("refuses what it cannot sign, in the contract's shape", async () => {
    const unknown = await sign({ partner: "nobody", method: "GET", target: "/v1/partner" });
    expect([unknown.status, ((await unknown.json()) as { error: { code: string } }).error.code]).toEqual([
      404,
      "partner_not_found",
    ]);
    for (const bad of [{ partner: p.id, method: "GET", target: "/admin/v1/partners" }, { partner: p.id }, "not json"]) {
      const res = await sign(bad);
      expect(res.status).toBe(400);
    }
  });
});
