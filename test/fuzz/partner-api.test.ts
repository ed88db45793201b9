import { env } from "cloudflare:workers";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newJti } from "../../packages/partner-sdk/src/index";
import {
  type Answer,
  type ApiDoc,
  buildRequest,
  checkEach,
  describeRequest,
  type Endpoint,
  endpointRequestArb,
  endpointsOf,
  expectContractAnswer,
  type FuzzRequest,
  type FuzzWorld,
  fuzzParameters,
  fuzzWorld,
  HTTP_METHODS,
  loadApiDoc,
  MAX_BODY,
  partnerSigner,
  printable,
  send,
  unknownPathArb,
} from "../support/fuzz";
import { expectStrictRefusal, STRICT_KINDS, strictRequestArb } from "../support/fuzz-strict";
import { checkInvariants } from "../support/invariants";
import { CONTEXT, earn, enrol, expectOk } from "../support/ledger";
import { changedTables, DigestCache } from "../support/row-counts";

/**
 * Fuzzing behind the signature (issue 6, item 2): every /v1 endpoint of /openapi.json (and
 * unknown paths and methods under /v1) gets requests that are CORRECTLY signed over exactly the
 * bytes, target and Idempotency-Key sent, so the fuzzed body, query, path and headers reach the
 * validation and business code. Properties, per request:
 *  - never a 5xx; every error in the contract shape, type matching the status (§1, §8);
 *  - a rejected request (non-2xx) changes no row of any table, except precisely:
 *    · request_nonces gets this request's jti exactly when the signature passed (any answer
 *      but 401/403), and never otherwise;
 *    · idempotency_keys gets a row only for a POST whose business outcome is stored (404/409/422,
 *      §3), in state `done` with exactly the status and bytes answered; never for a validation
 *      failure (400/413/415), an auth failure, a routing 404, or a non-POST;
 *    · a `risk_declined` may record the decline for the operator (tables named risk/decline);
 *  - (no claim is ever left behind: a record is written only by the batch that answers, src/http/runner.ts).
 * Would fail if: validation ran after the idempotency claim without releasing it (row left or
 * in_flight), a 400 were stored, an error escaped as a 500 (e.g. an unchecked BigInt/RangeError on
 * a huge number), or a handler wrote before validating.
 */

const NONCES = "request_nonces";
const IDEMPOTENCY = "idempotency_keys";

let doc: ApiDoc;
let endpoints: Endpoint[];
let world: FuzzWorld;
/** Every table but these two, which an accepted signature legitimately touches (checked apart). */
const digests = new DigestCache([NONCES, IDEMPOTENCY]);

beforeAll(async () => {
  world = await fuzzWorld();
  doc = await loadApiDoc();
  endpoints = endpointsOf(doc).filter((e) => e.auth === "partner");
});

afterAll(async () => {
  await checkInvariants();
});

async function first<T>(sql: string, ...binds: unknown[]): Promise<T | null> {
  return env.DB.prepare(sql)
    .bind(...binds)
    .first<T>();
}

/** Rows of request_nonces and idempotency_keys, and whether this key has a record, in one round trip. */
async function counts(idk: string | undefined): Promise<{ nonces: number; keys: number; hadKey: boolean }> {
  const [nonces, keys, had] = await env.DB.batch<{ n: number }>([
    env.DB.prepare("SELECT COUNT(*) AS n FROM request_nonces"),
    env.DB.prepare("SELECT COUNT(*) AS n FROM idempotency_keys"),
    env.DB.prepare("SELECT COUNT(*) AS n FROM idempotency_keys WHERE scope = ?1 AND key = ?2").bind(
      world.partner.id,
      idk ?? null,
    ),
  ]);
  return { nonces: nonces?.results[0]?.n ?? 0, keys: keys?.results[0]?.n ?? 0, hadKey: (had?.results[0]?.n ?? 0) > 0 };
}

/** Codes under which the idempotency layer was never reached or must not store. */
const NEVER_STORED = new Set(["not_found", "idempotency_key_missing", "idempotency_key_reused", "idempotency_key_in_use"]);

async function checkSigned(request: FuzzRequest): Promise<Answer | undefined> {
  try {
    return await checkSignedOnce(request);
  } catch (error) {
    digests.invalidate();
    throw error;
  }
}

