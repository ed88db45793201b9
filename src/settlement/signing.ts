import canonicalize from "canonicalize";
import { CompactSign, importJWK, type JWK } from "jose";

/**
 * Integrity of closed reports (economics.md "Settlement", partner-api.md §7): the RFC 8785
 * canonical JSON of a statement (or report) without `digest` and `signature`, its SHA-256 as
 * lowercase hex, and a compact JWS by the statement-signing key over `{ settlement_id,
 * [partner_id,] digest }`. The key (STATEMENT_SIGNING_JWK) is not an operator key; only its
 * public half is served, at /.well-known/jwks.json.
 */

export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new Error("value cannot be canonicalized");
  return text;
}

export async function sha256Hex(text: string): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Digest of an object's canonical JSON, leaving out its `digest` and `signature` fields. */
export async function digestOf(value: Record<string, unknown>): Promise<string> {
  const { digest: _d, signature: _s, ...rest } = value;
  return sha256Hex(canonicalJson(rest));
}

interface SigningKey {
  kid: string;
  alg: "EdDSA" | "ES256";
  key: CryptoKey | Uint8Array;
}

let cached: { source: string; key: Promise<SigningKey> } | undefined;

function parseJwk(source: string): JWK & { kid: string; alg: "EdDSA" | "ES256" } {
  let jwk: JWK;
  try {
    jwk = JSON.parse(source) as JWK;
  } catch {
    throw new Error("STATEMENT_SIGNING_JWK is not JSON");
  }
  if (!jwk.d) throw new Error("STATEMENT_SIGNING_JWK must be a private JWK");
  if (typeof jwk.kid !== "string" || !jwk.kid) throw new Error("STATEMENT_SIGNING_JWK needs a kid");
  const alg: string = jwk.alg ?? (jwk.kty === "OKP" ? "EdDSA" : "ES256");
  if (alg !== "EdDSA" && alg !== "ES256") throw new Error(`STATEMENT_SIGNING_JWK alg ${alg} is not EdDSA or ES256`);
  return { ...jwk, kid: jwk.kid, alg };
}

async function signingKey(source: string): Promise<SigningKey> {
  if (cached?.source !== source) {
    const jwk = parseJwk(source);
    cached = { source, key: importJWK(jwk, jwk.alg).then((key) => ({ kid: jwk.kid, alg: jwk.alg, key })) };
  }
  return cached.key;
}

/** Compact JWS over the canonical JSON of `payload`, with the key's kid in the header. */
export async function signPayload(source: string, payload: Record<string, string>): Promise<string> {
  const { kid, alg, key } = await signingKey(source);
  return new CompactSign(new TextEncoder().encode(canonicalJson(payload))).setProtectedHeader({ alg, kid }).sign(key);
}

/** The public half of the statement-signing key as a JWK set (private members never leave). */
export function publicJwks(source: string): { keys: JWK[] } {
  const jwk = parseJwk(source);
  const pub: JWK = { kty: jwk.kty, kid: jwk.kid, alg: jwk.alg, use: "sig" };
  if (jwk.crv) pub.crv = jwk.crv;
  if (jwk.x) pub.x = jwk.x;
  if (jwk.y) pub.y = jwk.y;
  return { keys: [pub] };
}
