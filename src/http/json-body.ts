import type { Context } from "hono";
import type { AppEnv } from "./context";
import { ApiError } from "./errors";
import { parseJsonBody } from "./strict-json";

/**
 * Makes `c.req.json()` (what @hono/zod-openapi's validator reads a JSON body with) parse the
 * raw body bytes strictly (./strict-json.ts): the very bytes the signature's `bh` and the
 * idempotency hash cover, not a second decoding of them. Lazy: it runs where the route's body
 * validator runs, after authentication (partner-api.md §2 fixes the signature checks first),
 * and routes without a body never pay for it.
 *
 * Hono's validator turns any error of `json()` into a bare "Malformed JSON" 400, so the precise
 * error is also kept in `bodyError` for the error handler to answer with (see `toApiError`).
 */
export function useStrictJson(c: Context<AppEnv>): void {
  let parsed: Promise<unknown> | undefined;
  c.req.json = <T>() => {
    parsed ??= parse(c);
    return parsed as Promise<T>;
  };
}

async function parse(c: Context<AppEnv>): Promise<unknown> {
  try {
    requireUtf8Charset(c.req.header("Content-Type"));
    return parseJsonBody(c.get("rawBody"));
  } catch (error) {
    if (error instanceof ApiError) c.set("bodyError", error);
    throw error;
  }
}

/**
 * JSON is UTF-8 (RFC 8259 §8.1) and the body is read as UTF-8 whatever the header says, so a
 * Content-Type naming another charset describes bytes that would be stored as something else.
 */
export function requireUtf8Charset(contentType: string | undefined): void {
  const m = /;\s*charset\s*=\s*("?)([^";,\s]*)\1/i.exec(contentType ?? "");
  if (m && !/^utf-?8$/i.test(m[2] ?? "")) {
    throw new ApiError(
      "invalid_body",
      `the body must be UTF-8 JSON, and the Content-Type says charset=${(m[2] ?? "").slice(0, 40)}`,
    );
  }
}