async function checkSignedOnce(request: FuzzRequest): Promise<Answer | undefined> {
  const jti = newJti();
  let idk: string | undefined;
  const signer = partnerSigner(world.partner.credentials, jti);
  const req = await buildRequest(request, async (seen) => {
    idk = seen.idempotencyKey;
    return signer(seen);
  });
  fc.pre(req !== undefined);
  if (!req) return undefined;
  const before = await digests.current();
  const counted = await counts(idk);

  const answer = await send(req);
  const context = describeRequest(request);
  const where = `${context}\n→ ${answer.status} ${answer.text.slice(0, 300)}`;
  expectContractAnswer(answer, request.method, context);

  // The signature is checked for paths under /v1 (as the URL parser normalised them: /v1/%2e%2e
  // is /), after the body is read (413 comes first) and before anything else.
  const path = new URL(req.url).pathname;
  const underV1 = path === "/v1" || path.startsWith("/v1/");
  const authFailed = !underV1 || answer.status === 401 || answer.status === 403 || answer.status === 413;
  const nonce = await first("SELECT 1 AS x FROM request_nonces WHERE partner_id = ?1 AND jti = ?2", world.partner.id, jti);
  expect(nonce !== null, `jti stored iff the signature was checked and passed: ${where}`).toBe(!authFailed);
  const after = await counts(idk);
  expect(after.nonces - counted.nonces, `request_nonces rows added by ${where}`).toBe(authFailed ? 0 : 1);

  if (answer.status < 400) {
    digests.invalidate(); // accepted: it may write
    return answer;
  }

  const code: string = answer.json?.error?.code ?? "";
  const allowed = answer.json?.error?.type === "risk_declined" ? /risk|decline/ : /^$/;
  const changed = changedTables(before, await digests.fresh()).filter((t) => !allowed.test(t));
  expect(changed, `rows written by a rejected request: ${where}`).toEqual([]);

  const keysAfter = after.keys;
  const keysBefore = counted.keys;
  const mayStore =
    request.method === "POST" && [404, 409, 422].includes(answer.status) && !NEVER_STORED.has(code) && !counted.hadKey;
  if (!mayStore) {
    expect(keysAfter - keysBefore, `idempotency record stored for ${where}`).toBe(0);
  } else {
    // A stored business outcome replays exactly what was answered (§3).
    const row = await first<{ response_status: number; response_body: string }>(
      "SELECT response_status, response_body FROM idempotency_keys WHERE scope = ?1 AND key = ?2",
      world.partner.id,
      idk,
    );
    expect(keysAfter - keysBefore, `idempotency rows for ${where}`).toBe(row ? 1 : 0);
    if (row) expect(row, where).toEqual({ response_status: answer.status, response_body: answer.text });
  }
  return answer;
}

