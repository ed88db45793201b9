/**
 * The operator's session: the bearer token lives in this tab only (sessionStorage), read from
 * what was pasted or from a sign-in link's fragment (#token=…, which never reaches a server's
 * log). Its claims are read, not verified: the API verifies every request; the console only
 * shows who, until when, and hides write controls from a `read` token.
 */

const KEY = "coalition-operator-token";

export interface Session {
  token: string;
  sub: string;
  scopes: string[];
  /** Seconds since the epoch. */
  exp: number;
}

function claimsOf(token: string): Record<string, unknown> | undefined {
  const part = token.split(".")[1];
  if (!part) return undefined;
  try {
    const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
    const json = new TextDecoder().decode(Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0)));
    const claims: unknown = JSON.parse(json);
    return claims && typeof claims === "object" ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function parseToken(token: string): Session | string {
  const trimmed = token.trim();
  const claims = claimsOf(trimmed);
  if (!claims) return "That is not an operator token (a JWT: three base64url parts separated by dots).";
  const exp = typeof claims.exp === "number" ? claims.exp : 0;
  if (exp * 1000 <= Date.now()) return "That token has expired; mint a new one.";
  return {
    token: trimmed,
    sub: typeof claims.sub === "string" ? claims.sub : "?",
    scopes: typeof claims.scope === "string" ? claims.scope.split(" ").filter(Boolean) : [],
    exp,
  };
}

let current: Session | undefined;

export function session(): Session | undefined {
  if (current && current.exp * 1000 <= Date.now()) signOut();
  return current;
}

/** Whether the token may write: `admin` grants everything, `read` only GETs (operator-api.md). */
export function canWrite(): boolean {
  return session()?.scopes.includes("admin") ?? false;
}

export function signIn(token: string): Session | string {
  const parsed = parseToken(token);
  if (typeof parsed === "string") return parsed;
  current = parsed;
  sessionStorage.setItem(KEY, parsed.token);
  return parsed;
}

export function signOut(): void {
  current = undefined;
  sessionStorage.removeItem(KEY);
}

/**
 * At start: a sign-in link's token (taken out of the address at once), else the tab's stored
 * one. Answers why a link's token was not taken (expired, not a token).
 */
export function restore(): string | undefined {
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ""));
  const fromLink = fragment.get("token");
  if (fromLink) {
    history.replaceState(null, "", `${location.pathname}${location.search}#/overview`);
    const result = signIn(fromLink);
    return typeof result === "string" ? `The sign-in link's token was not taken: ${result}` : undefined;
  }
  const stored = sessionStorage.getItem(KEY);
  if (stored && typeof parseToken(stored) !== "string") signIn(stored);
  else signOut();
  return undefined;
}
