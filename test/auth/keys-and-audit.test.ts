import { exportJWK, generateKeyPair, type JWK } from "jose";
import { describe, expect, it } from "vitest";
import { newJti } from "../../packages/partner-sdk/src/index";
import { BASE_URL, createPartner, newKeyPair, type OperatorCall, operator, workerFetch } from "../support/exchange";
import { expectError, expectErrorShape, send, signAndSend, WHOAMI } from "../support/tamper";

/**
 * operator-api.md "Partners and keys" and the audit log (`GET /admin/v1/audit`), plus the error
 * shape every answer shares (partner-api.md §1). Storage is shared by this file's tests, so
 * each test uses its own partners and its own token `sub`, and filters the audit log by it.
 */

let counter = 0;
const uniqueId = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${counter++}`;
const partnerBody = (id: string, name = `Partner ${id}`) => ({
  id,
  name,
  funding: { mode: "postpaid", credit_limit: { value: "1000.00", unit: "CNY" } },
});

function expectOperatorError(r: OperatorCall, status: number, type: string, code: string): void {
  expect({ status: r.status, type: r.body?.error?.type, code: r.body?.error?.code }, r.text).toEqual({ status, type, code });
  expectErrorShape(r.body, r.headers);
}

/** Operator calls as a given `sub`. */
function as(sub: string) {
  return (method: string, path: string, body?: unknown, idempotencyKey?: string) =>
    operator(method, path, body, { tokenOptions: { sub }, ...(idempotencyKey ? { idempotencyKey } : {}) });
}

interface AuditRow {
  id: string;
  at: string;
  actor: string;
  action: string;
  target: string;
  detail: unknown;
}

/** Every audit row (newest first) by walking the pages with `limit` and `cursor`. */
async function auditPages(query: string, limit: number): Promise<{ rows: AuditRow[]; pages: number }> {
  const rows: AuditRow[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const r: OperatorCall = await operator(
      "GET",
      `/audit?limit=${limit}${query ? `&${query}` : ""}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
    );
    expect(r.status, r.text).toBe(200);
    expect(r.body.data.length).toBeLessThanOrEqual(limit);
    rows.push(...(r.body.data as AuditRow[]));
    cursor = r.body.next_cursor as string | null;
    pages++;
    expect(pages).toBeLessThan(500);
  } while (cursor !== null);
  return { rows, pages };
}

async function auditOf(actor: string): Promise<AuditRow[]> {
  const r = await operator("GET", `/audit?limit=100&actor=${encodeURIComponent(actor)}`);
  expect(r.status, r.text).toBe(200);
  // Do not rely on the filter alone: every row must be this actor's.
  for (const row of r.body.data as AuditRow[]) expect(row.actor).toBe(actor);
  return r.body.data as AuditRow[];
}

/** All rows about one target, from the whole log (no filter). */
async function auditAbout(target: string): Promise<AuditRow[]> {
  const { rows } = await auditPages("", 100);
  return rows.filter((r) => r.target === target || r.target.startsWith(`${target}/`));
}

const idNumber = (row: AuditRow) => Number(row.id.replace(/^aud_/, ""));

