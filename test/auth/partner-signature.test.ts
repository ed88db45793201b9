import { env } from "cloudflare:workers";
import { base64url, CompactSign } from "jose";
import { describe, expect, it } from "vitest";
import { newJti } from "../../packages/partner-sdk/src/index";
import { addKey, createPartner, newKeyPair, operator, type TestPartner } from "../support/exchange";
import {
  correctClaims,
  expectError,
  rawJws,
  type SignedRequestSpec,
  send,
  signAndSend,
  signFor,
  signJws,
  statusOf,
  type TamperOptions,
  WHOAMI,
} from "../support/tamper";

/**
 * partner-api.md §2: every /v1 request is signed. `GET /v1/partner` (the caller) is the signed
 * GET; `POST /v1/partner` has no route, but the signature middleware runs before routing, so an
 * untampered POST there answers 404 not_found (it passed authentication) while a tampered one
 * answers the authentication error.
 */

const nowSeconds = () => Math.floor(Date.now() / 1000);

function postSpec(body = '{"member_ref":"c-42","points":500}'): SignedRequestSpec {
  return { method: "POST", target: "/v1/partner", body, idempotencyKey: `idk_${newJti()}` };
}

async function expectOk(response: Response, partner: { id: string }, kid?: string): Promise<void> {
  const text = await response.text();
  expect(response.status, text).toBe(200);
  const body = JSON.parse(text) as { partner: { id: string; kid: string } };
  expect(body.partner.id).toBe(partner.id);
  if (kid !== undefined) expect(body.partner.kid).toBe(kid);
}

/** The untampered POST twin got through authentication: routing answered 404. */
async function expectPassedAuth(response: Response): Promise<void> {
  await expectError(response, 404, "invalid_request", "not_found");
}

const unauthorized = (response: Response, code: string) => expectError(response, 401, "authentication_error", code);

async function suspend(p: TestPartner): Promise<void> {
  expect((await operator("PATCH", `/partners/${p.id}`, { status: "suspended" })).status).toBe(200);
}

async function reactivate(p: TestPartner): Promise<void> {
  expect((await operator("PATCH", `/partners/${p.id}`, { status: "active" })).status).toBe(200);
}

async function revoke(partnerId: string, kid: string): Promise<void> {
  const r = await operator("DELETE", `/partners/${partnerId}/keys/${kid}`);
  expect(r.status, r.text).toBe(200);
}

describe("the Coalition-Signature header", () => {
  it("is required: without it a /v1 request answers 401 signature_missing", async () => {
    await unauthorized(await send(WHOAMI, undefined), "signature_missing");
    await unauthorized(await send(postSpec(), undefined), "signature_missing");
  });

  it("an empty header is a missing signature", async () => {
    await unauthorized(await send(WHOAMI, ""), "signature_missing");
  });

  it.each([
    ["plain text", "hello"],
    ["two segments", "eyJhbGciOiJFZERTQSJ9.e30"],
    ["three garbage segments", "a.b.c"],
    ["five segments (JWE form)", "a.b.c.d.e"],
    ["a header that is not JSON", `${base64url.encode("not json")}.${base64url.encode("{}")}.sig`],
  ])("must parse as a compact JWS (%s → signature_malformed)", async (_name, value) => {
    await unauthorized(await send(WHOAMI, value), "signature_malformed");
  });

  it("must carry a JSON object as its payload", async () => {
    const p = await createPartner();
    const header = { alg: "EdDSA", kid: p.credentials.kid, typ: "coalition-request+jwt" };
    await unauthorized(await send(WHOAMI, await signJws(header, [1, 2, 3], p.credentials)), "signature_malformed");
    await unauthorized(await send(WHOAMI, await signJws(header, "a string", p.credentials)), "signature_malformed");
  });
});

