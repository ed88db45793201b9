import { newJti, type PartnerCredentials, signRequest } from "./signing";

/**
 * A partner's client for the exchange: signs every request (§2), sets Idempotency-Key/idk on
 * every POST (§3), and retries network failures and 503s with the same key, with backoff.
 */
export interface ClientOptions {
  baseUrl: string;
  credentials: PartnerCredentials;
  /** Custom transport (tests pass the worker's own fetch). */
  fetch?: (request: Request) => Promise<Response>;
  /** Retries after the first attempt, for network errors and 503s. */
  maxRetries?: number;
  /** First backoff in ms; doubles each retry. */
  backoffMs?: number;
}

export interface ApiErrorBody {
  error: { type: string; code: string; message: string; param?: string; request_id?: string };
}

export type ApiResult<T> =
  | { ok: true; status: number; data: T; replayed: boolean; text: string; response: Response }
  | { ok: false; status: number; error: ApiErrorBody["error"]; replayed: boolean; text: string; response: Response };

export interface CallOptions {
  idempotencyKey?: string;
  /** Extra headers (tests use this to tamper). */
  headers?: Record<string, string>;
}

export class PartnerClient {
  private readonly opts: Required<Omit<ClientOptions, "fetch">> & { fetch: (r: Request) => Promise<Response> };

  constructor(options: ClientOptions) {
    this.opts = {
      maxRetries: 3,
      backoffMs: 100,
      fetch: (r) => fetch(r),
      ...options,
    };
  }

  get partnerId(): string {
    return this.opts.credentials.partnerId;
  }

  get<T = unknown>(target: string, options: CallOptions = {}): Promise<ApiResult<T>> {
    return this.request<T>("GET", target, undefined, options);
  }

  /** Every POST carries an Idempotency-Key; a fresh one unless given. Retries reuse it. */
  post<T = unknown>(target: string, body: unknown, options: CallOptions = {}): Promise<ApiResult<T>> {
    return this.request<T>("POST", target, body, { ...options, idempotencyKey: options.idempotencyKey ?? `idk_${newJti()}` });
  }

  put<T = unknown>(target: string, body: unknown, options: CallOptions = {}): Promise<ApiResult<T>> {
    return this.request<T>("PUT", target, body, options);
  }

  async request<T>(method: string, target: string, body: unknown, options: CallOptions = {}): Promise<ApiResult<T>> {
    const bytes = body === undefined ? new Uint8Array() : new TextEncoder().encode(JSON.stringify(body));
    let attempt = 0;
    for (;;) {
      try {
        // A fresh signature (jti, iat) per attempt; the Idempotency-Key stays the same.
        const request = await this.buildRequest(method, target, bytes, options);
        const response = await this.opts.fetch(request);
        if (response.status === 503 && attempt < this.opts.maxRetries) {
          await this.backoff(attempt++);
          continue;
        }
        return await toResult<T>(response);
      } catch (error) {
        if (attempt >= this.opts.maxRetries) throw error;
        await this.backoff(attempt++);
      }
    }
  }

  /** A signed Request, not sent (tests tamper with it). */
  async buildRequest(method: string, target: string, bytes: Uint8Array, options: CallOptions = {}): Promise<Request> {
    const headers: Record<string, string> = {
      "Coalition-Signature": await signRequest(this.opts.credentials, {
        method,
        target,
        body: bytes,
        idempotencyKey: options.idempotencyKey,
      }),
      ...(bytes.length > 0 ? { "Content-Type": "application/json" } : {}),
      ...(options.idempotencyKey !== undefined ? { "Idempotency-Key": options.idempotencyKey } : {}),
      ...options.headers,
    };
    return new Request(this.opts.baseUrl.replace(/\/$/, "") + target, {
      method,
      headers,
      ...(bytes.length > 0 ? { body: bytes } : {}),
    });
  }

  private backoff(attempt: number): Promise<void> {
    const ms = this.opts.backoffMs * 2 ** attempt;
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}

async function toResult<T>(response: Response): Promise<ApiResult<T>> {
  const replayed = response.headers.get("Idempotent-Replayed") === "true";
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    json = undefined;
  }
  if (response.ok) return { ok: true, status: response.status, data: json as T, replayed, text, response };
  const error = (json as ApiErrorBody | undefined)?.error ?? { type: "api_error", code: "unknown", message: text };
  return { ok: false, status: response.status, error, replayed, text, response };
}