describe("registering partner keys", () => {
  it("an Ed25519 public key is registered: 201 with the key, and it signs requests", async () => {
    const p = await createPartner();
    const { publicJwk, privateJwk } = await newKeyPair("EdDSA");
    const r = await operator("POST", `/partners/${p.id}/keys`, { kid: "rotated-1", public_jwk: publicJwk });
    expect(r.status, r.text).toBe(201);
    expect(r.body.key).toEqual({ kid: "rotated-1", alg: "EdDSA", status: "active" });
    const signed = await signAndSend({ partnerId: p.id, kid: "rotated-1", alg: "EdDSA", privateJwk }, WHOAMI);
    expect(signed.status).toBe(200);
  });

  it("a P-256 public key is registered as ES256", async () => {
    const p = await createPartner();
    const { publicJwk } = await newKeyPair("ES256");
    const r = await operator("POST", `/partners/${p.id}/keys`, { kid: "p256-1", public_jwk: publicJwk });
    expect(r.status, r.text).toBe(201);
    expect(r.body.key).toEqual({ kid: "p256-1", alg: "ES256", status: "active" });
    const partner = await operator("GET", `/partners/${p.id}`);
    expect(partner.body.partner.keys.map((k: { kid: string; status: string }) => [k.kid, k.status])).toContainEqual([
      "p256-1",
      "active",
    ]);
  });

  it("a kid the partner already has answers 409 key_exists (and the first key keeps working)", async () => {
    const p = await createPartner();
    const { publicJwk } = await newKeyPair("EdDSA");
    expectOperatorError(
      await operator("POST", `/partners/${p.id}/keys`, { kid: p.credentials.kid, public_jwk: publicJwk }),
      409,
      "invalid_request",
      "key_exists",
    );
    expect((await signAndSend(p.credentials, WHOAMI)).status).toBe(200);
  });

  it("a private key (with d) is refused with 400 and not registered", async () => {
    const p = await createPartner();
    const { privateJwk } = await newKeyPair("EdDSA");
    expectOperatorError(
      await operator("POST", `/partners/${p.id}/keys`, { kid: "leaky", public_jwk: privateJwk }),
      400,
      "invalid_request",
      "invalid_body",
    );
    const partner = await operator("GET", `/partners/${p.id}`);
    expect(partner.body.partner.keys.map((k: { kid: string }) => k.kid)).not.toContain("leaky");
  });

  it("a private P-256 key (with d) is refused with 400", async () => {
    const p = await createPartner();
    const { privateJwk } = await newKeyPair("ES256");
    expectOperatorError(
      await operator("POST", `/partners/${p.id}/keys`, { kid: "leaky-ec", public_jwk: privateJwk }),
      400,
      "invalid_request",
      "invalid_body",
    );
  });

  const otherKeys: [string, () => Promise<JWK>][] = [
    ["RSA", async () => exportJWK((await generateKeyPair("RS256", { extractable: true })).publicKey)],
    ["EC P-384", async () => exportJWK((await generateKeyPair("ES384", { extractable: true })).publicKey)],
    ["OKP X25519", async () => ({ kty: "OKP", crv: "X25519", x: "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo" })],
    ["OKP with crv P-256", async () => ({ ...(await newKeyPair("ES256")).publicJwk, kty: "OKP" })],
    ["EC with crv Ed25519", async () => ({ ...(await newKeyPair("EdDSA")).publicJwk, kty: "EC" })],
    ["a symmetric key", async () => ({ kty: "oct", k: "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0" })],
    ["an Ed25519 key with a broken x", async () => ({ kty: "OKP", crv: "Ed25519", x: "AAAA" })],
    [
      "a P-256 key off the curve",
      async () => ({ ...(await newKeyPair("ES256")).publicJwk, y: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }),
    ],
  ];

  it.each(otherKeys)("a key that is not an Ed25519 or P-256 public key (%s) is refused with 400", async (_name, make) => {
    const p = await createPartner();
    expectOperatorError(
      await operator("POST", `/partners/${p.id}/keys`, { kid: "odd", public_jwk: await make() }),
      400,
      "invalid_request",
      "invalid_body",
    );
  });

  it("an unknown partner answers 404 partner_not_found", async () => {
    const { publicJwk } = await newKeyPair("EdDSA");
    const missing = uniqueId("nobody");
    expectOperatorError(
      await operator("POST", `/partners/${missing}/keys`, { kid: "k1", public_jwk: publicJwk }),
      404,
      "invalid_request",
      "partner_not_found",
    );
    expectOperatorError(await operator("DELETE", `/partners/${missing}/keys/k1`), 404, "invalid_request", "partner_not_found");
    expectOperatorError(
      await operator("PATCH", `/partners/${missing}`, { status: "suspended" }),
      404,
      "invalid_request",
      "partner_not_found",
    );
    expectOperatorError(await operator("GET", `/partners/${missing}`), 404, "invalid_request", "partner_not_found");
  });

  it("revoking a kid the partner does not have answers 404 key_not_found", async () => {
    const p = await createPartner();
    expectOperatorError(await operator("DELETE", `/partners/${p.id}/keys/no-such-kid`), 404, "invalid_request", "key_not_found");
  });

  it("a revoked key is listed as revoked", async () => {
    const p = await createPartner();
    expect((await operator("DELETE", `/partners/${p.id}/keys/${p.credentials.kid}`)).status).toBe(200);
    const partner = await operator("GET", `/partners/${p.id}`);
    const key = partner.body.partner.keys.find((k: { kid: string }) => k.kid === p.credentials.kid);
    expect(key.status).toBe("revoked");
  });
});

describe("creating partners", () => {
  it("an existing id answers 409 partner_exists and changes nothing", async () => {
    const id = uniqueId("dup");
    expect((await operator("POST", "/partners", partnerBody(id, "First"))).status).toBe(201);
    expectOperatorError(await operator("POST", "/partners", partnerBody(id, "Second")), 409, "invalid_request", "partner_exists");
    const p = await operator("GET", `/partners/${id}`);
    expect(p.body.partner.name).toBe("First");
  });

  it("five simultaneous creates of one id: one 201, four partner_exists, one audit row", async () => {
    const id = uniqueId("race");
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) => operator("POST", "/partners", partnerBody(id, `Racer ${i}`))),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409]);
    for (const r of results.filter((x) => x.status === 409)) expectOperatorError(r, 409, "invalid_request", "partner_exists");
    const rows = (await auditAbout(id)).filter((r) => r.action === "partner.create");
    expect(rows).toHaveLength(1);
  });
});

