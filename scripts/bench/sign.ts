/**
 * Partner request signatures for the load generator. autocannon builds each request
 * synchronously, so this signs with node:crypto (Ed25519 is deterministic) and produces exactly
 * the bytes of the partner SDK's signRequest (jose): same protected header, same claims in the same
 * order. `checkSignerMatchesClient` proves it before a run. Every request gets a fresh jti, iat
 * and (for POSTs) Idempotency-Key, as a partner integration sends them.
 */
import { createHash, createPrivateKey, type KeyObject, randomBytes, sign } from "node:crypto";
import { type PartnerCredentials, SIGNATURE_TYP, signRequest } from "../../packages/partner-sdk/src/index";

export interface SignedHeaders {
  "Coalition-Signature": string;
  "Idempotency-Key"?: string;
  "Content-Type"?: string;
}

const b64 = (data: string | Buffer): string => Buffer.from(data).toString("base64url");

export function newJti(): string {
  return randomBytes(16).toString("base64url");
}

export class SyncSigner {
  private readonly key: KeyObject;
  private readonly header: string;
  private readonly emptyBodyHash = createHash("sha256").update(Buffer.alloc(0)).digest("base64url");

  constructor(private readonly creds: PartnerCredentials) {
    if (creds.alg !== "EdDSA") throw new Error("the bench signer supports EdDSA (Ed25519) keys only");
    this.key = createPrivateKey({ key: creds.privateJwk as import("node:crypto").JsonWebKey, format: "jwk" });
    this.header = b64(JSON.stringify({ alg: creds.alg, kid: creds.kid, typ: SIGNATURE_TYP }));
  }

  /** The compact JWS, claims in signRequest's order: htm, htu, bh, idk?, iss, iat, jti. */
  signature(method: string, target: string, body: string, idempotencyKey?: string, iat?: number, jti?: string): string {
    const claims: Record<string, unknown> = {
      htm: method.toUpperCase(),
      htu: target,
      bh: body === "" ? this.emptyBodyHash : createHash("sha256").update(body).digest("base64url"),
    };
    if (idempotencyKey !== undefined) claims.idk = idempotencyKey;
    claims.iss = this.creds.partnerId;
    claims.iat = iat ?? Math.floor(Date.now() / 1000);
    claims.jti = jti ?? newJti();
    const input = `${this.header}.${b64(JSON.stringify(claims))}`;
    return `${input}.${sign(null, Buffer.from(input), this.key).toString("base64url")}`;
  }

  /** Headers of one signed request; a POST gets a fresh Idempotency-Key (bound by the idk claim). */
  headers(method: string, target: string, body = ""): SignedHeaders {
    const post = method.toUpperCase() === "POST";
    const idempotencyKey = post ? `bench_${newJti()}` : undefined;
    return {
      "Coalition-Signature": this.signature(method, target, body, idempotencyKey),
      ...(idempotencyKey === undefined ? {} : { "Idempotency-Key": idempotencyKey }),
      ...(body === "" ? {} : { "Content-Type": "application/json" }),
    };
  }
}

/** Throws unless this signer yields byte-for-byte the JWS of the partner SDK's signRequest. */
export async function checkSignerMatchesClient(creds: PartnerCredentials): Promise<void> {
  const signer = new SyncSigner(creds);
  const cases = [
    { method: "GET", target: "/v1/partner", body: "", idk: undefined },
    { method: "POST", target: "/v1/earn", body: '{"member_ref":"m-1","points":5}', idk: "bench_check" },
  ];
  for (const c of cases) {
    const iat = 1_700_000_000;
    const jti = newJti();
    const ours = signer.signature(c.method, c.target, c.body, c.idk, iat, jti);
    const theirs = await signRequest(creds, {
      method: c.method,
      target: c.target,
      body: new TextEncoder().encode(c.body),
      idempotencyKey: c.idk,
      iat,
      jti,
    });
    if (ours !== theirs) throw new Error(`bench signer differs from the partner SDK's signRequest for ${c.method} ${c.target}`);
  }
}