describe("the protected header", () => {
  it("typ must be coalition-request+jwt", async () => {
    const p = await createPartner();
    await unauthorized(await signAndSend(p.credentials, WHOAMI, { header: { typ: "JWT" } }), "signature_malformed");
    await unauthorized(await signAndSend(p.credentials, WHOAMI, { header: { typ: undefined } }), "signature_malformed");
    await expectOk(await signAndSend(p.credentials, WHOAMI), p);
  });

  it("kid is required", async () => {
    const p = await createPartner();
    await unauthorized(await signAndSend(p.credentials, WHOAMI, { header: { kid: undefined } }), "signature_malformed");
  });

  it("an unsigned token (alg none) is refused", async () => {
    const p = await createPartner();
    const claims = await correctClaims(p.credentials, WHOAMI);
    const token = rawJws({ alg: "none", kid: p.credentials.kid, typ: "coalition-request+jwt" }, claims);
    await unauthorized(await send(WHOAMI, token), "signature_malformed");
  });

  it("an HS256 token keyed with the partner's public key (algorithm confusion) is refused", async () => {
    const p = await createPartner();
    const { d: _private, ...publicJwk } = p.credentials.privateJwk;
    const claims = await correctClaims(p.credentials, WHOAMI);
    const header = { alg: "HS256", kid: p.credentials.kid, typ: "coalition-request+jwt" };
    for (const secret of [JSON.stringify(publicJwk), String(publicJwk.x)]) {
      const token = await new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
        .setProtectedHeader(header)
        .sign(new TextEncoder().encode(secret));
      // §2 allows only EdDSA and ES256: the header itself is not a valid one.
      await unauthorized(await send(WHOAMI, token), "signature_malformed");
    }
    await expectOk(await signAndSend(p.credentials, WHOAMI), p);
  });
});

describe("the claims", () => {
  it.each(["iss", "iat", "jti", "htm", "htu", "bh"])("%s is required (missing → signature_malformed)", async (claim) => {
    const p = await createPartner();
    await unauthorized(await signAndSend(p.credentials, WHOAMI, { claims: { [claim]: undefined } }), "signature_malformed");
  });

  it.each([
    ["iss", 42],
    ["iat", "1700000000"],
    ["iat", 1.5],
    ["jti", 1234567890123456],
    ["htm", ["GET"]],
    ["htu", null],
    ["bh", 0],
    ["idk", 7],
  ])("%s of the wrong type (%j) → signature_malformed", async (claim, value) => {
    const p = await createPartner();
    await unauthorized(await signAndSend(p.credentials, WHOAMI, { claims: { [claim]: value } }), "signature_malformed");
  });

  it("jti must be 16 to 128 characters", async () => {
    const p = await createPartner();
    await unauthorized(await signAndSend(p.credentials, WHOAMI, { claims: { jti: "x".repeat(15) } }), "signature_malformed");
    await unauthorized(await signAndSend(p.credentials, WHOAMI, { claims: { jti: "y".repeat(129) } }), "signature_malformed");
    await expectOk(await signAndSend(p.credentials, WHOAMI, { claims: { jti: `${newJti()}`.padEnd(16, "z").slice(0, 16) } }), p);
    await expectOk(await signAndSend(p.credentials, WHOAMI, { claims: { jti: `${newJti()}`.padEnd(128, "z") } }), p);
  });
});

describe("the key named by (iss, kid)", () => {
  it("an unknown kid answers unknown_key", async () => {
    const p = await createPartner();
    await unauthorized(await signAndSend(p.credentials, WHOAMI, { header: { kid: "no-such-kid" } }), "unknown_key");
  });

  it("iss tampered to another partner's id (with this kid) answers unknown_key", async () => {
    const a = await createPartner();
    const b = await createPartner();
    await unauthorized(await signAndSend(a.credentials, WHOAMI, { claims: { iss: b.id } }), "unknown_key");
  });

  it("iss of a partner that does not exist answers unknown_key", async () => {
    const a = await createPartner();
    await unauthorized(await signAndSend(a.credentials, WHOAMI, { claims: { iss: "no-such-partner" } }), "unknown_key");
  });

  it("keys belong to one partner: another partner's key under a shared kid does not verify", async () => {
    const a = await createPartner();
    const b = await createPartner();
    const aShared = await addKey(a.id, "shared-kid", "EdDSA");
    const bShared = await addKey(b.id, "shared-kid", "EdDSA");
    // Signed with A's key, claiming to be B (whose key "shared-kid" is a different key).
    await unauthorized(await signAndSend(aShared, WHOAMI, { claims: { iss: b.id } }), "signature_invalid");
    await expectOk(await signAndSend(aShared, WHOAMI), a, "shared-kid");
    await expectOk(await signAndSend(bShared, WHOAMI), b, "shared-kid");
  });
});