describe("the audit log", () => {
  it("records every change with the token's sub as actor, newest first", async () => {
    const sub = `${uniqueId("auditor")}@coalition.test`;
    const call = as(sub);
    const id = uniqueId("audited");
    const { publicJwk } = await newKeyPair("EdDSA");

    expect((await call("POST", "/partners", partnerBody(id))).status).toBe(201);
    expect((await call("PATCH", `/partners/${id}`, { name: "Renamed", status: "suspended" })).status).toBe(200);
    expect((await call("POST", `/partners/${id}/keys`, { kid: "k1", public_jwk: publicJwk })).status).toBe(201);
    expect((await call("DELETE", `/partners/${id}/keys/k1`)).status).toBe(200);

    const rows = await auditOf(sub);
    expect(rows.map((r) => [r.action, r.target])).toEqual([
      ["key.revoke", `${id}/k1`],
      ["key.add", `${id}/k1`],
      ["partner.update", id],
      ["partner.create", id],
    ]);
    for (const r of rows) {
      expect(r.actor).toBe(sub);
      expect(r.id).toMatch(/^aud_/);
      expect(r.at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
    }
    const ids = rows.map(idNumber);
    expect([...ids].sort((a, b) => b - a)).toEqual(ids);

    // The same rows, newest first, at the top of the unfiltered log.
    const top = await operator("GET", "/audit?limit=4");
    expect(top.body.data.map((r: AuditRow) => r.id)).toEqual(rows.map((r) => r.id));
  });

  it("records a partner payment (partner.payment) once, even when the request is replayed", async () => {
    // Guards the parameter-numbering fix in src/http/idempotency.ts commit(): before it, every
    // payment answered 503 "Wrong number of parameter bindings".
    const sub = `${uniqueId("payer")}@coalition.test`;
    const call = as(sub);
    const id = uniqueId("paid");
    expect((await call("POST", "/partners", partnerBody(id))).status).toBe(201);
    const key = `pay-${newJti()}`;
    const payment = { amount: { value: "250.00", unit: "CNY" }, reference: "wire 42" };
    const first = await call("POST", `/partners/${id}/payments`, payment, key);
    expect(first.status, first.text).toBe(201);
    const again = await call("POST", `/partners/${id}/payments`, payment, key);
    expect(again.status).toBe(201);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    const rows = await auditOf(sub);
    expect(rows.map((r) => [r.action, r.target])).toEqual([
      ["partner.payment", id],
      ["partner.create", id],
    ]);
  });

  it("is paginated with limit and cursor: the pages together are the whole log, newest first, without repeats", async () => {
    const sub = `${uniqueId("pager")}@coalition.test`;
    const call = as(sub);
    for (let i = 0; i < 5; i++) expect((await call("POST", "/partners", partnerBody(uniqueId("paged")))).status).toBe(201);

    const mine = await auditPages(`actor=${encodeURIComponent(sub)}`, 2);
    expect(mine.pages).toBe(3);
    expect(mine.rows).toHaveLength(5);
    expect(mine.rows).toEqual(await auditOf(sub));

    const whole = await auditPages("", 100);
    const paged = await auditPages("", 3);
    expect(paged.rows.map((r) => r.id)).toEqual(whole.rows.map((r) => r.id));
    expect(new Set(paged.rows.map((r) => r.id)).size).toBe(paged.rows.length);
    const ids = paged.rows.map(idNumber);
    for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeLessThan(ids[i - 1] as number);
  });

  it("a cursor the API did not return answers 400 invalid_param", async () => {
    expectOperatorError(await operator("GET", "/audit?cursor=not-a-cursor!"), 400, "invalid_request", "invalid_param");
  });

  it("failed changes leave no audit row", async () => {
    const setupSub = `${uniqueId("setup")}@coalition.test`;
    const failSub = `${uniqueId("failer")}@coalition.test`;
    const id = uniqueId("failing");
    const { publicJwk, privateJwk } = await newKeyPair("EdDSA");
    expect((await as(setupSub)("POST", "/partners", partnerBody(id))).status).toBe(201);
    expect((await as(setupSub)("POST", `/partners/${id}/keys`, { kid: "k1", public_jwk: publicJwk })).status).toBe(201);

    const fail = as(failSub);
    expect((await fail("POST", "/partners", partnerBody(id))).status).toBe(409);
    expect((await fail("POST", `/partners/${id}/keys`, { kid: "k1", public_jwk: publicJwk })).status).toBe(409);
    expect((await fail("POST", `/partners/${id}/keys`, { kid: "k2", public_jwk: privateJwk })).status).toBe(400);
    expect((await fail("DELETE", `/partners/${id}/keys/no-such-kid`)).status).toBe(404);
    expect((await fail("PATCH", `/partners/${uniqueId("ghost")}`, { status: "suspended" })).status).toBe(404);
    expect((await fail("PATCH", `/partners/${id}`, { status: "paused" })).status).toBe(400);
    const readOnly = await operator("POST", "/partners", partnerBody(uniqueId("ro")), {
      tokenOptions: { sub: failSub, scope: "read" },
    });
    expect(readOnly.status).toBe(403);

    expect(await auditOf(failSub)).toEqual([]);
    expect((await auditAbout(id)).map((r) => [r.action, r.actor])).toEqual([
      ["key.add", setupSub],
      ["partner.create", setupSub],
    ]);
  });

  it("reads are not audited", async () => {
    const sub = `${uniqueId("reader")}@coalition.test`;
    const p = await createPartner();
    await operator("GET", "/partners", undefined, { tokenOptions: { sub, scope: "read" } });
    await operator("GET", `/partners/${p.id}`, undefined, { tokenOptions: { sub } });
    await operator("GET", "/audit", undefined, { tokenOptions: { sub } });
    expect(await auditOf(sub)).toEqual([]);
  });
});

describe("the error shape: { error: { type, code, message, request_id } } and a Request-Id header", () => {
  it("on partner authentication and permission errors", async () => {
    const p = await createPartner();
    await expectError(await send(WHOAMI, undefined), 401, "authentication_error", "signature_missing");
    await expectError(await send(WHOAMI, "x.y.z"), 401, "authentication_error", "signature_malformed");
    await expectError(
      await signAndSend(p.credentials, WHOAMI, { claims: { htm: "PUT" } }),
      401,
      "authentication_error",
      "request_mismatch",
    );
    expect((await operator("PATCH", `/partners/${p.id}`, { status: "suspended" })).status).toBe(200);
    await expectError(await signAndSend(p.credentials, WHOAMI), 403, "permission_error", "partner_suspended");
  });

  it("on operator errors (401, 403, 404, 409, 400)", async () => {
    const p = await createPartner();
    expectOperatorError(
      await operator("GET", "/partners", undefined, { token: "nope" }),
      401,
      "authentication_error",
      "operator_token_invalid",
    );
    expectOperatorError(
      await operator("POST", "/partners", partnerBody(uniqueId("x")), { tokenOptions: { scope: "read" } }),
      403,
      "permission_error",
      "scope_missing",
    );
    expectOperatorError(await operator("GET", `/partners/${uniqueId("none")}`), 404, "invalid_request", "partner_not_found");
    expectOperatorError(await operator("POST", "/partners", partnerBody(p.id)), 409, "invalid_request", "partner_exists");
    const unknownField = await operator("POST", "/partners", { ...partnerBody(uniqueId("y")), colour: "red" });
    expectOperatorError(unknownField, 400, "invalid_request", "unknown_field");
    expect(unknownField.body.error.param).toBe("colour");
  });

  it("on unknown routes", async () => {
    await expectError(await workerFetch(new Request(`${BASE_URL}/no/such/route`)), 404, "invalid_request", "not_found");
  });

  it("on an error answered through the idempotency layer (a payment to an unknown partner)", async () => {
    // Guards a fix in src/http/request-context.ts: responses the idempotency layer builds as raw
    // Response objects used to lose the Request-Id header (Hono drops headers set before next()).
    const key = `pay-${newJti()}`;
    const payment = { amount: { value: "1.00", unit: "CNY" }, reference: "r" };
    const ghost = uniqueId("ghost");
    const r = await operator("POST", `/partners/${ghost}/payments`, payment, { idempotencyKey: key });
    expectOperatorError(r, 404, "invalid_request", "partner_not_found");
    // Its replay is the stored answer byte for byte, under a header of its own.
    const replay = await operator("POST", `/partners/${ghost}/payments`, payment, { idempotencyKey: key });
    expect(replay.status).toBe(404);
    expect(replay.text).toBe(r.text);
    expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
    expect(replay.headers.get("Request-Id")).toMatch(/^req_/);
  });

  it("a success answered through the idempotency layer carries a Request-Id header too", async () => {
    // Guards the same fix: the 201 of a payment used to carry no Request-Id header.
    const p = await createPartner();
    const payment = { amount: { value: "1.00", unit: "CNY" }, reference: "r" };
    const r = await operator("POST", `/partners/${p.id}/payments`, payment, { idempotencyKey: `pay-${newJti()}` });
    expect(r.status, r.text).toBe(201);
    expect(r.headers.get("Request-Id")).toMatch(/^req_/);
  });
});
