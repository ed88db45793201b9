import { type ApiErrorBody, apiError } from "./errors.js";
import { listQuery, paginate } from "./pagination.js";
import { newJti, type PartnerCredentials, signRequest } from "./signing.js";
import type {
  ActivityEntry,
  Balance,
  BurnInput,
  EarnInput,
  EnrolInput,
  LinkCode,
  ListOptions,
  Member,
  MemberSession,
  Page,
  Quote,
  ReversalInput,
  Transaction,
  TransactionWithBalance,
  WriteOptions,
} from "./types.js";
import type { Statement, StatementLine } from "./verify-statement.js";

/**
 * A partner's client for the exchange: signs every request (§2), sets Idempotency-Key/idk on
 * every POST (§3), and retries network failures, 429s and 5xx with the same key, with backoff:
 * the exchange never stores a 5xx or a rate limit under a key, so a retry is applied at most once.
 */
export interface ClientOptions {
  baseUrl: string;
  credentials: PartnerCredentials;
  /** Custom transport (tests pass the worker's own fetch). */
  fetch?: (request: Request) => Promise<Response>;
  /** Retries after the first attempt, for network errors, 429s and 5xx. */
  maxRetries?: number;
  /** First backoff in ms; doubles each retry (a 429's Retry-After wins when longer, up to 30 s). */
  backoffMs?: number;
}

export type ApiResult<T> =
  | { ok: true; status: number; data: T; replayed: boolean; text: string; response: Response }
  | { ok: false; status: number; error: ApiErrorBody["error"]; replayed: boolean; text: string; response: Response };

export interface CallOptions {
  idempotencyKey?: string;
  /** Extra headers (tests use this to tamper). */
  headers?: Record<string, string>;
}

