/** The contract's error body (partner-api.md §1), plus the request id the exchange adds. */
export interface ApiErrorBody {
  error: { type: string; code: string; message: string; param?: string; request_id?: string };
}

/**
 * An answer other than 2xx, thrown by the typed methods. `type`, `code` and `param` are the
 * contract's; `requestId` is what to quote to the operator (body `request_id`, else the
 * `Request-Id` header).
 */
export class PartnerApiError extends Error {
  readonly status: number;
  readonly type: string;
  readonly code: string;
  readonly param: string | undefined;
  readonly requestId: string | undefined;
  /** True when the answer is a stored business outcome replayed for this Idempotency-Key. */
  readonly replayed: boolean;

  constructor(status: number, error: ApiErrorBody["error"], opts: { requestId?: string; replayed?: boolean } = {}) {
    super(`${status} ${error.type}/${error.code}: ${error.message}`);
    this.name = "PartnerApiError";
    this.status = status;
    this.type = error.type;
    this.code = error.code;
    this.param = error.param;
    this.requestId = error.request_id ?? opts.requestId;
    this.replayed = opts.replayed ?? false;
  }
}

/** 401 `authentication_error`: the signature, its clock or its jti (§2). */
export class AuthenticationError extends PartnerApiError {}
/** 403 `permission_error` (`partner_suspended`). */
export class PermissionError extends PartnerApiError {}
/** 422 `risk_declined`: `code` is the id of the rule that tripped (§6). */
export class RiskDeclinedError extends PartnerApiError {}
/** 429 `rate_limited`, once the retries are spent. */
export class RateLimitedError extends PartnerApiError {}
/** 5xx `api_error`, once the retries are spent; never a partial write (§1). */
export class ServerError extends PartnerApiError {}
/** 400/404/409/422 `invalid_request`. */
export class InvalidRequestError extends PartnerApiError {}

/** The subclass for an error's `type`, so callers can `catch (e) { if (e instanceof RiskDeclinedError) … }`. */
export function apiError(
  status: number,
  error: ApiErrorBody["error"],
  opts: { requestId?: string; replayed?: boolean } = {},
): PartnerApiError {
  const Class =
    error.type === "authentication_error"
      ? AuthenticationError
      : error.type === "permission_error"
        ? PermissionError
        : error.type === "risk_declined"
          ? RiskDeclinedError
          : error.type === "rate_limited"
            ? RateLimitedError
            : error.type === "invalid_request"
              ? InvalidRequestError
              : status >= 500
                ? ServerError
                : PartnerApiError;
  const e = new Class(status, error, opts);
  e.name = Class.name;
  return e;
}
