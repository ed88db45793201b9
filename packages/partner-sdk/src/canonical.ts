/**
 * RFC 8785 (JCS) canonical JSON of a value parsed from JSON: object members sorted by their
 * UTF-16 code units, no whitespace, strings and numbers as ECMAScript serialises them (which is
 * what JCS prescribes). Enough for statements; kept here so the SDK depends on nothing but jose.
 */
export function canonicalize(value: unknown): string {
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error("JCS: non-finite number");
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalize).join(",")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalize(v)}`).join(",")}}`;
  }
  throw new Error(`JCS: cannot canonicalize a ${typeof value}`);
}