const seg = encodeURIComponent;
const MAX_RETRY_AFTER_MS = 30_000;

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

  // ---- Typed endpoints: each returns the answer's body or throws a PartnerApiError. ----

  /** `GET /v1/partner`: who the signature says you are. */
  whoami(): Promise<{ partner: { id: string; name: string; [field: string]: unknown } }> {
    return this.call("GET", "/v1/partner");
  }

  /** `PUT /v1/members/{ref}`: creates the member (or links it with a link code); `created` is false when it existed. */
  async enrol(memberRef: string, input: EnrolInput): Promise<{ member: Member; created: boolean }> {
    const result = await this.put<{ member: Member }>(`/v1/members/${seg(memberRef)}`, input);
    return { member: this.unwrap(result).member, created: result.status === 201 };
  }

  /** `POST /v1/members/{ref}/link-codes`: a single-use code for the member to give the next partner. */
  createLinkCode(memberRef: string, options: WriteOptions = {}): Promise<LinkCode> {
    return this.call("POST", `/v1/members/${seg(memberRef)}/link-codes`, {}, options);
  }

  /**
   * `POST /v1/members/{ref}/sessions` (docs/member-sessions.md): a read-only token for the member's
   * browser (GET /v1/me, the `<coalition-balance>` widget), valid `ttl_seconds` (at most 900).
   */
  createMemberSession(
    memberRef: string,
    input: { ttl_seconds?: number } = {},
    options: WriteOptions = {},
  ): Promise<MemberSession> {
    return this.call("POST", `/v1/members/${seg(memberRef)}/sessions`, input, options);
  }

  balance(memberRef: string): Promise<Balance> {
    return this.call("GET", `/v1/members/${seg(memberRef)}/balance`);
  }

  activityPage(memberRef: string, options: ListOptions = {}): Promise<Page<ActivityEntry>> {
    return this.call("GET", `/v1/members/${seg(memberRef)}/activity${listQuery(options)}`);
  }

  /** Every activity entry, newest first, across pages: `for await (const t of client.activity("c-42"))`. */
  activity(memberRef: string, options: ListOptions = {}): AsyncGenerator<ActivityEntry, void, undefined> {
    return paginate((o) => this.activityPage(memberRef, o), options);
  }

  quote(amount: { unit: string; value: string }): Promise<Quote> {
    const query = new URLSearchParams({ unit: amount.unit, value: amount.value });
    return this.call("GET", `/v1/quote?${query}`);
  }

  earn(input: EarnInput, options: WriteOptions = {}): Promise<TransactionWithBalance> {
    return this.call("POST", "/v1/earn", input, options);
  }

  burn(input: BurnInput, options: WriteOptions = {}): Promise<TransactionWithBalance> {
    return this.call("POST", "/v1/burns", input, options);
  }

  /** Posts a hold: all of it, or `points` (the rest is released). */
  capture(holdId: string, input: { points?: number } = {}, options: WriteOptions = {}): Promise<TransactionWithBalance> {
    return this.call("POST", `/v1/burns/${seg(holdId)}/capture`, input, options);
  }

  /** Releases a hold. */
  void(holdId: string, options: WriteOptions = {}): Promise<TransactionWithBalance> {
    return this.call("POST", `/v1/burns/${seg(holdId)}/void`, {}, options);
  }

  /** Reverses an earn or a posted burn of yours: all of it or `points`. */
  reverse(transactionId: string, input: ReversalInput = {}, options: WriteOptions = {}): Promise<TransactionWithBalance> {
    return this.call("POST", `/v1/transactions/${seg(transactionId)}/reversals`, input, options);
  }

  transaction(transactionId: string): Promise<{ transaction: Transaction }> {
    return this.call("GET", `/v1/transactions/${seg(transactionId)}`);
  }

  settlementsPage(options: ListOptions = {}): Promise<Page<Statement>> {
    return this.call("GET", `/v1/settlements${listQuery(options)}`);
  }

  /** Every period's statement you took part in, newest first. */
  settlements(options: ListOptions = {}): AsyncGenerator<Statement, void, undefined> {
    return paginate((o) => this.settlementsPage(o), options);
  }

  /** Your statement of one period (the body is the statement). */
  settlement(settlementId: string): Promise<Statement> {
    return this.call("GET", `/v1/settlements/${seg(settlementId)}`);
  }

  settlementLinesPage(settlementId: string, options: ListOptions = {}): Promise<Page<StatementLine>> {
    return this.call("GET", `/v1/settlements/${seg(settlementId)}/lines${listQuery(options)}`);
  }

  settlementLines(settlementId: string, options: ListOptions = {}): AsyncGenerator<StatementLine, void, undefined> {
    return paginate((o) => this.settlementLinesPage(settlementId, o), options);
  }

  // ---- Generic calls: an ApiResult, never a throw for an HTTP answer. ----

  get<T = unknown>(target: string, options: CallOptions = {}): Promise<ApiResult<T>> {
    return this.request<T>("GET", target, undefined, options);
  }

  /** Every POST carries an Idempotency-Key; a fresh one unless given. Retries reuse it. */
  post<T = unknown>(target: string, body: unknown, options: CallOptions = {}): Promise<ApiResult<T>> {
    return this.request<T>("POST", target, body, { ...options, idempotencyKey: options.idempotencyKey ?? newIdempotencyKey() });
  }

  put<T = unknown>(target: string, body: unknown, options: CallOptions = {}): Promise<ApiResult<T>> {
    return this.request<T>("PUT", target, body, options);
  }

  async request<T>(method: string, target: string, body: unknown, options: CallOptions = {}): Promise<ApiResult<T>> {
    const bytes = body === undefined ? new Uint8Array() : new TextEncoder().encode(JSON.stringify(body));
    let attempt = 0;
    for (;;) {
      let response: Response;
      try {
        // A fresh signature (jti, iat) per attempt; the Idempotency-Key stays the same.
        response = await this.opts.fetch(await this.buildRequest(method, target, bytes, options));
      } catch (error) {
        if (attempt >= this.opts.maxRetries) throw error;
        await sleep(this.delayMs(attempt++));
        continue;
      }
      if (isRetryable(response.status) && attempt < this.opts.maxRetries) {
        await response.body?.cancel();
        await sleep(this.delayMs(attempt++, response));
        continue;
      }
      return await toResult<T>(response);
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
      // A copy backed by a plain ArrayBuffer: what every runtime's BodyInit accepts.
      ...(bytes.length > 0 ? { body: new Uint8Array(bytes) } : {}),
    });
  }

  private async call<T>(method: string, target: string, body?: unknown, options: WriteOptions = {}): Promise<T> {
    const result =
      method === "POST"
        ? await this.post<T>(target, body, options.idempotencyKey === undefined ? {} : { idempotencyKey: options.idempotencyKey })
        : await this.request<T>(method, target, body);
    return this.unwrap(result);
  }

  private unwrap<T>(result: ApiResult<T>): T {
    if (result.ok) return result.data;
    const requestId = result.response.headers.get("Request-Id") ?? undefined;
    throw apiError(result.status, result.error, { replayed: result.replayed, ...(requestId ? { requestId } : {}) });
  }

  private delayMs(attempt: number, response?: Response): number {
    const backoff = this.opts.backoffMs * 2 ** attempt;
    const retryAfter = Number(response?.headers.get("Retry-After"));
    return Number.isFinite(retryAfter) && retryAfter > 0
      ? Math.max(backoff, Math.min(retryAfter * 1000, MAX_RETRY_AFTER_MS))
      : backoff;
  }
}

/** 429 and 5xx are never stored under an Idempotency-Key (§3), so they are safe to retry. */
function isRetryable(status: number): boolean {
  return status === 429 || status >= 500;
}

export function newIdempotencyKey(): string {
  return `idk_${newJti()}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
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
