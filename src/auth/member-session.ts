import type { MiddlewareHandler } from "hono";
import { first } from "../db/sql-template";
import type { AppEnv } from "../http/context";
import { ApiError } from "../http/errors";
import { bucketOfSessionToken, originAllowedByAny, SESSION_TOKEN_PATTERN, sessionTokenHash } from "../members/sessions";

/**
 * The member endpoints (`/v1/me`, docs/member-sessions.md) take a member session token as
 * `Authorization: Bearer mst_…`. This only checks its form and hashes it; whether it is in force
 * is decided in the request's one batch (src/members/sessions.ts `sessionRow`).
 */
export function memberSession(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const match = /^Bearer (\S+)$/.exec(c.req.header("Authorization") ?? "");
    if (!match?.[1] || !SESSION_TOKEN_PATTERN.test(match[1])) {
      throw new ApiError("session_invalid", "a member session token is required: Authorization: Bearer mst_…");
    }
    c.set("memberSession", { hash: await sessionTokenHash(match[1]), bucket: bucketOfSessionToken(match[1]) });
    await next();
  };
}

const PREFLIGHT_MAX_AGE_SECONDS = 600;

/**
 * CORS for the member endpoints, per partner (`allowed_origins`, set by the operator). An answer
 * to a session names its partner, so it is readable only from that partner's origins. A preflight
 * or an error carries no session to tell whose: it is allowed for an origin some active partner
 * allows (it shows nothing of a member).
 */
export function memberCors(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const origin = c.req.header("Origin");
    if (c.req.method === "OPTIONS") {
      const headers = new Headers({ Vary: "Origin" });
      if (origin && (await anyPartnerAllows(c.env.DB, origin))) {
        headers.set("Access-Control-Allow-Origin", origin);
        headers.set("Access-Control-Allow-Methods", "GET");
        headers.set("Access-Control-Allow-Headers", "Authorization");
        headers.set("Access-Control-Max-Age", String(PREFLIGHT_MAX_AGE_SECONDS));
      }
      return new Response(null, { status: 204, headers });
    }
    await next();
    c.res = new Response(c.res.body, c.res);
    c.res.headers.append("Vary", "Origin");
    if (!origin) return;
    const own = c.get("memberOrigins");
    const allowed = own ? own.includes(origin) : c.res.status >= 400 && (await anyPartnerAllows(c.env.DB, origin));
    if (allowed) c.res.headers.set("Access-Control-Allow-Origin", origin);
  };
}

async function anyPartnerAllows(db: D1Database, origin: string): Promise<boolean> {
  if (origin.length > 200) return false;
  return (await first<{ allowed: number }>(db, originAllowedByAny(origin)))?.allowed === 1;
}
