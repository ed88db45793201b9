import { z } from "@hono/zod-openapi";
import { DecimalFormatError, parseDecimal } from "../rates/decimal";
import { ERROR_CODES, type ErrorCode } from "./errors";

/** Shared wire schemas (partner-api.md §1). Objects are strict: unknown fields are refused. */

export const ErrorSchema = z
  .object({
    error: z.object({
      type: z.enum(["invalid_request", "authentication_error", "permission_error", "risk_declined", "rate_limited", "api_error"]),
      code: z.string(),
      message: z.string(),
      param: z.string().optional(),
      request_id: z.string().optional(),
    }),
  })
  .openapi("Error");

/** A positive decimal string with at most 6 decimals ("12.34"). */
export const DecimalString = z
  .string()
  .max(40)
  .refine((s) => {
    try {
      return parseDecimal(s).units > 0n;
    } catch (e) {
      if (e instanceof DecimalFormatError) return false;
      throw e;
    }
  }, 'must be a positive decimal string with at most 6 decimals, like "12.34"')
  .openapi({ example: "58.00" });

/** A decimal string that may be zero (prices). */
export const NonNegativeDecimalString = z
  .string()
  .max(40)
  .refine((s) => {
    try {
      return parseDecimal(s).units >= 0n;
    } catch (e) {
      if (e instanceof DecimalFormatError) return false;
      throw e;
    }
  }, 'must be a non-negative decimal string with at most 6 decimals, like "0.010"')
  .openapi({ example: "0.010" });

export const UnitCode = z
  .string()
  .regex(/^[A-Z][A-Z0-9]{1,9}$/, "must be an ISO 4217 code or a brand unit code, like CNY or MILE")
  .openapi({ example: "CNY" });

export const AmountSchema = z.strictObject({ value: DecimalString, unit: UnitCode }).openapi("Amount");

/** Amounts in responses may be negative (a statement's net). */
export const SignedAmountSchema = z.object({ value: z.string(), unit: z.string() }).openapi("SignedAmount");

export const Points = z.number().int().min(1).max(1_000_000_000_000).openapi({ example: 500 });

export const Rfc3339 = z
  .string()
  .max(40)
  .regex(
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/,
    "must be an RFC 3339 time, like 2026-11-23T06:12:34Z",
  )
  .refine((s) => Number.isFinite(Date.parse(s)), "must be a valid time")
  .openapi({ example: "2026-11-23T06:12:34Z" });

export const ListQuery = z.strictObject({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(100)
    .default(20)
    .openapi({ param: { name: "limit", in: "query" } }),
  cursor: z
    .string()
    .max(200)
    .optional()
    .openapi({ param: { name: "cursor", in: "query" } }),
});

/** An optional exact-match filter of a list, named as its query parameter. */
export const FilterString = (name: string, max = 128) =>
  z
    .string()
    .min(1)
    .max(max)
    .optional()
    .openapi({ param: { name, in: "query" } });

export function listOf<T extends z.ZodTypeAny>(item: T) {
  return z.object({ data: z.array(item), next_cursor: z.string().nullable() });
}

/** OpenAPI error responses of a route, grouped by status, naming every code it may answer. */
export function errorResponses(...codes: ErrorCode[]) {
  const byStatus = new Map<number, string[]>();
  for (const code of codes) {
    const status = ERROR_CODES[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<number, { description: string; content: { "application/json": { schema: typeof ErrorSchema } } }> = {};
  for (const [status, list] of byStatus) {
    responses[status] = { description: `Error: ${list.join(", ")}`, content: { "application/json": { schema: ErrorSchema } } };
  }
  return responses;
}

/** Errors every signed partner request may answer (§2, §8). */
export const PARTNER_AUTH_ERRORS: ErrorCode[] = [
  "signature_missing",
  "signature_malformed",
  "unknown_key",
  "signature_invalid",
  "signature_expired",
  "request_mismatch",
  "replayed_request",
  "partner_suspended",
  "internal",
  "unavailable",
];

/** Errors of every POST under /v1 (§3). */
export const IDEMPOTENCY_ERRORS: ErrorCode[] = ["idempotency_key_missing", "idempotency_key_reused", "idempotency_key_in_use"];

export const OPERATOR_AUTH_ERRORS: ErrorCode[] = ["operator_token_invalid", "scope_missing", "internal", "unavailable"];

export const jsonBody = <T extends z.ZodTypeAny>(schema: T) => ({
  required: true,
  content: { "application/json": { schema } },
});

export const jsonResponse = <T extends z.ZodTypeAny>(description: string, schema: T) => ({
  description,
  content: { "application/json": { schema } },
});

/**
 * The Idempotency-Key header of a keyed write (partner-api.md §3: every POST under /v1/; the
 * operator's payments, payouts, adjustments and review decisions), for `request.headers`. It
 * documents the header, one component every such operation refers to; the runtime check stays
 * `readIdempotencyKey` (src/http/idempotency.ts), whose contract answers (400
 * idempotency_key_missing, invalid_param) come after the body's validation: so the schema that
 * validates accepts any header, and only its OpenAPI metadata says required and what a key is.
 * (Keyed as the contract spells the header; Hono's header validator sees names lowercased, so
 * this optional key never holds a value there, and nothing reads it.)
 */
export const IdempotencyKeyHeader = z.object({
  "Idempotency-Key": z
    .string()
    .optional()
    .openapi("IdempotencyKey", {
      param: {
        name: "Idempotency-Key",
        in: "header",
        required: true,
        description:
          "1 to 255 printable ASCII characters, fresh for each new request (partner-api.md §3). The same key with the same method, path and body replays the first answer (`Idempotent-Replayed: true`); with another request it answers 409 idempotency_key_reused. Missing: 400 idempotency_key_missing.",
      },
      type: "string",
      minLength: 1,
      maxLength: 255,
      pattern: "^[\\x20-\\x7E]{1,255}$",
      example: "earn-7f3c9a2e-5b1d-4e8a-9c0f-2d6b8e1a4c37",
    }),
});
