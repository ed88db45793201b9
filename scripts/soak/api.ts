import type { ApiResult } from "../../packages/partner-sdk/src/index";

/** How the bank test reaches the exchange: a fetch (Node's, or the worker's own in workerd) and credentials. */
export interface Transport {
  fetch: (request: Request) => Promise<Response>;
  /** Scheme and host the requests are addressed to (the path is what gets signed). */
  baseUrl: string;
  /** A fresh operator bearer token (scope admin). */
  operatorToken: () => Promise<string>;
}

/** One HTTP exchange as a client observed it. Status 0: the request failed in transport (no answer). */
export interface Answer {
  status: number;
  ok: boolean;
  text: string;
  json: any;
  replayed: boolean;
  latencyMs: number;
  /** `error.code` of an error answer ("network" for a transport failure). */
  code?: string;
}

/** "201", "422 insufficient_points", "network": what the summary and the allowed-outcome checks compare. */
export function outcomeOf(a: Pick<Answer, "status" | "ok" | "code">): string {
  if (a.status === 0) return "network";
  return a.ok ? String(a.status) : `${a.status} ${a.code ?? "?"}`;
}

export function fromClientResult(r: ApiResult<unknown>, latencyMs: number): Answer {
  let json: any;
  try {
    json = r.text ? JSON.parse(r.text) : undefined;
  } catch {
    json = undefined;
  }
  return {
    status: r.status,
    ok: r.ok,
    text: r.text,
    json,
    replayed: r.replayed,
    latencyMs,
    ...(r.ok ? {} : { code: r.error.code }),
  };
}

export function networkFailure(error: unknown, latencyMs: number): Answer {
  return {
    status: 0,
    ok: false,
    text: error instanceof Error ? error.message : String(error),
    json: undefined,
    replayed: false,
    latencyMs,
    code: "network",
  };
}

export async function toAnswer(response: Response, startedAt: number): Promise<Answer> {
  const text = await response.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  const code = typeof json?.error?.code === "string" ? (json.error.code as string) : undefined;
  return {
    status: response.status,
    ok: response.ok,
    text,
    json,
    replayed: response.headers.get("Idempotent-Replayed") === "true",
    latencyMs: Date.now() - startedAt,
    ...(response.ok ? {} : { code: code ?? "?" }),
  };
}

/** An operator API call (`path` under /admin/v1). POSTs carry the given Idempotency-Key (or a fresh one). */
export async function operatorRequest(
  t: Transport,
  method: string,
  path: string,
  body?: unknown,
  idempotencyKey?: string,
): Promise<Answer> {
  const started = Date.now();
  try {
    const headers: Record<string, string> = { Authorization: `Bearer ${await t.operatorToken()}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const key = idempotencyKey ?? (method === "POST" ? `op-${crypto.randomUUID()}` : undefined);
    if (key !== undefined) headers["Idempotency-Key"] = key;
    const response = await t.fetch(
      new Request(`${t.baseUrl.replace(/\/$/, "")}/admin/v1${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    );
    return await toAnswer(response, started);
  } catch (error) {
    return networkFailure(error, Date.now() - started);
  }
}

/** The catch-all 404 of a route that does not exist (yet), as opposed to e.g. partner_not_found. */
export function missingRoute(a: Answer): boolean {
  return a.status === 404 && a.code === "not_found";
}

export function describeAnswer(a: Answer): string {
  return a.status === 0 ? `transport error: ${a.text}` : `${outcomeOf(a)}: ${a.text.slice(0, 300)}`;
}
