import { env } from "cloudflare:workers";
import fc from "fast-check";
import { base64url, importJWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newJti, type PartnerCredentials, SIGNATURE_TYP, sha256Base64url } from "../../packages/partner-sdk/src/index";
import { BASE_URL, createPartner, type TestPartner } from "../support/exchange";
import {
  type ApiDoc,
  asHeaderValue,
  baseBodies,
  bodyArb,
  checkEach,
  type Endpoint,
  endpointsOf,
  expectContractAnswer,
  type FuzzWorld,
  fuzzWorld,
  loadApiDoc,
  pathArb,
  send,
  validQuery,
} from "../support/fuzz";
import { checkInvariants } from "../support/invariants";
import { changedTables, DigestCache } from "../support/row-counts";

/**
 * Signatures over the wrong bytes (issue 6, item 2; partner-api.md §2): a real partner key signs
 * a request to any /v1 endpoint of /openapi.json, and then what is sent differs from what was
 * signed — another body (bh), another query or path (htu), method (htm) or Idempotency-Key
 * (idk) — or the JWS itself is off: expired iat, claims missing or of the wrong type, an unknown
 * kid, another partner's key, a wrong typ or alg, flipped bits, garbage, two headers.
 * Properties: a 401 authentication_error (413 when the body is over the limit, which is refused
 * before the signature is read), the code the §2 order names; NOTHING written — no row in any
 * table, no jti in request_nonces, no idempotency record — and the jti is still unused: the same
 * jti on a correct request afterwards is accepted. Would fail if: a claim were not compared
 * (a request_mismatch became a 2xx and a write), the jti were stored before every other check
 * passed (the follow-up answers replayed_request), or a parse error escaped as a 500.
 */

let doc: ApiDoc;
let endpoints: Endpoint[];
let world: FuzzWorld;
let stranger: TestPartner;
/**
 * Every table but request_nonces (the follow-up that proves the jti unused stores its jti); the
 * rejected request's own jti is looked up, and the nonce count compared, apart.
 */
const digests = new DigestCache(["request_nonces"]);

beforeAll(async () => {
  world = await fuzzWorld();
  stranger = await createPartner();
  doc = await loadApiDoc();
  endpoints = endpointsOf(doc).filter((e) => e.auth === "partner");
});

afterAll(async () => {
  await checkInvariants();
});

const utf8 = (s: string) => new TextEncoder().encode(s);

interface Signed {
  method: string;
  target: string;
  body: Uint8Array;
  idk: string | undefined;
}

/** How the request sent differs from the request signed, or how the JWS is broken. */
type Tamper =
  | { kind: "body"; bytes: Uint8Array; label: string }
  | { kind: "target"; signed: string; sent: string }
  | { kind: "method"; signed: string }
  | { kind: "idk"; signed: string | undefined; sent: string | undefined }
  | { kind: "iat"; offset: number }
  | { kind: "claim"; name: string; value: unknown }
  | { kind: "header"; name: string; value: unknown }
  | { kind: "foreign-key" }
  | { kind: "stranger-iss" }
  | { kind: "bitflip"; part: 0 | 1 | 2; at: number }
  | { kind: "raw"; value: string }
  | { kind: "twice" };

/** The §2 code each tamper must answer (undefined: any authentication_error). */
function expectedCode(t: Tamper): string | string[] | undefined {
  switch (t.kind) {
    case "body":
    case "target":
    case "method":
    case "idk":
      return "request_mismatch";
    case "iat":
      return "signature_expired";
    case "foreign-key":
      return "signature_invalid";
    case "stranger-iss":
      return "unknown_key";
    case "claim":
      return "signature_malformed";
    case "header":
      return t.name === "kid" && typeof t.value === "string" && t.value.length > 0
        ? "unknown_key"
        : ["signature_malformed", "signature_invalid"];
    case "bitflip":
      return ["signature_malformed", "signature_invalid", "unknown_key"];
    case "raw":
    case "twice":
      return ["signature_missing", "signature_malformed"];
  }
}

