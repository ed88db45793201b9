import { randomUUID } from "node:crypto";

export interface HttpResult {
  status: number;
  ok: boolean;
  text: string;
  json: any;
  headers: Headers;
}

/** The `error.code` of an error response, if it has one. */
export function errorCode(result: { json?: any }): string | undefined {
  const code = result.json?.error?.code;
  return typeof code === "string" ? code : undefined;
}

export async function toHttpResult(response: Response): Promise<HttpResult> {
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, ok: response.ok, text, json, headers: response.headers };
}

/**
 * An operator API call (`/admin/v1/...`) with a bearer token. A POST gets an Idempotency-Key
 * (fresh unless given); endpoints that do not use one ignore it.
 */
export async function operatorCall(
  baseUrl: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  options: { idempotencyKey?: string } = {},
): Promise<HttpResult> {
  const headers: Record<string, string> = { Authorization: `Bearer ${token}`, Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const idempotencyKey = options.idempotencyKey ?? (method.toUpperCase() === "POST" ? `op_${randomUUID()}` : undefined);
  if (idempotencyKey !== undefined) headers["Idempotency-Key"] = idempotencyKey;
  const response = await fetch(baseUrl.replace(/\/$/, "") + path, {
    method: method.toUpperCase(),
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return toHttpResult(response);
}
