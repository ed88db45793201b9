/**
 * @coalition/partner-sdk: the partner API of the coalition points exchange (partner-api.md).
 * Web APIs only (fetch, crypto.subtle, TextEncoder) and jose: Node ≥ 20, Workers, Deno, Bun, browsers.
 */
export { type ApiResult, type CallOptions, type ClientOptions, newIdempotencyKey, PartnerClient } from "./client.js";
export {
  type ApiErrorBody,
  AuthenticationError,
  apiError,
  InvalidRequestError,
  PartnerApiError,
  PermissionError,
  RateLimitedError,
  RiskDeclinedError,
  ServerError,
} from "./errors.js";
export { paginate } from "./pagination.js";
export { newJti, type PartnerCredentials, SIGNATURE_TYP, type SignInput, sha256Base64url, signRequest } from "./signing.js";
export type * from "./types.js";
export { type ReportVerifyResult, type SignedReport, verifyReportSignatures } from "./verify-report.js";
export {
  fetchJwks,
  type Statement,
  type StatementLine,
  type VerifyResult,
  verifyStatement,
  verifyStatementData,
} from "./verify-statement.js";