function tamperArb(ep: Endpoint, target: string, base: Uint8Array, idk: string | undefined): fc.Arbitrary<Tamper> {
  const withBody = ep.method !== "GET" && ep.method !== "HEAD";
  const [path, query = ""] = target.split("?");
  const targets = fc.constantFrom<[string, string]>(
    [target, `${path}?x=1`],
    [target, `${target}${query ? "&" : "?"}extra=1`],
    [`${target}${query ? "&" : "?"}extra=1`, target],
    [target, `${path}?`],
    [target, `${path}/`],
    [target, `/v1${(path ?? "").slice(3).toUpperCase()}${query ? `?${query}` : ""}`],
    [`${path}?a=1&b=2`, `${path}?b=2&a=1`],
    [`${path}?a=%41`, `${path}?a=A`],
    [`https://exchange.test${target}`, target],
    [target.replace(/^\/v1/, "/v1/."), target],
  );
  const options: fc.Arbitrary<Tamper>[] = [
    targets.filter(([a, b]) => a !== b).map(([signed, sent]) => ({ kind: "target" as const, signed, sent })),
    fc
      .constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "get", "post")
      .filter((m) => m !== ep.method)
      .map((signed) => ({ kind: "method" as const, signed })),
    fc
      .constantFrom<[string | undefined, string | undefined]>(
        [idk, idk === undefined ? "idk_sent" : `${idk}x`],
        [idk === undefined ? "idk_signed" : `${idk}x`, idk],
        [undefined, "idk_only_sent"],
        ["idk_only_signed", undefined],
        ["IDK_A", "idk_a"],
      )
      .filter(([a, b]) => a !== b)
      .map(([signed, sent]) => ({ kind: "idk" as const, signed, sent })),
    fc
      .oneof(fc.integer({ min: 301, max: 10_000_000 }), fc.integer({ min: -10_000_000, max: -301 }))
      .map((offset) => ({ kind: "iat" as const, offset })),
    fc
      .oneof(
        fc.constantFrom("iss", "iat", "jti", "htm", "htu", "bh").map((name) => ({ name, value: undefined })),
        fc.constantFrom(
          { name: "iat", value: "1700000000" },
          { name: "iat", value: 1.5 },
          { name: "iat", value: 1e300 },
          { name: "iat", value: null },
          { name: "jti", value: "x".repeat(15) },
          { name: "jti", value: "x".repeat(129) },
          { name: "jti", value: 1234567890123456 },
          { name: "htm", value: 1 },
          { name: "htu", value: ["/v1"] },
          { name: "bh", value: null },
          { name: "idk", value: 5 },
          { name: "iss", value: "" },
          { name: "iss", value: 42 },
        ),
      )
      .map(({ name, value }) => ({ kind: "claim" as const, name, value })),
    fc
      .constantFrom(
        { name: "typ", value: undefined },
        { name: "typ", value: "JWT" },
        { name: "typ", value: "coalition-request+JWT" },
        { name: "alg", value: "none" },
        { name: "alg", value: "HS256" },
        { name: "alg", value: "ES256" },
        { name: "alg", value: "RS256" },
        { name: "kid", value: undefined },
        { name: "kid", value: "" },
        { name: "kid", value: 7 },
        { name: "kid", value: "no-such-kid" },
        { name: "kid", value: "../k1" },
      )
      .map(({ name, value }) => ({ kind: "header" as const, name, value })),
    fc.constant({ kind: "foreign-key" as const }),
    fc.constant({ kind: "stranger-iss" as const }),
    fc
      .tuple(fc.constantFrom<0 | 1 | 2>(0, 1, 2), fc.nat({ max: 400 }))
      .map(([part, at]) => ({ kind: "bitflip" as const, part, at })),
    fc
      .oneof(
        fc.constantFrom("", " ", "a", "a.b", "a.b.c", "a.b.c.d", "..", "...", "Bearer x.y.z", `${"A".repeat(8_193)}.b.c`),
        fc.string({ unit: "binary-ascii", maxLength: 200 }).map(asHeaderValue),
        fc
          .tuple(fc.jsonValue(), fc.jsonValue())
          .map(([h, p]) => `${base64url.encode(JSON.stringify(h))}.${base64url.encode(JSON.stringify(p))}.sig`),
      )
      .map((value) => ({ kind: "raw" as const, value })),
    fc.constant({ kind: "twice" as const }),
  ];
  if (withBody) {
    options.push(
      bodyArb(JSON.parse(new TextDecoder().decode(base)))
        .filter((b) => b.bytes !== undefined && !equalBytes(b.bytes, base))
        .map((b) => ({ kind: "body" as const, bytes: b.bytes as Uint8Array, label: b.label })),
    );
  } else {
    // A GET carries no body: sign the hash of bytes that were never sent.
    options.push(
      fc.uint8Array({ minLength: 1, maxLength: 20 }).map((bytes) => ({ kind: "body" as const, bytes, label: "signed only" })),
    );
  }
  return fc.oneof(...options);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function describeTamper(t: Tamper): string {
  const text = JSON.stringify(t, (_k, v) => (v instanceof Uint8Array ? `<${v.length} bytes>` : v === undefined ? "(absent)" : v));
  return text.length > 300 ? `${text.slice(0, 297)}…` : text;
}

