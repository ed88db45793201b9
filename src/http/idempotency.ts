import type { Context } from "hono";
import { guardStatement, guardViolated } from "../db/guard";
import { randomToken } from "../db/ids";
import { shiftParams } from "../db/sql";
import type { AppEnv } from "./context";
import { ApiError, isStoredOutcome } from "./errors";
import { rawJson } from "./raw-json";

/**
 * partner-api.md §3. A POST claims its key (scope = partner), then commits its writes in ONE
 * D1 batch that also stores the response: the batch starts with a guard that the claim is still
 * ours and ends with the UPDATE that stores the response, rendered by SQL from the rows the
 * batch just wrote (so what is stored is exactly what was committed).
 */
export const IDEMPOTENCY_HEADER = "Idempotency-Key";
export const REPLAYED_HEADER = "Idempotent-Replayed";
/** A key whose first request died mid-flight is usable again after this. */
export const CLAIM_TIMEOUT_MS = 60_000;
/** Keys are kept at least this long (pruned by a scheduled job after it). */
export const RETENTION_MS = 30 * 24 * 3600 * 1000;
const KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;

/** A SQL expression (with its binds) that renders the response body as JSON text. */
export interface SqlJson {
  sql: string;
  binds: unknown[];
}

export interface Outcome {
  status: number;
  /** Writes to commit atomically with the stored response. */
  statements: D1PreparedStatement[];
  /** The response body, rendered by SQL after `statements` ran in the same batch. */
  body: SqlJson;
  /**
   * Maps a failure of the commit batch to a business outcome of its own (a risk decline, whose
   * guard is the request's own), stored and replayed like a guard's, and committed together with
   * `statements` (the risk event log). Undefined: not one.
   */
  onCommitError?: (error: unknown) => { error: ApiError; statements: D1PreparedStatement[] } | undefined;
}

interface Claim {
  scope: string;
  key: string;
  token: string;
}

