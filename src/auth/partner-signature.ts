import type { MiddlewareHandler } from "hono";
import { base64url, compactVerify, decodeJwt, decodeProtectedHeader } from "jose";
import type { AppEnv } from "../http/context";
import { ApiError } from "../http/errors";
import { type Admission, admit } from "./admission";
import { loadPartnerKey, readCallerStatus } from "./partner-keys";

/** partner-api.md §2. */
export const SIGNATURE_HEADER = "Coalition-Signature";
export const SIGNATURE_TYP = "coalition-request+jwt";
export const CLOCK_WINDOW_SECONDS = 300;
export const JTI_RETENTION_SECONDS = 600;
const SUPPORTED_ALGS = new Set(["EdDSA", "ES256"]);
const MAX_TOKEN_LENGTH = 8_192;

interface RequestClaims {
  iss: string;
  iat: number;
  jti: string;
  htm: string;
  htu: string;
  bh: string;
  idk: string | undefined;
}

/** base64url (unpadded) SHA-256 of the raw body bytes: the `bh` claim. */
export async function bodyHash(body: Uint8Array): Promise<string> {
  return base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", body)));
}

/** The request target exactly as sent: path plus `?query`, without scheme and host. */
export function requestTarget(url: string): string {
  const afterScheme = url.indexOf("//");
  const pathStart = url.indexOf("/", afterScheme + 2);
  return pathStart < 0 ? "/" : url.slice(pathStart);
}

function parseToken(token: string): { kid: string; alg: string; claims: RequestClaims } {
  const malformed = (why: string) => new ApiError("signature_malformed", `signature is malformed: ${why}`);
  if (token.length > MAX_TOKEN_LENGTH || token.split(".").length !== 3) throw malformed("not a compact JWS");
  let header: ReturnType<typeof decodeProtectedHeader>;
  let payload: ReturnType<typeof decodeJwt>;
  try {
    header = decodeProtectedHeader(token);
    payload = decodeJwt(token);
  } catch {
    throw malformed("not a compact JWS with a JSON payload");
  }
  if (header.typ !== SIGNATURE_TYP) throw malformed(`typ must be ${SIGNATURE_TYP}`);
  if (typeof header.alg !== "string" || !SUPPORTED_ALGS.has(header.alg)) throw malformed("alg must be EdDSA or ES256");
  if (typeof header.kid !== "string" || header.kid.length === 0) throw malformed("kid is required");
  const { iss, iat, jti, htm, htu, bh, idk } = payload as Record<string, unknown>;
  if (typeof iss !== "string" || iss.length === 0) throw malformed("iss is required");
  if (typeof iat !== "number" || !Number.isSafeInteger(iat)) throw malformed("iat must be an integer");
  if (typeof jti !== "string" || jti.length < 16 || jti.length > 128) throw malformed("jti must be 16 to 128 characters");
  if (typeof htm !== "string") throw malformed("htm is required");
  if (typeof htu !== "string") throw malformed("htu is required");
  if (typeof bh !== "string") throw malformed("bh is required");
  if (idk !== undefined && typeof idk !== "string") throw malformed("idk must be a string");
  return { kid: header.kid, alg: header.alg, claims: { iss, iat, jti, htm, htu, bh, idk } };
}

/**
 * Verifies `Coalition-Signature` on every `/v1/` request, in the order §2 fixes; the first
 * failing check answers. With the key cached in this isolate, the checks before the database ones
 * cost no round trip, and those (key and partner status, the jti) go into the request's batch.
 */
export function partnerSignature(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    // Already verified for this request (a path like `/v1/*` can match the middleware twice).
    if (c.get("partner")) return next();
    const token = c.req.header(SIGNATURE_HEADER);
    if (!token) throw new ApiError("signature_missing", `the ${SIGNATURE_HEADER} header is required`);
    const { kid, alg, claims } = parseToken(token.trim());
    const db = c.env.DB;

    const key = await loadPartnerKey(db, claims.iss, kid);
    if (!key) throw new ApiError("unknown_key", "no active key with this kid for this partner");

    // A cached key may have been revoked since: every failure below re-reads the key first,
    // so a revoked key answers unknown_key, as it would without the cache.
    const fail = async (error: ApiError): Promise<never> => {
      const status = await readCallerStatus(db, claims.iss, kid);
      if (!status.keyActive) throw new ApiError("unknown_key", "no active key with this kid for this partner");
      throw error;
    };

    let verified = false;
    if (key.alg === alg) {
      try {
        await compactVerify(token.trim(), key.key, { algorithms: [key.alg] });
        verified = true;
      } catch {
        verified = false;
      }
    }
    if (!verified) return fail(new ApiError("signature_invalid", "the signature does not verify with this key"));

    const now = c.get("now");
    if (Math.abs(claims.iat * 1000 - now) > CLOCK_WINDOW_SECONDS * 1000) {
      return fail(new ApiError("signature_expired", `iat is more than ${CLOCK_WINDOW_SECONDS} s from the server clock`));
    }

    const mismatch = await findMismatch(c.req.method, c.req.url, c.get("rawBody"), c.req.header("Idempotency-Key"), claims);
    if (mismatch) return fail(new ApiError("request_mismatch", `the ${mismatch} claim does not match the request`));

    // The checks that need the database run inside the request's own batch (src/http/runner.ts,
    // src/auth/admission.ts): a request that passes makes no round trip for them.
    const admission: Admission = {
      partnerId: claims.iss,
      kid,
      jti: claims.jti,
      now,
      nonceExpiresAt: (Math.max(claims.iat, Math.floor(now / 1000)) + JTI_RETENTION_SECONDS) * 1000,
    };
    c.set("partner", { id: claims.iss, kid, idempotencyKey: claims.idk });
    c.set("admission", { ...admission, done: false });
    await next();
    if (c.get("admission")?.done) return;
    // Not taken by a batch (a read that did not fold them in, a validation error, an unknown path):
    // the checks run now, and an authentication answer replaces whatever the route answered.
    if (c.req.method !== "GET" && c.req.method !== "HEAD" && c.res.status < 400) {
      throw new Error(`${c.req.method} ${c.req.path} answered ${c.res.status} without the admission checks in its batch`);
    }
    try {
      await admit(db, admission);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      c.res = new Response(JSON.stringify(error.body(c.get("requestId"))), {
        status: error.status,
        headers: { "Content-Type": "application/json; charset=UTF-8" },
      });
    }
  };
}

async function findMismatch(
  method: string,
  url: string,
  body: Uint8Array,
  idempotencyKey: string | undefined,
  claims: RequestClaims,
): Promise<string | undefined> {
  if (claims.htm !== method.toUpperCase()) return "htm";
  if (claims.htu !== requestTarget(url)) return "htu";
  if (claims.bh !== (await bodyHash(body))) return "bh";
  if (claims.idk !== idempotencyKey) return "idk";
  return undefined;
}