/** Builds the tampered request; `jti` is the one the JWS carries. */
async function tamperedRequest(request: Signed, t: Tamper, jti: string): Promise<Request> {
  const creds = world.partner.credentials;
  const signed: Signed = { ...request };
  let sentBody = request.body;
  let sentTarget = request.target;
  let sentIdk = request.idk;
  if (t.kind === "body") {
    if (request.method === "GET" || request.method === "HEAD") signed.body = t.bytes;
    else sentBody = t.bytes;
  }
  if (t.kind === "target") {
    signed.target = t.signed;
    sentTarget = t.sent;
  }
  if (t.kind === "method") signed.method = t.signed;
  if (t.kind === "idk") {
    signed.idk = t.signed;
    sentIdk = t.sent;
  }
  const claims: Record<string, unknown> = {
    iss: t.kind === "stranger-iss" ? stranger.id : creds.partnerId,
    iat: Math.floor(Date.now() / 1000) + (t.kind === "iat" ? t.offset : 0),
    jti,
    htm: signed.method,
    htu: signed.target,
    bh: await sha256Base64url(signed.body),
  };
  if (signed.idk !== undefined) claims.idk = signed.idk;
  const header: Record<string, unknown> = { alg: creds.alg, kid: creds.kid, typ: SIGNATURE_TYP };
  if (t.kind === "claim") {
    if (t.value === undefined) delete claims[t.name];
    else claims[t.name] = t.value;
  }
  if (t.kind === "header") {
    if (t.value === undefined) delete header[t.name];
    else header[t.name] = t.value;
  }
  const key = t.kind === "foreign-key" ? world.other.credentials : creds;
  let signature = await signRaw(header, claims, key);
  if (t.kind === "bitflip") {
    const parts = signature.split(".");
    const part = parts[t.part] ?? "";
    const at = t.at % Math.max(1, part.length);
    const flipped = part[at] === "A" ? "B" : "A";
    parts[t.part] = part.slice(0, at) + flipped + part.slice(at + 1);
    signature = parts.join(".");
  }
  if (t.kind === "raw") signature = t.value;
  const headers = new Headers();
  headers.set("Coalition-Signature", signature);
  if (t.kind === "twice") headers.append("Coalition-Signature", signature);
  if (sentIdk !== undefined) headers.set("Idempotency-Key", sentIdk);
  const withBody = request.method !== "GET" && request.method !== "HEAD";
  if (withBody) headers.set("Content-Type", "application/json");
  return new Request(BASE_URL + sentTarget, { method: request.method, headers, ...(withBody ? { body: sentBody } : {}) });
}

/**
 * A compact JWS over exactly this header and these claims, signed with the partner's real key
 * whatever the header says (jose refuses to sign under a header naming another alg).
 */
