import type { Context } from "hono";
import { guard } from "../db/guard";
import { isSql, type Sql, sql } from "../db/sql-template";
import type { AppEnv } from "./context";
import { ApiError } from "./errors";
import { rawJson } from "./raw-json";
import { responseText } from "./responses";

/**
 * partner-api.md §3. An Idempotency-Key's record is written by the batch that commits the request
 * (with the response, rendered by SQL from the rows the batch wrote), or by the batch that stores
 * its business outcome; never before. So there is no claim and nothing in flight: a batch whose
 * key already has a record fails its guard, and the request is then a replay (same method, path
 * and body: the stored bytes, byte for byte) or a reuse (409).
 */
export const IDEMPOTENCY_HEADER = "Idempotency-Key";
export const REPLAYED_HEADER = "Idempotent-Replayed";
/** Keys are kept at least this long (pruned by a scheduled job after it). */
export const RETENTION_MS = 30 * 24 * 3600 * 1000;
const KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;

export interface IdempotencyKey {
  scope: string;
  key: string;
  /** Hex of the first 16 bytes of SHA-256 over the method, the target and the body bytes. */
  hash: string;
}

/** The validated Idempotency-Key header of a POST, or the contract's 400 (naming where it is required). */
export function readIdempotencyKey(c: Context<AppEnv>): string {
  const key = c.req.header(IDEMPOTENCY_HEADER);
  if (key === undefined || key === "") {
    const url = new URL(c.req.url);
    const where = url.pathname.startsWith("/v1/") ? "on every POST under /v1/" : `on POST ${url.pathname}`;
    throw new ApiError("idempotency_key_missing", `the ${IDEMPOTENCY_HEADER} header is required ${where}`);
  }
  if (!KEY_PATTERN.test(key)) {
    throw new ApiError("invalid_param", `${IDEMPOTENCY_HEADER} must be 1 to 255 printable ASCII characters`, IDEMPOTENCY_HEADER);
  }
  return key;
}

export async function idempotencyKeyOf(c: Context<AppEnv>, scope: string): Promise<IdempotencyKey> {
  const key = readIdempotencyKey(c);
  const url = new URL(c.req.url);
  const body = c.get("rawBody");
  const head = new TextEncoder().encode(`${c.req.method}\n${url.pathname + url.search}\n`);
  const all = new Uint8Array(head.length + body.length);
  all.set(head);
  all.set(body, head.length);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all)).slice(0, 16);
  return { scope, key, hash: Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("") };
}

/** The guard that opens a keyed batch: the key has no record yet. */
export function unusedKeyGuard(k: IdempotencyKey): Sql {
  return guard(
    "idempotency_key_exists",
    sql`EXISTS (SELECT 1 FROM idempotency_keys WHERE scope = ${k.scope} AND key = ${k.key})`,
  );
}

/** What a write stores of its response: the text (SQL rendering it), or the values of a format. */
export type StoredResponse = Sql | { format: number; values: Sql };

/** The record of a committed request, RETURNING what renders its answer. */
export function storeResponse(k: IdempotencyKey, status: number, response: StoredResponse, now: number): Sql {
  const [format, body] = isSql(response) ? [null, response] : [response.format, response.values];
  return sql`INSERT INTO idempotency_keys (scope, key, request_hash, response_status, format, response_body, created_at)
    VALUES (${k.scope}, ${k.key}, ${k.hash}, ${status}, ${format}, ${body}, ${now})
    RETURNING response_status, format, response_body`;
}

/** The record of a business outcome, unless the key got one meanwhile (then that one stands). */
export function storeOutcome(k: IdempotencyKey, status: number, body: Sql, now: number): Sql {
  return sql`INSERT INTO idempotency_keys (scope, key, request_hash, response_status, response_body, created_at)
    VALUES (${k.scope}, ${k.key}, ${k.hash}, ${status}, ${body}, ${now})
    ON CONFLICT (scope, key) DO NOTHING`;
}

export function readRecord(k: IdempotencyKey): Sql {
  return sql`SELECT request_hash, response_status, format, response_body FROM idempotency_keys
    WHERE scope = ${k.scope} AND key = ${k.key}`;
}

export interface StoredRecord {
  request_hash: string;
  response_status: number;
  format: number | null;
  response_body: string;
}

/** What a request answers when its key has a record: the stored bytes, or 409 for another request. */
export function answerFromRecord(k: IdempotencyKey, row: StoredRecord | undefined, ours: boolean): Response {
  if (!row) throw new ApiError("idempotency_key_in_use", "a request with this Idempotency-Key is in flight; retry later");
  if (row.request_hash !== k.hash) {
    throw new ApiError("idempotency_key_reused", "this Idempotency-Key was used with a different request");
  }
  return rawJson(responseText(row), row.response_status, ours ? {} : { [REPLAYED_HEADER]: "true" });
}
