import type { MiddlewareHandler } from "hono";
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from "jose";
import type { AppEnv } from "../http/context";
import { ApiError } from "../http/errors";

/** operator-api.md "Authentication". */
const MAX_FUTURE_IAT_SECONDS = 60;
const MAX_LIFETIME_SECONDS = 3600;

let jwksCache: { source: string; jwks: ReturnType<typeof createLocalJWKSet> } | undefined;

function operatorJwks(source: string | undefined): ReturnType<typeof createLocalJWKSet> {
  if (!source) throw new ApiError("unavailable", "operator keys are not configured");
  if (jwksCache?.source !== source) {
    jwksCache = { source, jwks: createLocalJWKSet(JSON.parse(source) as JSONWebKeySet) };
  }
  return jwksCache.jwks;
}

/** The statement-signing key can never sign an operator token, even if misconfigured into the set. */
function statementKid(source: string | undefined): string | undefined {
  if (!source) return undefined;
  try {
    return (JSON.parse(source) as { kid?: string }).kid;
  } catch {
    return undefined;
  }
}

/**
 * `Authorization: Bearer <JWT>` verified against OPERATOR_JWKS. `admin` grants everything,
 * `read` only GET (and HEAD) requests.
 */
export function operatorToken(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const invalid = (why: string) => new ApiError("operator_token_invalid", `operator token rejected: ${why}`);
    const header = c.req.header("Authorization") ?? "";
    // The auth scheme name is case-insensitive (RFC 9110 §11.1).
    const match = /^Bearer ([A-Za-z0-9_\-.]{1,8192})$/i.exec(header.trim());
    if (!match?.[1]) throw invalid("an Authorization: Bearer token is required");
    const jwks = operatorJwks(c.env.OPERATOR_JWKS);
    const nowSeconds = Math.floor(c.get("now") / 1000);
    let payload: Awaited<ReturnType<typeof jwtVerify>>["payload"];
    let kid: string | undefined;
    try {
      const result = await jwtVerify(match[1], jwks, {
        algorithms: ["EdDSA", "ES256"],
        currentDate: new Date(nowSeconds * 1000),
        requiredClaims: ["sub", "iat", "exp", "scope"],
      });
      payload = result.payload;
      kid = result.protectedHeader.kid;
    } catch (e) {
      throw invalid(e instanceof Error ? e.message : "verification failed");
    }
    if (kid !== undefined && kid === statementKid(c.env.STATEMENT_SIGNING_JWK)) throw invalid("wrong key");
    const { sub, iat, exp, scope } = payload;
    if (typeof sub !== "string" || sub.length === 0) throw invalid("sub is required");
    if (typeof iat !== "number" || iat > nowSeconds + MAX_FUTURE_IAT_SECONDS) throw invalid("iat is in the future");
    if (typeof exp !== "number" || exp - iat > MAX_LIFETIME_SECONDS) throw invalid("exp is more than 1 hour after iat");
    if (typeof scope !== "string") throw invalid("scope is required");
    const scopes = new Set(scope.split(" ").filter(Boolean));
    const readOnly = c.req.method === "GET" || c.req.method === "HEAD";
    if (!scopes.has("admin") && !(readOnly && scopes.has("read"))) {
      throw new ApiError(
        "scope_missing",
        readOnly ? "this call needs the read or admin scope" : "this call needs the admin scope",
      );
    }
    c.set("operator", { sub, scopes });
    await next();
  };
}