async function requestHash(method: string, target: string, body: Uint8Array): Promise<string> {
  const head = new TextEncoder().encode(`${method}\n${target}\n`);
  const all = new Uint8Array(head.length + body.length);
  all.set(head);
  all.set(body, head.length);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

function jsonResponse(status: number, body: string, replayed: boolean): Response {
  return rawJson(body, status, replayed ? { [REPLAYED_HEADER]: "true" } : {});
}

/**
 * Where the header is required, as the message says it: on every POST of the partner API
 * (partner-api.md §3), and only on some of the operator API's, so there the route at hand is named.
 */
function keyRequiredWhere(c: Context<AppEnv>): string {
  const path = new URL(c.req.url).pathname;
  return path.startsWith("/v1/") ? "every POST under /v1/" : `${c.req.method} ${path}`;
}

/** The validated Idempotency-Key header of a POST, or the contract's 400. */
export function readIdempotencyKey(c: Context<AppEnv>): string {
  const key = c.req.header(IDEMPOTENCY_HEADER);
  if (key === undefined || key === "") {
    throw new ApiError("idempotency_key_missing", `the ${IDEMPOTENCY_HEADER} header is required on ${keyRequiredWhere(c)}`);
  }
  if (!KEY_PATTERN.test(key)) {
    throw new ApiError("invalid_param", `${IDEMPOTENCY_HEADER} must be 1 to 255 printable ASCII characters`, IDEMPOTENCY_HEADER);
  }
  return key;
}

/**
 * Runs `work` at most once per (scope, key). `work` may throw an ApiError: a business outcome
 * (404/409/422) is stored and replayed; anything else releases the key for a corrected retry.
 */
export async function idempotent(
  c: Context<AppEnv>,
  scope: string,
  work: (prefetched: D1Result[]) => Promise<Outcome>,
  /**
   * Reads the work needs, sent in the claim's own batch to save a round trip; their results are
   * handed to `work` (and dropped when the request is a replay).
   */
  prefetch: D1PreparedStatement[] = [],
  // biome-ignore lint/suspicious/noExplicitAny: the stored bytes are returned as they are; each route's schema documents their shape.
): Promise<any> {
  const db = c.env.DB;
  const key = readIdempotencyKey(c);
  const now = c.get("now");
  const url = new URL(c.req.url);
  const hash = await requestHash(c.req.method, url.pathname + url.search, c.get("rawBody"));
  const claim: Claim = { scope, key, token: randomToken() };

  // Claim: a new key, or one whose earlier claim is stale (its request died mid-flight). The same
  // batch reads the record (for a replay) and whatever the work prefetches: one round trip.
  const [claimed, existing, ...prefetched] = await db.batch([
    db
      .prepare(
        `INSERT INTO idempotency_keys (scope, key, request_hash, state, claim_token, claimed_at, created_at)
         VALUES (?1, ?2, ?3, 'in_flight', ?4, ?5, ?5)
         ON CONFLICT (scope, key) DO UPDATE SET request_hash = excluded.request_hash,
           claim_token = excluded.claim_token, claimed_at = excluded.claimed_at
          WHERE idempotency_keys.state = 'in_flight' AND idempotency_keys.claimed_at <= ?6`,
      )
      .bind(scope, key, hash, claim.token, now, now - CLAIM_TIMEOUT_MS),
    db
      .prepare("SELECT request_hash, state, response_status, response_body FROM idempotency_keys WHERE scope = ?1 AND key = ?2")
      .bind(scope, key),
    ...prefetch,
  ]);
  if (claimed?.meta.changes !== 1) {
    const row = existing?.results[0] as
      | { request_hash: string; state: string; response_status: number; response_body: string }
      | undefined;
    if (row && row.request_hash !== hash) {
      throw new ApiError("idempotency_key_reused", "this Idempotency-Key was used with a different request");
    }
    if (row?.state === "done") return jsonResponse(row.response_status, row.response_body, true);
    throw new ApiError("idempotency_key_in_use", "a request with this Idempotency-Key is in flight; retry later");
  }

  let outcome: Outcome;
  try {
    outcome = await work(prefetched);
  } catch (error) {
    if (error instanceof ApiError && isStoredOutcome(error)) return storeError(c, claim, error);
    await release(db, claim);
    throw error;
  }
  try {
    return await commit(c, claim, outcome);
  } catch (error) {
    const code = guardViolated(error);
    if (code === "idempotency_claim_lost") {
      throw new ApiError("idempotency_key_in_use", "a request with this Idempotency-Key is in flight; retry later");
    }
    // close_funding_moved belongs to the settlement close, which is not run under an Idempotency-Key.
    if (code !== undefined && code !== "close_funding_moved") return storeError(c, claim, new ApiError(code, guardMessage(code)));
    const own = outcome.onCommitError?.(error);
    if (own) return storeError(c, claim, own.error, own.statements);
    if (error instanceof ApiError && isStoredOutcome(error)) return storeError(c, claim, error);
    await release(db, claim).catch(() => undefined);
    throw error;
  }
}

function claimGuard(db: D1Database, claim: Claim): D1PreparedStatement {
  return guardStatement(
    db,
    "idempotency_claim_lost",
    "NOT EXISTS (SELECT 1 FROM idempotency_keys WHERE scope = ? AND key = ? AND claim_token = ? AND state = 'in_flight')",
    claim.scope,
    claim.key,
    claim.token,
  );
}

async function commit(c: Context<AppEnv>, claim: Claim, outcome: Outcome): Promise<Response> {
  const db = c.env.DB;
  const store = db
    .prepare(
      `UPDATE idempotency_keys SET state = 'done', response_status = ?1, response_body = (${shiftParams(outcome.body.sql, 4)})
        WHERE scope = ?2 AND key = ?3 AND claim_token = ?4 RETURNING response_status, response_body`,
    )
    .bind(outcome.status, claim.scope, claim.key, claim.token, ...outcome.body.binds);
  const results = await db.batch([claimGuard(db, claim), ...outcome.statements, store]);
  c.set("d1Rows", {
    read: results.reduce((n, r) => n + (r.meta.rows_read ?? 0), 0),
    written: results.reduce((n, r) => n + (r.meta.rows_written ?? 0), 0),
  });
  const row = results[results.length - 1]?.results?.[0] as { response_status: number; response_body: string } | undefined;
  if (!row) throw new Error("idempotent commit stored no response");
  return jsonResponse(row.response_status, row.response_body, false);
}

/** Stores a business error (it is replayed like a success), with `extra` writes in the same batch. */
async function storeError(
  c: Context<AppEnv>,
  claim: Claim,
  error: ApiError,
  extra: D1PreparedStatement[] = [],
): Promise<Response> {
  const body = JSON.stringify(error.body(c.get("requestId")));
  const db = c.env.DB;
  await db.batch([
    claimGuard(db, claim),
    ...extra,
    db
      .prepare(
        "UPDATE idempotency_keys SET state = 'done', response_status = ?, response_body = ? WHERE scope = ? AND key = ? AND claim_token = ?",
      )
      .bind(error.status, body, claim.scope, claim.key, claim.token),
  ]);
  return jsonResponse(error.status, body, false);
}

async function release(db: D1Database, claim: Claim): Promise<void> {
  await db
    .prepare("DELETE FROM idempotency_keys WHERE scope = ? AND key = ? AND claim_token = ? AND state = 'in_flight'")
    .bind(claim.scope, claim.key, claim.token)
    .run();
}

const GUARD_MESSAGES: Record<string, string> = {
  insufficient_points: "the member does not have enough available points",
  hold_not_open: "this hold is no longer open",
  nothing_to_reverse: "nothing is left to reverse on this transaction",
  partner_funds_exhausted: "the partner's prepaid balance does not cover this issuance",
  partner_credit_limit: "this issuance would exceed the partner's credit limit",
  link_code_invalid: "the link code is unknown, used or expired",
  member_ref_conflict: "this member_ref is already linked to another member",
  review_not_open: "this transaction is not in review",
  settlement_closed: "this settlement period is closed",
  payout_exceeds_due: "the payout exceeds what is due to the partner",
};

function guardMessage(code: string): string {
  return GUARD_MESSAGES[code] ?? code;
}
