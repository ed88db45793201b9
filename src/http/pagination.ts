import { base64url } from "jose";
import { ApiError } from "./errors";

/** Opaque list cursors (partner-api.md §1 "Lists"): base64url JSON of the last row's sort key. */
export function encodeCursor(position: Record<string, string | number>): string {
  return base64url.encode(JSON.stringify(position));
}

/** A cursor that decodes but holds no position of this list. */
export function badCursor(): ApiError {
  return new ApiError("invalid_param", "cursor is not one this API returned", "cursor");
}

export function decodeCursor<K extends string>(
  cursor: string | undefined,
  keys: readonly K[],
): Record<K, string | number> | undefined {
  if (cursor === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(base64url.decode(cursor)));
  } catch {
    throw badCursor();
  }
  if (typeof parsed !== "object" || parsed === null) throw badCursor();
  const record = parsed as Record<string, unknown>;
  for (const key of keys) {
    const v = record[key];
    if (typeof v !== "string" && typeof v !== "number") throw badCursor();
  }
  return record as Record<K, string | number>;
}

/** Fetch limit + 1 rows; the extra row only says whether a next page exists. */
export function page<T>(rows: T[], limit: number, positionOf: (last: T) => Record<string, string | number>) {
  const data = rows.slice(0, limit);
  const last = data[data.length - 1];
  return { data, next_cursor: rows.length > limit && last !== undefined ? encodeCursor(positionOf(last)) : null };
}
