/**
 * SQL fragments composed by a tagged template: `sql\`SELECT … WHERE id = ${id}\`` turns each
 * interpolated value into a `?` bind and each interpolated fragment into its text and binds, so
 * fragments nest freely without numbering parameters by hand. Text that is not a bind (a column
 * name, a trusted constant) goes in through `raw`.
 */

export type SqlValue = string | number | null;

export interface Sql {
  readonly text: string;
  readonly params: readonly SqlValue[];
}

/** D1 refuses a statement with more than 100 bound parameters. */
export const MAX_PARAMS = 100;

const FRAGMENT = Symbol("sql");
type Fragment = Sql & { readonly [FRAGMENT]: true };

function fragment(text: string, params: readonly SqlValue[]): Fragment {
  return Object.freeze({ text, params, [FRAGMENT]: true as const });
}

export function isSql(value: unknown): value is Sql {
  return typeof value === "object" && value !== null && FRAGMENT in value;
}

/** One bind: numbers must be exact integers or finite, bigints fit a D1 bind, booleans are 0/1. */
function bind(value: unknown): SqlValue {
  if (value === null || typeof value === "string") return value;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new RangeError(`cannot bind ${value}`);
    return value;
  }
  if (typeof value === "bigint") {
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new RangeError(`integer ${value} is outside the exact range of a D1 bind`);
    }
    return Number(value);
  }
  if (typeof value === "boolean") return value ? 1 : 0;
  // undefined is a bug upstream (a missing field), never silently NULL.
  throw new TypeError(`cannot bind ${value === undefined ? "undefined" : typeof value}`);
}

export function sql(strings: TemplateStringsArray, ...values: unknown[]): Sql {
  let text = strings[0] ?? "";
  const params: SqlValue[] = [];
  values.forEach((value, i) => {
    if (isSql(value)) {
      text += value.text;
      params.push(...value.params);
    } else {
      text += "?";
      params.push(bind(value));
    }
    text += strings[i + 1] ?? "";
  });
  return fragment(text, params);
}

/** Trusted SQL text with no binds (identifiers, constants written in the code). */
export function raw(text: string): Sql {
  return fragment(text, []);
}

/** Fragments joined by a separator (", " by default); an empty list is empty text. */
export function join(parts: readonly Sql[], separator = ", "): Sql {
  return fragment(
    parts.map((p) => p.text).join(separator),
    parts.flatMap((p) => p.params),
  );
}

/** A parenthesised list of binds, for `IN ${list(ids)}`; never empty (an empty IN list is NULL-safe false). */
export function list(values: readonly unknown[]): Sql {
  return values.length === 0 ? raw("(NULL)") : sql`(${join(values.map((v) => sql`${v}`))})`;
}

/** The D1 statement of a fragment. */
export function prepare(db: D1Database, statement: Sql): D1PreparedStatement {
  if (statement.params.length > MAX_PARAMS) {
    throw new RangeError(`a statement binds ${statement.params.length} values; D1 allows ${MAX_PARAMS}`);
  }
  return db.prepare(statement.text).bind(...statement.params);
}

/** Runs fragments as one D1 batch (one round trip, one atomic transaction). */
export function runBatch(db: D1Database, statements: readonly Sql[]): Promise<D1Result[]> {
  return db.batch(statements.map((s) => prepare(db, s)));
}

/** The rows of one query. */
export async function all<T>(db: D1Database, query: Sql): Promise<T[]> {
  return (await prepare(db, query).all<T>()).results;
}

/** The first row of one query, or null. */
export function first<T>(db: D1Database, query: Sql): Promise<T | null> {
  return prepare(db, query).first<T>();
}
