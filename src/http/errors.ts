/**
 * The one table from error code to HTTP status and error type (partner-api.md §1 and §8,
 * operator-api.md). Every error the API answers goes through `ApiError`.
 */
export type ErrorType =
  | "invalid_request"
  | "authentication_error"
  | "permission_error"
  | "risk_declined"
  | "rate_limited"
  | "api_error";

export const ERROR_CODES = {
  // 400
  invalid_body: { status: 400, type: "invalid_request" },
  unknown_field: { status: 400, type: "invalid_request" },
  invalid_param: { status: 400, type: "invalid_request" },
  idempotency_key_missing: { status: 400, type: "invalid_request" },
  // 401
  signature_missing: { status: 401, type: "authentication_error" },
  signature_malformed: { status: 401, type: "authentication_error" },
  unknown_key: { status: 401, type: "authentication_error" },
  signature_invalid: { status: 401, type: "authentication_error" },
  signature_expired: { status: 401, type: "authentication_error" },
  request_mismatch: { status: 401, type: "authentication_error" },
  replayed_request: { status: 401, type: "authentication_error" },
  operator_token_invalid: { status: 401, type: "authentication_error" },
  session_invalid: { status: 401, type: "authentication_error" },
  // 403
  partner_suspended: { status: 403, type: "permission_error" },
  scope_missing: { status: 403, type: "permission_error" },
  // 404
  member_not_found: { status: 404, type: "invalid_request" },
  transaction_not_found: { status: 404, type: "invalid_request" },
  settlement_not_found: { status: 404, type: "invalid_request" },
  partner_not_found: { status: 404, type: "invalid_request" },
  key_not_found: { status: 404, type: "invalid_request" },
  review_not_found: { status: 404, type: "invalid_request" },
  seed_not_found: { status: 404, type: "invalid_request" },
  not_found: { status: 404, type: "invalid_request" },
  // 405
  method_not_allowed: { status: 405, type: "invalid_request" },
  // 409
  idempotency_key_reused: { status: 409, type: "invalid_request" },
  idempotency_key_in_use: { status: 409, type: "invalid_request" },
  member_ref_conflict: { status: 409, type: "invalid_request" },
  hold_not_open: { status: 409, type: "invalid_request" },
  nothing_to_reverse: { status: 409, type: "invalid_request" },
  partner_exists: { status: 409, type: "invalid_request" },
  key_exists: { status: 409, type: "invalid_request" },
  review_not_open: { status: 409, type: "invalid_request" },
  settlement_closed: { status: 409, type: "invalid_request" },
  coalition_not_empty: { status: 409, type: "invalid_request" },
  // 413
  body_too_large: { status: 413, type: "invalid_request" },
  // 415
  unsupported_media_type: { status: 415, type: "invalid_request" },
  // 422
  insufficient_points: { status: 422, type: "invalid_request" },
  link_code_invalid: { status: 422, type: "invalid_request" },
  unknown_unit: { status: 422, type: "invalid_request" },
  partner_funds_exhausted: { status: 422, type: "invalid_request" },
  partner_credit_limit: { status: 422, type: "invalid_request" },
  occurred_at_out_of_window: { status: 422, type: "invalid_request" },
  no_rate_card: { status: 422, type: "invalid_request" },
  amount_too_small: { status: 422, type: "invalid_request" },
  amount_too_large: { status: 422, type: "invalid_request" },
  payout_exceeds_due: { status: 422, type: "invalid_request" },
  // Documentation only: a risk decline answers type risk_declined with the tripped rule's id as
  // its code (ApiError.riskDeclined).
  risk_declined: { status: 422, type: "risk_declined" },
  // 429
  rate_limited: { status: 429, type: "rate_limited" },
  // 5xx
  internal: { status: 500, type: "api_error" },
  unavailable: { status: 503, type: "api_error" },
} as const satisfies Record<string, { status: number; type: ErrorType }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorBody {
  error: {
    type: ErrorType;
    code: string;
    message: string;
    param?: string;
    request_id?: string;
  };
}

export class ApiError extends Error {
  readonly status: number;
  readonly type: ErrorType;
  readonly code: string;
  readonly param: string | undefined;

  constructor(code: ErrorCode, message: string, param?: string) {
    super(message);
    this.status = ERROR_CODES[code].status;
    this.type = ERROR_CODES[code].type;
    this.code = code;
    this.param = param;
  }

  /** A risk decline: `422 risk_declined` whose code is the id of the rule that tripped. */
  static riskDeclined(ruleId: string, message: string): ApiError {
    const e = new ApiError("insufficient_points", message);
    // The code is the operator's rule id, not one of the table's codes.
    Object.assign(e, { status: 422, type: "risk_declined", code: ruleId });
    return e;
  }

  body(requestId?: string): ErrorBody {
    return {
      error: {
        type: this.type,
        code: this.code,
        message: this.message,
        ...(this.param === undefined ? {} : { param: this.param }),
        ...(requestId === undefined ? {} : { request_id: requestId }),
      },
    };
  }
}

/** Codes whose answers are business outcomes: stored and replayed by idempotency (§3). */
export function isStoredOutcome(e: ApiError): boolean {
  if (e.code === "idempotency_key_reused" || e.code === "idempotency_key_in_use") return false;
  return e.status === 404 || e.status === 409 || e.status === 422;
}
