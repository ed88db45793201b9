import { env } from "cloudflare:workers";
import { importJWK, type JWK, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { BASE_URL, newKeyPair, type OperatorCall, operator, operatorToken, workerFetch } from "../support/exchange";
import { expectErrorShape, rawJws } from "../support/tamper";

/**
 * operator-api.md "Authentication": `Authorization: Bearer <JWT>` signed by a key of the
 * configured operator JWK set; claims sub, iat (≤ 60 s ahead), exp (≤ 1 h after iat), scope
 * (`admin` everything, `read` only GETs).
 */

const nowSeconds = () => Math.floor(Date.now() / 1000);
const operatorJwk = (): JWK => JSON.parse(env.TEST_OPERATOR_PRIVATE_JWK) as JWK;

/** An operator-style JWT with exactly these claims (none added), signed with `jwk`. */
async function jwt(claims: Record<string, unknown>, opts: { jwk?: JWK; alg?: "EdDSA" | "ES256"; kid?: string } = {}) {
  const jwk = opts.jwk ?? operatorJwk();
  const alg = opts.alg ?? "EdDSA";
  return new SignJWT(claims)
    .setProtectedHeader({ alg, kid: opts.kid ?? jwk.kid ?? "op-test-1", typ: "JWT" })
    .sign(await importJWK(jwk, alg));
}

function validClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = nowSeconds();
  const claims: Record<string, unknown> = { sub: "ops@coalition.test", iat, exp: iat + 600, scope: "admin", ...overrides };
  for (const [k, v] of Object.entries(claims)) if (v === undefined) delete claims[k];
  return claims;
}

async function callWithHeader(authorization: string | undefined, method = "GET", path = "/partners"): Promise<OperatorCall> {
  const response = await workerFetch(
    new Request(`${BASE_URL}/admin/v1${path}`, {
      method,
      headers: authorization === undefined ? {} : { Authorization: authorization },
    }),
  );
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text), text, headers: response.headers };
}

function expectOperatorError(r: OperatorCall, status: number, type: string, code: string): void {
  expect({ status: r.status, type: r.body?.error?.type, code: r.body?.error?.code }, r.text).toEqual({ status, type, code });
  expectErrorShape(r.body, r.headers);
}

const tokenInvalid = (r: OperatorCall) => expectOperatorError(r, 401, "authentication_error", "operator_token_invalid");
const scopeMissing = (r: OperatorCall) => expectOperatorError(r, 403, "permission_error", "scope_missing");

let counter = 0;
const newPartnerBody = () => ({
  id: `op-auth-${Date.now().toString(36)}-${counter++}`,
  name: "Operator auth test",
  funding: { mode: "postpaid", credit_limit: { value: "1000.00", unit: "CNY" } },
});

describe("the operator bearer token", () => {
  it("is required: no Authorization header answers 401 operator_token_invalid", async () => {
    tokenInvalid(await callWithHeader(undefined));
  });

  it.each([
    ["garbage", "Bearer garbage"],
    ["an empty bearer", "Bearer "],
    ["another scheme", "Basic b3BzOnNlY3JldA=="],
    ["three garbage segments", "Bearer a.b.c"],
  ])("%s answers 401 operator_token_invalid", async (_name, header) => {
    tokenInvalid(await callWithHeader(header));
  });

  it("a valid token under another scheme name is refused", async () => {
    tokenInvalid(await callWithHeader(`Token ${await operatorToken()}`));
  });

  it("a valid admin token works", async () => {
    const r = await callWithHeader(`Bearer ${await operatorToken()}`);
    expect(r.status, r.text).toBe(200);
  });

  it("an expired token (exp in the past) is refused", async () => {
    const iat = nowSeconds() - 120;
    tokenInvalid(await operator("GET", "/partners", undefined, { tokenOptions: { iat, exp: iat + 60 } }));
  });

  it("a token signed by a key outside the operator JWK set is refused (same kid)", async () => {
    const { privateJwk } = await newKeyPair("EdDSA");
    tokenInvalid(await operator("GET", "/partners", undefined, { tokenOptions: { privateJwk, kid: "op-test-1" } }));
  });

  it("a token signed by a key outside the operator JWK set is refused (unknown kid)", async () => {
    const { privateJwk } = await newKeyPair("EdDSA");
    tokenInvalid(await operator("GET", "/partners", undefined, { tokenOptions: { privateJwk, kid: "op-unknown" } }));
  });

  it("an ES256 token from a key outside the set is refused", async () => {
    const { privateJwk } = await newKeyPair("ES256");
    tokenInvalid(
      await operator("GET", "/partners", undefined, { token: await jwt(validClaims(), { jwk: privateJwk, alg: "ES256" }) }),
    );
  });

  it("a token signed with the statement-signing key is refused", async () => {
    const statementJwk = JSON.parse(env.STATEMENT_SIGNING_JWK) as JWK;
    const token = await jwt(validClaims(), { jwk: statementJwk, kid: statementJwk.kid ?? "stmt-test-1" });
    tokenInvalid(await operator("GET", "/partners", undefined, { token }));
  });

  it("an unsigned token (alg none) is refused", async () => {
    const token = rawJws({ alg: "none", kid: "op-test-1", typ: "JWT" }, validClaims());
    tokenInvalid(await operator("GET", "/partners", undefined, { token }));
  });

  it("a token whose payload was altered after signing is refused", async () => {
    const token = await jwt(validClaims({ scope: "read" }));
    const [h, , s] = token.split(".");
    const forged = `${h}.${btoa(JSON.stringify(validClaims({ scope: "admin" }))).replace(/=+$/, "")}.${s}`;
    tokenInvalid(await operator("POST", "/partners", newPartnerBody(), { token: forged }));
  });
});