describe("fuzz: signed partner requests", () => {
  it("every /v1 endpoint: fuzzed bodies, headers, query strings and path segments behind a valid signature", async () => {
    expect(endpoints.length).toBeGreaterThanOrEqual(10);
    const statuses: Record<string, number> = {};
    await checkEach(
      endpoints,
      (ep) => `${ep.method} ${ep.path}`,
      (ep) =>
        fc.asyncProperty(endpointRequestArb(ep, doc, world.partnerTargets), async (request) => {
          const answer = await checkSigned(request);
          if (answer) statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
          // A correct signature fails only when it cannot be carried: an idk of ~10 kB makes the
          // JWS longer than the 8 KiB the server reads (signature_malformed).
          if (answer?.status === 401) {
            expect(answer.json.error.code, describeRequest(request)).toBe("signature_malformed");
            expect((request.idempotencyKey ?? []).join(", ").length, describeRequest(request)).toBeGreaterThan(5_000);
          }
        }),
      (ep) => (ep.method === "GET" ? 10 : 30),
    );
    // The fuzz reached past the signature: mostly validation failures, some successes.
    expect(statuses[400] ?? 0).toBeGreaterThan(50);
    expect(Object.keys(statuses).some((s) => Number(s) >= 200 && Number(s) < 300)).toBe(true);
  });

  it("every /v1 endpoint with a body: strict-JSON violations, signed, answer 400 invalid_body and write nothing but the jti", async () => {
    // Invalid UTF-8, a BOM, duplicate members (any depth, escaped spellings), lone surrogates,
    // NUL, lossy integers, __proto__, deep nesting, a non-UTF-8 charset, each in an otherwise valid
    // body (support/fuzz-strict.ts); checkSigned asserts the jti is stored and no key is.
    const withBody = endpoints.filter((e) => e.body);
    expect(withBody.length).toBeGreaterThanOrEqual(7);
    const kinds = new Set<string>();
    await checkEach(
      withBody,
      (ep) => `${ep.method} ${ep.path}`,
      (ep) =>
        fc.asyncProperty(strictRequestArb(ep, doc, world.partnerTargets), async ({ request, expected }) => {
          const answer = await checkSigned(request);
          fc.pre(answer !== undefined);
          if (answer) expectStrictRefusal(answer, expected, describeRequest(request));
          kinds.add(expected.kind);
        }),
      () => 25,
    );
    expect([...kinds].sort()).toEqual(STRICT_KINDS);
  });

  it("unknown paths and methods under /v1, signed: no 5xx, the jti stored, nothing else written", async () => {
    const served = new Set(endpoints.map((e) => `${e.method} ${e.path}`));
    const wrongMethod = fc
      .tuple(fc.constantFrom(...endpoints), fc.constantFrom(...HTTP_METHODS))
      .filter(([ep, m]) => !served.has(`${m} ${ep.path}`))
      .chain(([ep, m]) => endpointRequestArb(ep, doc, world.partnerTargets, m));
    const unknown = fc
      .tuple(
        unknownPathArb.filter((p) => p.startsWith("/v1/")),
        fc.constantFrom(...HTTP_METHODS),
      )
      .map(([path, method]) =>
        printable({
          method,
          target: path,
          ...(method === "GET" || method === "HEAD" ? {} : { body: { bytes: new TextEncoder().encode("{}"), label: "{}" } }),
          contentType: ["application/json"],
          ...(method === "POST" ? { idempotencyKey: [`idk_${newJti()}`] } : {}),
        }),
      );
    await fc.assert(
      fc.asyncProperty(fc.oneof(wrongMethod, unknown), async (request) => {
        await checkSigned(request);
      }),
      fuzzParameters(60),
    );
  });

  it("bodies at the 64 KiB limit: exactly 64 KiB reaches validation, one byte more is 413", async () => {
    const base = JSON.stringify({ member_ref: world.ref, points: 1, context: CONTEXT });
    const pad = (n: number) => new TextEncoder().encode(base + " ".repeat(n - base.length));
    for (const [size, status] of [
      [MAX_BODY, 201],
      [MAX_BODY + 1, 413],
      [4 * MAX_BODY, 413],
    ] as const) {
      const answer = await checkSigned({
        method: "POST",
        target: "/v1/earn",
        body: { bytes: pad(size), label: `padded to ${size}` },
        contentType: ["application/json"],
        idempotencyKey: [`idk_${newJti()}`],
      });
      expect(answer?.status, `${size} bytes: ${answer?.text}`).toBe(status);
      if (status === 413) expect(answer?.json.error).toMatchObject({ type: "invalid_request", code: "body_too_large" });
    }
  });

  it("a validation failure stores no key: the corrected retry with the same key succeeds", async () => {
    const key = `idk_${newJti()}`;
    const bad = await checkSigned({
      method: "POST",
      target: "/v1/earn",
      body: {
        bytes: new TextEncoder().encode(JSON.stringify({ member_ref: world.ref, points: 1.5, context: CONTEXT })),
        label: "1.5",
      },
      contentType: ["application/json"],
      idempotencyKey: [key],
    });
    expect(bad?.status).toBe(400);
    const good = await checkSigned({
      method: "POST",
      target: "/v1/earn",
      body: {
        bytes: new TextEncoder().encode(JSON.stringify({ member_ref: world.ref, points: 2, context: CONTEXT })),
        label: "2",
      },
      contentType: ["application/json"],
      idempotencyKey: [key],
    });
    expect(good?.status, good?.text).toBe(201);
  });

  it("a 400 raised inside the handler (capture more than held) stores no key: the corrected retry succeeds", async () => {
    // The fuzz reaches this path only when it draws an open hold and a too-large points value;
    // here it is certain. Would fail if isStoredOutcome (src/http/errors.ts) stored 400s.
    const member = await enrol(world.partner);
    expectOk(await earn(world.partner, member.ref, 5));
    const hold = await world.partner.client.post<{ transaction: { id: string } }>("/v1/burns", {
      member_ref: member.ref,
      points: 5,
      capture: false,
      context: CONTEXT,
    });
    expect(hold.status, hold.text).toBe(201);
    const id = hold.ok ? hold.data.transaction.id : "";
    const key = `idk_${newJti()}`;
    const capture = (points: number) =>
      checkSigned(
        printable({
          method: "POST",
          target: `/v1/burns/${id}/capture`,
          body: { bytes: new TextEncoder().encode(JSON.stringify({ points })), label: `points ${points}` },
          contentType: ["application/json"],
          idempotencyKey: [key],
        }),
      );
    const tooMany = await capture(6);
    expect(tooMany?.status, tooMany?.text).toBe(400);
    const corrected = await capture(5);
    expect(corrected?.status, corrected?.text).toBe(200);
  });

  // Regression (fixed): a correctly signed request to the literal path /v1/* answered 401 replayed_request
  // ("this jti was already used") instead of 404 not_found: the partner-signature middleware runs
  // twice for that one path (the router matches it both as the middleware's own "/v1/*" pattern
  // and as a request path), and the second run finds the jti the first one stored. Found by the
  // unknown-path fuzz above (which fails on it too when it draws "*"). Asserts the correct answer.
  it("GET and POST /v1/* signed correctly: 404 not_found, not replayed_request", async () => {
    for (const method of ["GET", "POST"]) {
      const answer = await checkSigned(
        printable({
          method,
          target: "/v1/*",
          ...(method === "POST" ? { body: { bytes: new TextEncoder().encode("{}"), label: "{}" } } : {}),
          contentType: ["application/json"],
          ...(method === "POST" ? { idempotencyKey: [`idk_${newJti()}`] } : {}),
        }),
      );
      expect(answer?.json?.error?.code, answer?.text).toBe("not_found");
    }
  });
});
