import { base64url, CompactSign, importJWK, type JWK } from "jose";
import { expect } from "vitest";
import { newJti, type PartnerCredentials, SIGNATURE_TYP, sha256Base64url } from "../../packages/partner-sdk/src/index";
import { BASE_URL, workerFetch } from "./exchange";

/**
 * Signs partner requests (partner-api.md §2) the way a partner would, but with any protected
 * header or claim replaced or removed, so tests can send every kind of broken signature.
 */

/** A value of `undefined` removes the header parameter or claim. */
export type Overrides = Record<string, unknown>;

export interface SignedRequestSpec {
  method: string;
  /** Path plus `?query`, as it will be sent. */
  target: string;
  /** Raw body bytes sent (a string is UTF-8 encoded). */
  body?: Uint8Array | string;
  /** Sent as the Idempotency-Key header and, unless overridden, as the `idk` claim. */
  idempotencyKey?: string;
}

export interface TamperOptions {
  header?: Overrides;
  claims?: Overrides;
  /** Sign with this key instead of the partner's own (the header `alg` follows it unless overridden). */
  signWith?: { privateJwk: JWK; alg: "EdDSA" | "ES256" };
}

function bytesOf(body: Uint8Array | string | undefined): Uint8Array {
  if (body === undefined) return new Uint8Array();
  return typeof body === "string" ? new TextEncoder().encode(body) : body;
}

function applyOverrides(base: Record<string, unknown>, overrides: Overrides | undefined): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(overrides ?? {})) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}

/** The claims a correct partner signs for this request. */
export async function correctClaims(creds: PartnerCredentials, spec: SignedRequestSpec): Promise<Record<string, unknown>> {
  const claims: Record<string, unknown> = {
    iss: creds.partnerId,
    iat: Math.floor(Date.now() / 1000),
    jti: newJti(),
    htm: spec.method.toUpperCase(),
    htu: spec.target,
    bh: await sha256Base64url(bytesOf(spec.body)),
  };
  if (spec.idempotencyKey !== undefined) claims.idk = spec.idempotencyKey;
  return claims;
}

/** A compact JWS over exactly these header parameters and claims (any JSON), signed with a real key. */
export async function signJws(
  header: Record<string, unknown>,
  claims: unknown,
  key: { privateJwk: JWK; alg: "EdDSA" | "ES256" },
): Promise<string> {
  const privateKey = await importJWK(key.privateJwk, key.alg);
  return new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader(header as { alg: string })
    .sign(privateKey);
}

/** A compact JWS with any header and claims and a given (possibly bogus) signature segment. */
export function rawJws(header: Record<string, unknown>, claims: Record<string, unknown>, signature = ""): string {
  const enc = (v: unknown) => base64url.encode(JSON.stringify(v));
  return `${enc(header)}.${enc(claims)}.${signature}`;
}

/** A Coalition-Signature value for `spec`, with the given tampering applied. */
export async function signFor(creds: PartnerCredentials, spec: SignedRequestSpec, tamper: TamperOptions = {}): Promise<string> {
  const key = tamper.signWith ?? { privateJwk: creds.privateJwk, alg: creds.alg };
  const header = applyOverrides({ alg: key.alg, kid: creds.kid, typ: SIGNATURE_TYP }, tamper.header);
  const claims = applyOverrides(await correctClaims(creds, spec), tamper.claims);
  return signJws(header, claims, key);
}

/** Sends a request to the worker with the given signature header (omitted when undefined). */
export function send(
  spec: SignedRequestSpec & { sentTarget?: string; headers?: Record<string, string> },
  signature: string | undefined,
): Promise<Response> {
  const bytes = bytesOf(spec.body);
  const headers: Record<string, string> = { ...spec.headers };
  if (signature !== undefined) headers["Coalition-Signature"] = signature;
  if (bytes.length > 0) headers["Content-Type"] = "application/json";
  if (spec.idempotencyKey !== undefined) headers["Idempotency-Key"] = spec.idempotencyKey;
  return workerFetch(
    new Request(BASE_URL + (spec.sentTarget ?? spec.target), {
      method: spec.method,
      headers,
      ...(bytes.length > 0 ? { body: bytes } : {}),
    }),
  );
}

/** Signs (with tampering) and sends in one go. */
export async function signAndSend(
  creds: PartnerCredentials,
  spec: SignedRequestSpec,
  tamper: TamperOptions = {},
): Promise<Response> {
  return send(spec, await signFor(creds, spec, tamper));
}

export const WHOAMI: SignedRequestSpec = { method: "GET", target: "/v1/partner" };

/**
 * Asserts an error answer in the contract's shape (partner-api.md §1): the status, the
 * `{ error: { type, code, message, request_id } }` body and a `Request-Id` header equal to it.
 */
export async function expectError(response: Response, status: number, type: string, code: string): Promise<void> {
  const text = await response.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`expected a JSON error body, got ${response.status}: ${text}`);
  }
  expect({ status: response.status, type: body?.error?.type, code: body?.error?.code }, text).toEqual({ status, type, code });
  expectErrorShape(body, response.headers);
}

/** The error body shape and the `Request-Id` header, for answers already parsed. */
export function expectErrorShape(body: any, headers: Headers): void {
  expect(Object.keys(body)).toEqual(["error"]);
  expect(body.error).toEqual(
    expect.objectContaining({
      type: expect.any(String),
      code: expect.any(String),
      message: expect.any(String),
      request_id: expect.stringMatching(/^req_/),
    }),
  );
  const allowed = new Set(["type", "code", "message", "param", "request_id"]);
  for (const k of Object.keys(body.error)) expect(allowed.has(k), `unexpected error field ${k}`).toBe(true);
  const requestId = headers.get("Request-Id");
  expect(requestId, "Request-Id header").toBeTruthy();
  expect(body.error.request_id).toBe(requestId);
}

/** The status of a response, consuming its body (for answers that only need a status). */
export async function statusOf(response: Response): Promise<number> {
  await response.arrayBuffer();
  return response.status;
}