describe("the signature", () => {
  it("signed by another key under the partner's kid answers signature_invalid", async () => {
    const p = await createPartner();
    const other = await newKeyPair("EdDSA");
    await unauthorized(
      await signAndSend(p.credentials, WHOAMI, { signWith: { privateJwk: other.privateJwk, alg: "EdDSA" } }),
      "signature_invalid",
    );
  });

  it("the key's algorithm must be the alg named: an ES256 token for an Ed25519 key answers signature_invalid", async () => {
    const p = await createPartner({ alg: "EdDSA" });
    const p256 = await newKeyPair("ES256");
    await unauthorized(
      await signAndSend(p.credentials, WHOAMI, { signWith: { privateJwk: p256.privateJwk, alg: "ES256" } }),
      "signature_invalid",
    );
  });

  it("an EdDSA token for a P-256 key answers signature_invalid", async () => {
    const p = await createPartner({ alg: "ES256" });
    const ed = await newKeyPair("EdDSA");
    await unauthorized(
      await signAndSend(p.credentials, WHOAMI, { signWith: { privateJwk: ed.privateJwk, alg: "EdDSA" } }),
      "signature_invalid",
    );
  });

  it("covers the claims: a payload swapped after signing answers signature_invalid", async () => {
    const p = await createPartner();
    const token = await signFor(p.credentials, { method: "GET", target: "/v1/members/x" });
    const [h, , s] = token.split(".");
    const claims = await correctClaims(p.credentials, WHOAMI);
    const forged = `${h}.${base64url.encode(JSON.stringify(claims))}.${s}`;
    await unauthorized(await send(WHOAMI, forged), "signature_invalid");
  });

  it("a truncated signature answers signature_invalid", async () => {
    const p = await createPartner();
    const token = await signFor(p.credentials, WHOAMI);
    await unauthorized(await send(WHOAMI, token.slice(0, -4)), "signature_invalid");
  });

  it("ES256 partner keys work", async () => {
    const p = await createPartner({ alg: "ES256" });
    await expectOk(await signAndSend(p.credentials, WHOAMI), p, p.credentials.kid);
    await expectPassedAuth(await signAndSend(p.credentials, postSpec()));
    const r = await p.client.get<{ partner: { id: string } }>("/v1/partner");
    expect(r.status).toBe(200);
  });
});

describe("iat: within 300 s of the server clock", () => {
  it("301 s in the past answers signature_expired", async () => {
    const p = await createPartner();
    await unauthorized(await signAndSend(p.credentials, WHOAMI, { claims: { iat: nowSeconds() - 301 } }), "signature_expired");
  });

  it("301 s in the future answers signature_expired", async () => {
    const p = await createPartner();
    const iat = Math.ceil(Date.now() / 1000) + 301;
    await unauthorized(await signAndSend(p.credentials, WHOAMI, { claims: { iat } }), "signature_expired");
  });

  it("299 s in the past passes", async () => {
    const p = await createPartner();
    const iat = Math.ceil(Date.now() / 1000) - 299;
    await expectOk(await signAndSend(p.credentials, WHOAMI, { claims: { iat } }), p);
  });

  it("299 s in the future passes", async () => {
    const p = await createPartner();
    await expectOk(await signAndSend(p.credentials, WHOAMI, { claims: { iat: nowSeconds() + 299 } }), p);
  });
});

