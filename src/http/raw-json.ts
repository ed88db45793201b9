/**
 * A response whose body is JSON text already rendered (by SQL, or stored by idempotency): sent as
 * it is, so what is replayed or signed is exactly these bytes.
 */
export function rawJson(text: string, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(text, { status, headers: { "Content-Type": "application/json; charset=UTF-8", ...headers } });
}

/** A list (partner-api.md §1 "Lists") of already-rendered JSON items. */
export function rawJsonList(items: string[], nextCursor: string | null): Response {
  return rawJson(`{"data":[${items.join(",")}],"next_cursor":${JSON.stringify(nextCursor)}}`);
}
