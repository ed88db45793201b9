import { importJWK, type JWK, SignJWT } from "jose";

export interface OperatorKey {
  kid: string;
  alg: "EdDSA" | "ES256";
  private_jwk: JWK;
}

export interface OperatorTokenOptions {
  /** Who is acting; recorded in the audit log. */
  sub?: string;
  /** Space-separated: `admin` (everything) or `read` (GETs only). */
  scope?: string;
  /** Lifetime in seconds; the exchange accepts at most 3600. */
  ttlSeconds?: number;
}

/** A signed operator JWT (operator-api.md "Authentication"): header alg + kid; claims sub, iat, exp, scope. */
export async function mintOperatorToken(key: OperatorKey, options: OperatorTokenOptions = {}): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  return new SignJWT({ scope: options.scope ?? "admin" })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: "JWT" })
    .setSubject(options.sub ?? "local-cli")
    .setIssuedAt(iat)
    .setExpirationTime(iat + Math.min(options.ttlSeconds ?? 600, 3600))
    .sign(await importJWK(key.private_jwk, key.alg));
}