describe("htm, htu, bh and idk must match the request received", () => {
  it("htm: another method answers request_mismatch", async () => {
    const p = await createPartner();
    await unauthorized(await signAndSend(p.credentials, WHOAMI, { claims: { htm: "POST" } }), "request_mismatch");
  });

  it("htm: the method must be upper case", async () => {
    const p = await createPartner();
    await unauthorized(await signAndSend(p.credentials, WHOAMI, { claims: { htm: "get" } }), "request_mismatch");
  });

  it("htu: another path answers request_mismatch", async () => {
    const p = await createPartner();
    await unauthorized(await signAndSend(p.credentials, WHOAMI, { claims: { htu: "/v1/members/c-42" } }), "request_mismatch");
  });

  it("htu: a different query string answers request_mismatch", async () => {
    const p = await createPartner();
    const signed = { method: "GET", target: "/v1/partner?x=1" };
    await unauthorized(
      await send({ ...signed, sentTarget: "/v1/partner?x=2" }, await signFor(p.credentials, signed)),
      "request_mismatch",
    );
    await unauthorized(
      await send({ ...signed, sentTarget: "/v1/partner" }, await signFor(p.credentials, signed)),
      "request_mismatch",
    );
    await unauthorized(
      await send({ ...WHOAMI, sentTarget: "/v1/partner?x=1" }, await signFor(p.credentials, WHOAMI)),
      "request_mismatch",
    );
    await expectOk(await signAndSend(p.credentials, signed), p);
  });

  it("htu: carries no scheme or host", async () => {
    const p = await createPartner();
    await unauthorized(
      await signAndSend(p.credentials, WHOAMI, { claims: { htu: "https://exchange.test/v1/partner" } }),
      "request_mismatch",
    );
  });

  it("bh: a hash over different bytes answers request_mismatch", async () => {
    const p = await createPartner();
    const spec = postSpec('{"points":500}');
    const other = await correctClaims(p.credentials, { ...spec, body: '{"points":5000}' });
    await unauthorized(await signAndSend(p.credentials, spec, { claims: { bh: other.bh } }), "request_mismatch");
    await expectPassedAuth(await signAndSend(p.credentials, postSpec('{"points":500}')));
  });

  it("bh: the bytes are hashed as sent (whitespace counts)", async () => {
    const p = await createPartner();
    const spec = postSpec('{"points":500}');
    const token = await signFor(p.credentials, spec);
    await unauthorized(await send({ ...spec, body: '{"points": 500}' }, token), "request_mismatch");
  });

  it("bh: a request without a body hashes zero bytes", async () => {
    const p = await createPartner();
    const claims = await correctClaims(p.credentials, WHOAMI);
    expect(claims.bh).toBe("47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
    const overBraces = await correctClaims(p.credentials, { ...WHOAMI, body: "{}" });
    await unauthorized(await signAndSend(p.credentials, WHOAMI, { claims: { bh: overBraces.bh } }), "request_mismatch");
    await unauthorized(
      await signAndSend(p.credentials, WHOAMI, { claims: { bh: "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=" } }),
      "request_mismatch",
    );
  });

  it("idk: missing while the request carries an Idempotency-Key answers request_mismatch", async () => {
    const p = await createPartner();
    await unauthorized(await signAndSend(p.credentials, postSpec(), { claims: { idk: undefined } }), "request_mismatch");
    await expectPassedAuth(await signAndSend(p.credentials, postSpec()));
  });

  it("idk: different from the Idempotency-Key header answers request_mismatch", async () => {
    const p = await createPartner();
    await unauthorized(await signAndSend(p.credentials, postSpec(), { claims: { idk: "some-other-key" } }), "request_mismatch");
  });

  it("idk: present on a request without an Idempotency-Key answers request_mismatch", async () => {
    const p = await createPartner();
    await unauthorized(await signAndSend(p.credentials, WHOAMI, { claims: { idk: "idk-1" } }), "request_mismatch");
  });
});

describe("the partner's status", () => {
  it("a suspended partner answers 403 permission_error / partner_suspended; re-activated it works again", async () => {
    const p = await createPartner();
    await expectOk(await signAndSend(p.credentials, WHOAMI), p);
    await suspend(p);
    await expectError(await signAndSend(p.credentials, WHOAMI), 403, "permission_error", "partner_suspended");
    await expectError(await signAndSend(p.credentials, postSpec()), 403, "permission_error", "partner_suspended");
    await reactivate(p);
    await expectOk(await signAndSend(p.credentials, WHOAMI), p);
  });
});

describe("jti: never reused by a partner", () => {
  it("the same token sent twice answers replayed_request the second time", async () => {
    const p = await createPartner();
    const token = await signFor(p.credentials, WHOAMI);
    await expectOk(await send(WHOAMI, token), p);
    await unauthorized(await send(WHOAMI, token), "replayed_request");
  });

  it("a new signature reusing a jti answers replayed_request", async () => {
    const p = await createPartner();
    const jti = newJti();
    await expectOk(await signAndSend(p.credentials, WHOAMI, { claims: { jti } }), p);
    await unauthorized(await signAndSend(p.credentials, WHOAMI, { claims: { jti, iat: nowSeconds() - 5 } }), "replayed_request");
    await unauthorized(await signAndSend(p.credentials, postSpec(), { claims: { jti } }), "replayed_request");
  });

  it("20 simultaneous requests sharing one jti: exactly one passes, nineteen are replays", async () => {
    const p = await createPartner();
    const jti = newJti();
    const tokens = await Promise.all(
      Array.from({ length: 20 }, (_, i) => signFor(p.credentials, WHOAMI, { claims: { jti, iat: nowSeconds() - i } })),
    );
    const responses = await Promise.all(tokens.map((t) => send(WHOAMI, t)));
    const bodies = await Promise.all(responses.map(async (r) => ({ status: r.status, body: (await r.json()) as any })));
    expect(bodies.filter((b) => b.status === 200)).toHaveLength(1);
    const replays = bodies.filter((b) => b.status === 401 && b.body.error.code === "replayed_request");
    expect(replays).toHaveLength(19);
  });

  it("jtis are per partner: two partners may use the same jti", async () => {
    const a = await createPartner();
    const b = await createPartner();
    const jti = newJti();
    await expectOk(await signAndSend(a.credentials, WHOAMI, { claims: { jti } }), a);
    await expectOk(await signAndSend(b.credentials, WHOAMI, { claims: { jti } }), b);
  });

  it("a jti is shared by all the partner's keys", async () => {
    const p = await createPartner();
    const second = await addKey(p.id, `${p.id}-k2`);
    const jti = newJti();
    await expectOk(await signAndSend(p.credentials, WHOAMI, { claims: { jti } }), p);
    await unauthorized(await signAndSend(second, WHOAMI, { claims: { jti } }), "replayed_request");
  });

  const earlierFailures: [string, () => Promise<TamperOptions>, string][] = [
    ["wrong htm", async () => ({ claims: { htm: "DELETE" } }), "request_mismatch"],
    ["wrong htu", async () => ({ claims: { htu: "/v1/elsewhere" } }), "request_mismatch"],
    ["expired iat", async () => ({ claims: { iat: nowSeconds() - 400 } }), "signature_expired"],
    [
      "bad signature",
      async () => ({ signWith: { privateJwk: (await newKeyPair()).privateJwk, alg: "EdDSA" } }),
      "signature_invalid",
    ],
    ["unknown kid", async () => ({ header: { kid: "nope-kid" } }), "unknown_key"],
  ];

  it.each(earlierFailures)("a request that fails an earlier check (%s) does not burn its jti", async (_name, tamper, code) => {
    const p = await createPartner();
    const jti = newJti();
    const t = await tamper();
    await unauthorized(await signAndSend(p.credentials, WHOAMI, { ...t, claims: { ...t.claims, jti } }), code);
    await expectOk(await signAndSend(p.credentials, WHOAMI, { claims: { jti } }), p);
  });

  it("a suspended partner's request does not burn its jti", async () => {
    const p = await createPartner();
    const jti = newJti();
    await suspend(p);
    await expectError(
      await signAndSend(p.credentials, WHOAMI, { claims: { jti } }),
      403,
      "permission_error",
      "partner_suspended",
    );
    await reactivate(p);
    await expectOk(await signAndSend(p.credentials, WHOAMI, { claims: { jti } }), p);
  });
});

describe("the order of the checks: the first failing one answers", () => {
  it("a malformed token naming an unknown kid answers signature_malformed", async () => {
    const p = await createPartner();
    await unauthorized(
      await signAndSend(p.credentials, WHOAMI, { header: { kid: "nope-kid" }, claims: { htm: undefined } }),
      "signature_malformed",
    );
  });

  it("an unknown kid with a bad signature answers unknown_key", async () => {
    const p = await createPartner();
    const other = await newKeyPair();
    await unauthorized(
      await signAndSend(p.credentials, WHOAMI, {
        header: { kid: "nope-kid" },
        signWith: { privateJwk: other.privateJwk, alg: "EdDSA" },
      }),
      "unknown_key",
    );
  });

  it("an invalid signature from a suspended partner answers signature_invalid (nothing revealed about its state)", async () => {
    const p = await createPartner();
    await suspend(p);
    const other = await newKeyPair();
    await unauthorized(
      await signAndSend(p.credentials, WHOAMI, { signWith: { privateJwk: other.privateJwk, alg: "EdDSA" } }),
      "signature_invalid",
    );
  });

  it("an invalid signature reusing a seen jti answers signature_invalid (nothing revealed about the jti)", async () => {
    const p = await createPartner();
    const jti = newJti();
    await expectOk(await signAndSend(p.credentials, WHOAMI, { claims: { jti } }), p);
    const other = await newKeyPair();
    await unauthorized(
      await signAndSend(p.credentials, WHOAMI, { claims: { jti }, signWith: { privateJwk: other.privateJwk, alg: "EdDSA" } }),
      "signature_invalid",
    );
  });

  it("a revoked key with a bad signature answers unknown_key", async () => {
    const p = await createPartner();
    await expectOk(await signAndSend(p.credentials, WHOAMI), p);
    await revoke(p.id, p.credentials.kid);
    const other = await newKeyPair();
    await unauthorized(
      await signAndSend(p.credentials, WHOAMI, { signWith: { privateJwk: other.privateJwk, alg: "EdDSA" } }),
      "unknown_key",
    );
  });

  it("a bad signature with an expired iat answers signature_invalid", async () => {
    const p = await createPartner();
    const other = await newKeyPair();
    await unauthorized(
      await signAndSend(p.credentials, WHOAMI, {
        claims: { iat: nowSeconds() - 1000 },
        signWith: { privateJwk: other.privateJwk, alg: "EdDSA" },
      }),
      "signature_invalid",
    );
  });

  it("an expired iat with a mismatched htu answers signature_expired", async () => {
    const p = await createPartner();
    await unauthorized(
      await signAndSend(p.credentials, WHOAMI, { claims: { iat: nowSeconds() - 1000, htu: "/v1/other" } }),
      "signature_expired",
    );
  });

  it("a suspended partner's expired or mismatched request answers signature_expired / request_mismatch", async () => {
    const p = await createPartner();
    await suspend(p);
    await unauthorized(await signAndSend(p.credentials, WHOAMI, { claims: { iat: nowSeconds() - 1000 } }), "signature_expired");
    await unauthorized(await signAndSend(p.credentials, WHOAMI, { claims: { htm: "PUT" } }), "request_mismatch");
  });

  it("a suspended partner replaying a used jti answers partner_suspended (status before jti)", async () => {
    const p = await createPartner();
    const token = await signFor(p.credentials, WHOAMI);
    await expectOk(await send(WHOAMI, token), p);
    await suspend(p);
    await expectError(await send(WHOAMI, token), 403, "permission_error", "partner_suspended");
  });
});

describe("key rotation and revocation", () => {
  it("a partner may hold several active keys: both work", async () => {
    const p = await createPartner();
    const second = await addKey(p.id, `${p.id}-k2`, "ES256");
    await expectOk(await signAndSend(p.credentials, WHOAMI), p, p.credentials.kid);
    await expectOk(await signAndSend(second, WHOAMI), p, second.kid);
  });

  it("revoking one fails it at once while the other still works", async () => {
    const p = await createPartner();
    const second = await addKey(p.id, `${p.id}-k2`);
    await expectOk(await signAndSend(p.credentials, WHOAMI), p);
    await expectOk(await signAndSend(second, WHOAMI), p);
    await revoke(p.id, p.credentials.kid);
    await unauthorized(await signAndSend(p.credentials, WHOAMI), "unknown_key");
    await expectOk(await signAndSend(second, WHOAMI), p, second.kid);
  });

  it("a revoked kid answers unknown_key immediately, even though it was used (and cached) just before", async () => {
    const p = await createPartner();
    await expectOk(await signAndSend(p.credentials, WHOAMI), p);
    const signedBefore = await signFor(p.credentials, WHOAMI);
    await revoke(p.id, p.credentials.kid);
    await unauthorized(await send(WHOAMI, signedBefore), "unknown_key");
    await unauthorized(await signAndSend(p.credentials, WHOAMI), "unknown_key");
    await unauthorized(await signAndSend(p.credentials, postSpec()), "unknown_key");
  });

  it("a revocation written by another isolate (this one's key cache not told) still takes effect at once", async () => {
    const p = await createPartner();
    await expectOk(await signAndSend(p.credentials, WHOAMI), p);
    // What another isolate's DELETE does to D1; this isolate's key cache still holds the key.
    await env.DB.prepare("UPDATE partner_keys SET revoked_at = ?3 WHERE partner_id = ?1 AND kid = ?2")
      .bind(p.id, p.credentials.kid, Date.now())
      .run();
    await unauthorized(await signAndSend(p.credentials, WHOAMI), "unknown_key");
    const other = await newKeyPair();
    await unauthorized(
      await signAndSend(p.credentials, WHOAMI, { signWith: { privateJwk: other.privateJwk, alg: "EdDSA" } }),
      "unknown_key",
    );
    await unauthorized(await signAndSend(p.credentials, WHOAMI, { claims: { htm: "PUT" } }), "unknown_key");
  });

  it("a request with a key revoked by another isolate (still cached here) does not burn its jti", async () => {
    const p = await createPartner();
    const second = await addKey(p.id, `${p.id}-k2`);
    await expectOk(await signAndSend(p.credentials, WHOAMI), p);
    await env.DB.prepare("UPDATE partner_keys SET revoked_at = ?3 WHERE partner_id = ?1 AND kid = ?2")
      .bind(p.id, p.credentials.kid, Date.now())
      .run();
    const jti = newJti();
    await unauthorized(await signAndSend(p.credentials, WHOAMI, { claims: { jti } }), "unknown_key");
    await expectOk(await signAndSend(second, WHOAMI, { claims: { jti } }), p, second.kid);
  });

  it("a revoked key's jti is not burned", async () => {
    const p = await createPartner();
    const second = await addKey(p.id, `${p.id}-k2`);
    const jti = newJti();
    await revoke(p.id, p.credentials.kid);
    await unauthorized(await signAndSend(p.credentials, WHOAMI, { claims: { jti } }), "unknown_key");
    await expectOk(await signAndSend(second, WHOAMI, { claims: { jti } }), p);
  });
});

describe("a correctly signed request", () => {
  it("signed by the shipped client passes, GET and POST", async () => {
    const p = await createPartner();
    const r = await p.client.get<{ partner: { id: string } }>("/v1/partner");
    expect(r.status).toBe(200);
    expect(await statusOf(await signAndSend(p.credentials, postSpec()))).toBe(404);
    const direct = await signJws(
      { alg: "EdDSA", kid: p.credentials.kid, typ: "coalition-request+jwt" },
      await correctClaims(p.credentials, WHOAMI),
      p.credentials,
    );
    await expectOk(await send(WHOAMI, direct), p);
  });
});