describe("operator token claims", () => {
  it("iat more than 60 s in the future is refused", async () => {
    const iat = nowSeconds() + 120;
    tokenInvalid(await operator("GET", "/partners", undefined, { tokenOptions: { iat, exp: iat + 600 } }));
  });

  it("iat up to 60 s in the future is accepted", async () => {
    const iat = nowSeconds() + 30;
    const r = await operator("GET", "/partners", undefined, { tokenOptions: { iat, exp: iat + 600 } });
    expect(r.status, r.text).toBe(200);
  });

  it("exp more than 1 hour after iat is refused", async () => {
    const iat = nowSeconds();
    tokenInvalid(await operator("GET", "/partners", undefined, { tokenOptions: { iat, exp: iat + 3601 } }));
    tokenInvalid(await operator("GET", "/partners", undefined, { tokenOptions: { iat, exp: iat + 86_400 } }));
  });

  it("exp exactly 1 hour after iat is accepted", async () => {
    const iat = nowSeconds();
    const r = await operator("GET", "/partners", undefined, { tokenOptions: { iat, exp: iat + 3600 } });
    expect(r.status, r.text).toBe(200);
  });

  it.each(["sub", "iat", "exp", "scope"])("a token without %s is refused", async (claim) => {
    tokenInvalid(await operator("GET", "/partners", undefined, { token: await jwt(validClaims({ [claim]: undefined })) }));
  });

  it("a scope that is not a string is refused", async () => {
    tokenInvalid(await operator("GET", "/partners", undefined, { token: await jwt(validClaims({ scope: ["admin"] })) }));
  });

  it("an empty sub is refused", async () => {
    tokenInvalid(await operator("GET", "/partners", undefined, { token: await jwt(validClaims({ sub: "" })) }));
  });

  it("an expired admin token answers 401, not a scope error", async () => {
    const iat = nowSeconds() - 7200;
    tokenInvalid(await operator("POST", "/partners", newPartnerBody(), { tokenOptions: { iat, exp: iat + 600, scope: "read" } }));
  });
});

describe("operator scopes", () => {
  it("read can GET partners and the audit log", async () => {
    const list = await operator("GET", "/partners", undefined, { tokenOptions: { scope: "read" } });
    expect(list.status, list.text).toBe(200);
    const audit = await operator("GET", "/audit", undefined, { tokenOptions: { scope: "read" } });
    expect(audit.status, audit.text).toBe(200);
  });

  it("read cannot POST, PATCH or DELETE: 403 permission_error / scope_missing, and nothing changes", async () => {
    const body = newPartnerBody();
    scopeMissing(await operator("POST", "/partners", body, { tokenOptions: { scope: "read" } }));
    const missing = await operator("GET", `/partners/${body.id}`);
    expect(missing.status, missing.text).toBe(404);

    const created = await operator("POST", "/partners", body);
    expect(created.status, created.text).toBe(201);
    scopeMissing(await operator("PATCH", `/partners/${body.id}`, { status: "suspended" }, { tokenOptions: { scope: "read" } }));
    scopeMissing(await operator("DELETE", `/partners/${body.id}/keys/k1`, undefined, { tokenOptions: { scope: "read" } }));
    const after = await operator("GET", `/partners/${body.id}`);
    expect(after.body.partner.status).toBe("active");
  });

  it.each(["write", "", "reader", "administrator", "READ", "partner"])(
    "a token whose scope is neither read nor admin (%j) answers 403 scope_missing",
    async (scope) => {
      scopeMissing(await operator("GET", "/partners", undefined, { tokenOptions: { scope } }));
      scopeMissing(await operator("POST", "/partners", newPartnerBody(), { tokenOptions: { scope } }));
    },
  );

  it("admin works for reads and changes", async () => {
    const created = await operator("POST", "/partners", newPartnerBody(), { tokenOptions: { scope: "admin" } });
    expect(created.status, created.text).toBe(201);
    const list = await operator("GET", "/partners", undefined, { tokenOptions: { scope: "admin" } });
    expect(list.status, list.text).toBe(200);
  });

  it("scope is space-separated: 'read admin' grants admin", async () => {
    const created = await operator("POST", "/partners", newPartnerBody(), { tokenOptions: { scope: "read admin" } });
    expect(created.status, created.text).toBe(201);
  });
});