async function signRaw(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  creds: PartnerCredentials,
): Promise<string> {
  const input = `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(claims))}`;
  const key = (await importJWK(creds.privateJwk, creds.alg)) as CryptoKey;
  const algorithm = creds.alg === "EdDSA" ? { name: "Ed25519" } : { name: "ECDSA", hash: "SHA-256" };
  const signature = new Uint8Array(await crypto.subtle.sign(algorithm, key, utf8(input)));
  return `${input}.${base64url.encode(signature)}`;
}

async function nonceCount(): Promise<number> {
  return (await env.DB.prepare("SELECT COUNT(*) AS n FROM request_nonces").first<{ n: number }>())?.n ?? 0;
}

async function jtiStored(jti: string): Promise<boolean> {
  return (await env.DB.prepare("SELECT 1 FROM request_nonces WHERE jti = ?1").bind(jti).first()) !== null;
}

/** The same jti on a correct request is accepted: it was not burned by the rejected one. */
async function expectJtiUnused(jti: string): Promise<void> {
  const claims = {
    iss: world.partner.id,
    iat: Math.floor(Date.now() / 1000),
    jti,
    htm: "GET",
    htu: "/v1/partner",
    bh: await sha256Base64url(new Uint8Array()),
  };
  const creds = world.partner.credentials;
  const signature = await signRaw({ alg: creds.alg, kid: creds.kid, typ: SIGNATURE_TYP }, claims, creds);
  const answer = await send(new Request(`${BASE_URL}/v1/partner`, { headers: { "Coalition-Signature": signature } }));
  expect(answer.status, `the jti ${jti} was burned by a rejected request: ${answer.text}`).toBe(200);
}

/** One tampered request: a 401 (or 413), nothing written, its jti neither stored nor burned. */
async function checkTampered(r: Signed, t: Tamper): Promise<void> {
  const jti = newJti();
  const request = await tamperedRequest(r, t, jti);
  const before = await digests.current();
  const nonces = await nonceCount();
  const answer = await send(request);
  const context = `${r.method} ${r.target} tampered ${describeTamper(t)}`;
  expectContractAnswer(answer, r.method, context);
  const where = `${context}\n→ ${answer.status} ${answer.text}`;
  if (answer.status === 413) {
    expect(t.kind, where).toBe("body");
  } else {
    expect(answer.status, where).toBe(401);
    expect(answer.json.error.type, where).toBe("authentication_error");
    const code = expectedCode(t);
    if (code !== undefined) expect([code].flat(), where).toContain(answer.json.error.code);
  }
  expect(changedTables(before, await digests.fresh()), `rows written by ${where}`).toEqual([]);
  expect(await jtiStored(jti), `jti stored by ${where}`).toBe(false);
  expect(await nonceCount(), `request_nonces rows added by ${where}`).toBe(nonces);
  await expectJtiUnused(jti);
}

describe("fuzz: signatures over the wrong bytes", () => {
  it("every /v1 endpoint: a tampered request is a 401 that writes nothing and does not burn its jti", async () => {
    expect(endpoints.length).toBeGreaterThanOrEqual(10);
    const validPools = Object.fromEntries(Object.entries(world.partnerTargets.pools).map(([k, v]) => [k, v.slice(0, 1)]));
    await checkEach(
      endpoints,
      (ep) => `${ep.method} ${ep.path}`,
      (ep) => {
        const bodies = baseBodies(ep, doc, world.partnerTargets).map((b) => utf8(JSON.stringify(b)));
        const requestArb = fc
          .tuple(pathArb(ep.path, validPools, { junk: false }), fc.constantFrom(...bodies))
          .map(([path, body]) => ({
            method: ep.method,
            target: path + validQuery(ep.query, world.partnerTargets.query),
            body: ep.method === "GET" ? new Uint8Array() : body,
            idk: ep.method === "POST" ? `idk_${newJti()}` : undefined,
          }));
        return fc.asyncProperty(
          requestArb.chain((r) => tamperArb(ep, r.target, r.body, r.idk).map((t) => ({ r, t }))),
          async ({ r, t }) => {
            try {
              await checkTampered(r, t);
            } catch (error) {
              digests.invalidate(); // a failed run may have written: read the tables again
              throw error;
            }
          },
        );
      },
      () => 12,
    );
  });
});
