import { base64url, type CryptoKey, importJWK, type JWK, SignJWT } from "jose";

/** Signs partner requests exactly as partner-api.md §2 says. Web APIs only (crypto.subtle, TextEncoder): Node ≥ 20, Workers, Deno, Bun, browsers. */
export const SIGNATURE_TYP = "coalition-request+jwt";

export interface PartnerCredentials {
  partnerId: string;
  kid: string;
  alg: "EdDSA" | "ES256";
  privateJwk: JWK;
}

export interface SignInput {
  method: string;
  /** Path plus `?query`, exactly as it will be sent. */
  target: string;
  body?: Uint8Array;
  idempotencyKey?: string;
  /** Seconds since the epoch; defaults to now. */
  iat?: number;
  jti?: string;
}

const keyCache = new WeakMap<JWK, Promise<CryptoKey | Uint8Array>>();

export async function sha256Base64url(bytes: Uint8Array): Promise<string> {
  return base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(bytes))));
}

export function newJti(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return base64url.encode(bytes);
}

/** The compact JWS for the `Coalition-Signature` header. */
export async function signRequest(creds: PartnerCredentials, input: SignInput): Promise<string> {
  let key = keyCache.get(creds.privateJwk);
  if (!key) {
    key = importJWK(creds.privateJwk, creds.alg);
    keyCache.set(creds.privateJwk, key);
  }
  const claims: Record<string, unknown> = {
    htm: input.method.toUpperCase(),
    htu: input.target,
    bh: await sha256Base64url(input.body ?? new Uint8Array()),
  };
  if (input.idempotencyKey !== undefined) claims.idk = input.idempotencyKey;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: creds.alg, kid: creds.kid, typ: SIGNATURE_TYP })
    .setIssuer(creds.partnerId)
    .setIssuedAt(input.iat ?? Math.floor(Date.now() / 1000))
    .setJti(input.jti ?? newJti())
    .sign(await key);
}
