import { env, exports } from "cloudflare:workers";
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from "jose";
import type { PartnerCredentials } from "../../packages/partner-sdk/src/index";
import { PartnerClient } from "../../packages/partner-sdk/src/index";

/** Helpers that drive the real worker (Hono app in workerd, real D1) as clients would. */

export const BASE_URL = "https://exchange.test";

export function workerFetch(request: Request): Promise<Response> {
  return exports.default.fetch(request);
}

export interface OperatorTokenOptions {
  sub?: string;
  scope?: string;
  iat?: number;
  exp?: number;
  privateJwk?: JWK;
  kid?: string;
}

export async function operatorToken(opts: OperatorTokenOptions = {}): Promise<string> {
  const jwk = opts.privateJwk ?? (JSON.parse(env.TEST_OPERATOR_PRIVATE_JWK) as JWK);
  const key = await importJWK(jwk, "EdDSA");
  const iat = opts.iat ?? Math.floor(Date.now() / 1000);
  return new SignJWT({ scope: opts.scope ?? "admin" })
    .setProtectedHeader({ alg: "EdDSA", kid: opts.kid ?? jwk.kid ?? "op-test-1" })
    .setSubject(opts.sub ?? "ops@coalition.test")
    .setIssuedAt(iat)
    .setExpirationTime(opts.exp ?? iat + 600)
    .sign(key);
}

export interface OperatorCall {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

export async function operator(
  method: string,
  path: string,
  body?: unknown,
  opts: { token?: string; idempotencyKey?: string; tokenOptions?: OperatorTokenOptions } = {},
): Promise<OperatorCall> {
  const token = opts.token ?? (await operatorToken(opts.tokenOptions));
  const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (opts.idempotencyKey) headers["Idempotency-Key"] = opts.idempotencyKey;
  const response = await workerFetch(
    new Request(`${BASE_URL}/admin/v1${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }),
  );
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, body: parsed, text, headers: response.headers };
}

export async function newKeyPair(alg: "EdDSA" | "ES256" = "EdDSA"): Promise<{ publicJwk: JWK; privateJwk: JWK }> {
  const pair = await generateKeyPair(alg, { extractable: true });
  return { publicJwk: await exportJWK(pair.publicKey), privateJwk: await exportJWK(pair.privateKey) };
}

let partnerCounter = 0;

export interface TestPartner {
  id: string;
  client: PartnerClient;
  credentials: PartnerCredentials;
}

/** Creates a partner through the operator API, registers a fresh key and returns its client. */
export async function createPartner(
  opts: {
    id?: string;
    name?: string;
    funding?: unknown;
    pending_days?: number;
    hold_ttl_seconds?: number;
    alg?: "EdDSA" | "ES256";
  } = {},
): Promise<TestPartner> {
  const id = opts.id ?? `p-${Date.now().toString(36)}-${partnerCounter++}`;
  const created = await operator("POST", "/partners", {
    id,
    name: opts.name ?? `Partner ${id}`,
    funding: opts.funding ?? { mode: "postpaid", credit_limit: { value: "1000000.00", unit: "CNY" } },
    ...(opts.pending_days === undefined ? {} : { pending_days: opts.pending_days }),
    ...(opts.hold_ttl_seconds === undefined ? {} : { hold_ttl_seconds: opts.hold_ttl_seconds }),
  });
  if (created.status !== 201) throw new Error(`partner create failed: ${created.text}`);
  const credentials = await addKey(id, `${id}-k1`, opts.alg ?? "EdDSA");
  return { id, credentials, client: clientFor(credentials) };
}

export async function addKey(partnerId: string, kid: string, alg: "EdDSA" | "ES256" = "EdDSA"): Promise<PartnerCredentials> {
  const { publicJwk, privateJwk } = await newKeyPair(alg);
  const added = await operator("POST", `/partners/${partnerId}/keys`, { kid, public_jwk: publicJwk });
  if (added.status !== 201) throw new Error(`key add failed: ${added.text}`);
  return { partnerId, kid, alg, privateJwk };
}

export function clientFor(credentials: PartnerCredentials): PartnerClient {
  return new PartnerClient({ baseUrl: BASE_URL, credentials, fetch: workerFetch, maxRetries: 0 });
}
