import { exportJWK, importJWK, type JWK } from "jose";
import { ApiError } from "../http/errors";
import type { PublicJwkBody } from "./schemas";

/**
 * The algorithm and the public members of a key the operator registers: an Ed25519 OKP or a
 * P-256 EC public key. It is imported now so a broken key is refused here, not at the partner's
 * first request; only the public members are stored.
 */
export async function registeredKey(jwk: PublicJwkBody): Promise<{ alg: "EdDSA" | "ES256"; publicJwk: JWK }> {
  if (jwk.d !== undefined)
    throw new ApiError("invalid_body", "a private key was sent: register only the public key", "public_jwk.d");
  const alg =
    jwk.kty === "OKP" && jwk.crv === "Ed25519" ? "EdDSA" : jwk.kty === "EC" && jwk.crv === "P-256" ? "ES256" : undefined;
  if (!alg) throw new ApiError("invalid_body", "public_jwk must be an Ed25519 OKP or a P-256 EC key", "public_jwk");
  try {
    const key = await importJWK({ ...jwk, d: undefined } as JWK, alg, { extractable: true });
    const { kty, crv, x, y } = await exportJWK(key as CryptoKey);
    return { alg, publicJwk: y === undefined ? { kty, crv, x } : { kty, crv, x, y } };
  } catch {
    throw new ApiError("invalid_body", "public_jwk is not a valid key", "public_jwk");
  }
}
