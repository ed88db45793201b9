import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { newKeyPair, operatorToken } from "../support/exchange";
import {
  type ApiDoc,
  asHeaderValue,
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
  junkSegment,
  loadApiDoc,
  printable,
  send,
  unknownPathArb,
  weirdString,
} from "../support/fuzz";
import { checkInvariants } from "../support/invariants";
import { changedTables, DigestCache } from "../support/row-counts";

/**
 * Fuzzing without valid credentials (issue 6, item 2): every endpoint /openapi.json lists, with
 * its own and every other method, plus paths no route serves, with fuzzed bodies, headers, query
 * strings and path segments, and no signature, a garbage signature, a garbage or insufficient
 * operator token. Properties: never a 5xx; every error in the contract's shape with the type its
 * status calls for; and NOTHING written — not a row in any table, request_nonces and
 * idempotency_keys included (a request that fails authentication stores neither its jti nor its
 * key). Would fail if: a route skipped its auth middleware (2xx and rows), the signature check
 * stored the jti before verifying, onError leaked a 500 for a client mistake.
 */

let doc: ApiDoc;
let endpoints: Endpoint[];
let world: FuzzWorld;
let readToken: string;
let wrongKeyToken: string;
let expiredToken: string;
/** Nothing may write here, so one reading of the tables serves as the "before" of the next request. */
const digests = new DigestCache();

beforeAll(async () => {
  world = await fuzzWorld();
  doc = await loadApiDoc();
  endpoints = endpointsOf(doc);
  readToken = await operatorToken({ scope: "read" });
  const { privateJwk } = await newKeyPair();
  wrongKeyToken = await operatorToken({ privateJwk: { ...privateJwk, kid: "op-test-1" } });
  const past = Math.floor(Date.now() / 1000) - 7200;
  expiredToken = await operatorToken({ iat: past, exp: past + 600 });
});

/** Credentials that must not authenticate a write (a read-scope token may read). */
function badAuthArb(): fc.Arbitrary<[string, string][]> {
  return fc.oneof(
    fc.constant([] as [string, string][]),
    fc.constantFrom<[string, string][]>(
      [["Coalition-Signature", ""]],
      [["Coalition-Signature", "a.b.c"]],
      [["Coalition-Signature", "..."]],
      [["Coalition-Signature", "eyJhbGciOiJub25lIn0.e30."]],
      [["Coalition-Signature", `${"A".repeat(9000)}.B.C`]],
      [["Authorization", ""]],
      [["Authorization", "Bearer"]],
      [["Authorization", "Bearer "]],
      [["Authorization", "Basic dXNlcjpwYXNz"]],
      [["Authorization", "Bearer a.b.c"]],
      [["Authorization", `Bearer ${"a".repeat(9000)}`]],
      [["Authorization", "Bearer x, Bearer y"]],
    ),
    fc
      .constantFrom("read", "wrong-key", "expired")
      .map((kind): [string, string][] => [
        ["Authorization", `Bearer ${kind === "read" ? readToken : kind === "wrong-key" ? wrongKeyToken : expiredToken}`],
      ]),
    fc
      .tuple(fc.constantFrom("Coalition-Signature", "Authorization"), weirdString)
      .map(([k, v]): [string, string][] => [[k, asHeaderValue(v)]]),
  );
}

/**
 * `open`: the route may answer 2xx without credentials — a public route (the JWKS), or a GET or
 * HEAD of an operator route, which the read-scope token may make. Never may anything be written.
 */
async function checkNothingWritten(request: FuzzRequest, open: { public: boolean; read: boolean }): Promise<void> {
  try {
    await checkNothingWrittenOnce(request, open);
  } catch (error) {
    digests.invalidate(); // a failed run may have written: read the tables again
    throw error;
  }
}

async function checkNothingWrittenOnce(request: FuzzRequest, open: { public: boolean; read: boolean }): Promise<void> {
  const req = await buildRequest(request);
  fc.pre(req !== undefined);
  if (!req) return;
  const before = await digests.current();
  const answer = await send(req);
  const context = describeRequest(request);
  expectContractAnswer(answer, request.method, context);
  const withReadToken = request.headers?.some(([k, v]) => k === "Authorization" && v === `Bearer ${readToken}`) ?? false;
  if (!open.public && !(open.read && withReadToken)) {
    // Nothing authenticated this request.
    expect(answer.status, `${context} → ${answer.text}`).toBeGreaterThanOrEqual(400);
  }
  const after = await digests.fresh();
  expect(changedTables(before, after), `rows written by: ${context}`).toEqual([]);
}

describe("fuzz: requests without valid credentials", () => {
  it("every listed endpoint, with its own method: 4xx in the contract shape, nothing written", async () => {
    expect(endpoints.length).toBeGreaterThan(10);
    await checkEach(
      endpoints,
      (ep) => `${ep.method} ${ep.path}`,
      (ep) =>
        fc.asyncProperty(
          endpointRequestArb(ep, doc, ep.auth === "operator" ? world.operatorTargets : world.partnerTargets),
          badAuthArb(),
          async (request, auth) => {
            await checkNothingWritten(printable({ ...request, headers: [...(request.headers ?? []), ...auth] }), {
              public: ep.auth === "public",
              read: ep.method === "GET",
            });
          },
        ),
      () => 6,
    );
  });

  it("every listed path with methods it does not serve, and paths no route serves", async () => {
    const served = new Set(endpoints.map((e) => `${e.method} ${e.path}`));
    const wrongMethod = fc
      .tuple(fc.constantFrom(...endpoints), fc.constantFrom(...HTTP_METHODS))
      .filter(([ep, m]) => !served.has(`${m} ${ep.path}`))
      .chain(([ep, m]) =>
        endpointRequestArb(ep, doc, ep.auth === "operator" ? world.operatorTargets : world.partnerTargets, m).map((r) => ({
          request: r,
          // A HEAD is served by the GET route of the path, if there is one; an OPTIONS of a member
          // endpoint is its CORS preflight (204, src/auth/member-session.ts: it shows and writes nothing).
          open: {
            public: (ep.auth === "public" && m === "HEAD") || (m === "OPTIONS" && ep.path.startsWith("/v1/me")),
            read: m === "HEAD" && served.has(`GET ${ep.path}`),
          },
        })),
      );
    const unknown = fc
      .record({
        path: unknownPathArb,
        method: fc.constantFrom(...HTTP_METHODS),
        query: fc.option(
          junkSegment.map((s) => `?${s}`),
          { nil: "" },
        ),
      })
      .map(({ path, method, query }) => ({
        request: printable({
          method,
          target: path + query,
          ...(method === "GET" || method === "HEAD" ? {} : { body: { bytes: new TextEncoder().encode("{}"), label: "{}" } }),
          contentType: ["application/json"],
        }),
        open: { public: false, read: false },
      }));
    await fc.assert(
      fc.asyncProperty(fc.oneof(wrongMethod, unknown), badAuthArb(), async ({ request, open }, auth) => {
        await checkNothingWritten(printable({ ...request, headers: [...(request.headers ?? []), ...auth] }), open);
      }),
      fuzzParameters(60),
    );
    await checkInvariants();
  });
});
