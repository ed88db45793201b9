import type { ListOptions, Page } from "./types.js";

/**
 * Every item of a cursor-paginated list (§1: `{ data, next_cursor }`), fetching a page only when
 * the previous one is used up, so a `break` stops the requests.
 */
export async function* paginate<T>(
  fetchPage: (options: ListOptions) => Promise<Page<T>>,
  options: ListOptions = {},
): AsyncGenerator<T, void, undefined> {
  let cursor = options.cursor;
  for (;;) {
    const page = await fetchPage({ ...options, ...(cursor === undefined ? {} : { cursor }) });
    yield* page.data;
    if (page.next_cursor === null) return;
    cursor = page.next_cursor;
  }
}

/** `?limit=…&cursor=…` for a list request; empty when neither is given. */
export function listQuery(options: ListOptions = {}): string {
  const query = new URLSearchParams();
  if (options.limit !== undefined) query.set("limit", String(options.limit));
  if (options.cursor !== undefined) query.set("cursor", options.cursor);
  const text = query.toString();
  return text ? `?${text}` : "";
}
