import type { Context } from "hono";
import type { AppEnv } from "../http/context";
import { ApiError } from "../http/errors";

export interface SessionRow {
  partner_id: string;
  member_id: string;
  allowed_origins: string;
}

/** The session of the request's batch, or `401 session_invalid`; records its partner's origins for CORS. */
export function sessionOf(c: Context<AppEnv>, row: unknown): SessionRow {
  const session = row as SessionRow | undefined;
  if (!session) throw new ApiError("session_invalid", "the member session is unknown, expired or ended");
  c.set("memberOrigins", JSON.parse(session.allowed_origins) as string[]);
  return session;
}
