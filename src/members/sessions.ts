import { timeText } from "../db/sql";
import { type Sql, sql } from "../db/sql-template";

/**
 * Member sessions (docs/member-sessions.md): a bearer token a partner's backend obtains for one of
 * its members, read-only and valid at most 15 minutes, that the member's browser uses on
 * `/v1/me`. The token is 32 random bytes; the database keeps only its SHA-256, so a copy of the
 * database (or its idempotency records' hashes) cannot be replayed as a session.
 */

export const SESSION_TTL_MAX_SECONDS = 900;
export const SESSION_TOKEN_PREFIX = "mst_";
/** `mst_` and 43 base64url characters (32 bytes). */
export const SESSION_TOKEN_PATTERN = /^mst_[A-Za-z0-9_-]{43}$/;

/**
 * A fresh token for a member of `bucket`: its first 12 bits are the bucket (the member's shard is
 * found from the token, src/shards/placement.ts), the other 244 bits random.
 */
export function newSessionToken(bucket: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  bytes[0] = (bucket >> 4) & 255;
  bytes[1] = ((bucket & 15) << 4) | ((bytes[1] ?? 0) & 15);
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return SESSION_TOKEN_PREFIX + btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** The member bucket a token (of SESSION_TOKEN_PATTERN) names: its first 12 bits. */
export function bucketOfSessionToken(token: string): number {
  const head = atob(
    token
      .slice(SESSION_TOKEN_PREFIX.length, SESSION_TOKEN_PREFIX.length + 4)
      .replaceAll("-", "+")
      .replaceAll("_", "/"),
  );
  return ((head.charCodeAt(0) << 4) | (head.charCodeAt(1) >> 4)) & 4095;
}

/** Hex SHA-256 of the token: what the database stores and looks up. */
export async function sessionTokenHash(token: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Inserts the session of `member` (nothing when the member is not linked: its guard answers first). */
export function insertSession(s: { hash: string; partnerId: string; member: Sql; expiresAt: number; now: number }): Sql {
  return sql`INSERT INTO member_sessions (token_hash, partner_id, member_id, expires_at, created_at)
    SELECT ${s.hash}, ${s.partnerId}, ${s.member}, ${s.expiresAt}, ${s.now} WHERE ${s.member} IS NOT NULL`;
}

/** The answer `{ token, expires_at }` (stored for replays like any write's answer). */
export function sessionAnswer(token: string, expiresAt: number): Sql {
  return sql`json_object('token', ${token}, 'expires_at', ${timeText(sql`${expiresAt}`)})`;
}

/** SQL: FROM and WHERE of the session of token hash `hash` in force at `now`, of an active partner. */
function inForce(hash: string, now: number): Sql {
  return sql`FROM member_sessions s JOIN partners p ON p.id = s.partner_id
     WHERE s.token_hash = ${hash} AND s.expires_at > ${now} AND p.status = 'active'`;
}

/** SQL: the session's row with its partner's allowed origins; none when the token is unknown, expired or its partner suspended. */
export function sessionRow(hash: string, now: number): Sql {
  return sql`SELECT s.partner_id, s.member_id, p.allowed_origins ${inForce(hash, now)}`;
}

/** SQL: the member of the session (NULL when there is none in force). */
export function sessionMember(hash: string, now: number): Sql {
  return sql`(SELECT s.member_id ${inForce(hash, now)})`;
}

/** SQL: the partner of the session (for the §4 privacy rule on activity). */
export function sessionPartner(hash: string, now: number): Sql {
  return sql`(SELECT s.partner_id ${inForce(hash, now)})`;
}

/** SQL condition: some partner allows `origin` (a preflight carries no token to tell which). */
export function originAllowedByAny(origin: string): Sql {
  return sql`SELECT EXISTS (SELECT 1 FROM partners p, json_each(p.allowed_origins) o
    WHERE o.value = ${origin} AND p.status = 'active') AS allowed`;
}
