import { session, signOut } from "./session";

/**
 * Every read and write of the console: /admin/v1/ with the operator's bearer token. An error
 * carries the API's own words (code, message, param); a 401 signs the tab out.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly param?: string,
  ) {
    super(message);
  }
}

let onSignedOut: (why: string) => void = () => {};

export function whenSignedOut(handler: (why: string) => void): void {
  onSignedOut = handler;
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export async function api<T = unknown>(
  method: string,
  path: string,
  body?: unknown,
  opts: { idempotent?: boolean; raw?: boolean } = {},
): Promise<T> {
  const s = session();
  if (!s) {
    onSignedOut("Your session has ended; sign in again.");
    throw new ApiError(401, "signed_out", "Not signed in.");
  }
  const headers: Record<string, string> = { Authorization: `Bearer ${s.token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  // A fresh key per submission: a retried network failure of the same click is not booked twice.
  if (opts.idempotent) headers["Idempotency-Key"] = `console-${crypto.randomUUID()}`;
  const response = await fetch(`/admin/v1${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (response.ok) return (opts.raw ? await response.blob() : await response.json()) as T;
  let error: { code?: string; message?: string; param?: string } = {};
  try {
    error = ((await response.json()) as { error?: typeof error }).error ?? {};
  } catch {
    // not JSON: the status says it
  }
  const failure = new ApiError(
    response.status,
    error.code ?? "http_error",
    error.message ?? `HTTP ${response.status}`,
    error.param,
  );
  // Only the session that sent the request is signed out: a late 401 for a token the tab has
  // already left (signed out, or replaced by a new sign-in) changes nothing.
  if (response.status === 401 && session()?.token === s.token) {
    signOut();
    onSignedOut(`Signed out: ${failure.message}`);
  }
  throw failure;
}

export function errorText(e: unknown): string {
  if (e instanceof ApiError) return `${e.message} (${e.code}${e.param ? `, ${e.param}` : ""})`;
  return e instanceof Error ? e.message : String(e);
}

export const q = (params: Record<string, string | undefined | null>): string => {
  const entries = Object.entries(params).filter((kv): kv is [string, string] => !!kv[1]);
  return entries.length ? `?${new URLSearchParams(entries).toString()}` : "";
};
