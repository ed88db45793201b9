/**
 * A D1 binding that counts its round trips (a batch, or one statement's run / all / first / raw)
 * into `counter`, for tests that hold requests to a budget of D1 calls.
 */
export interface CallCounter {
  calls: number;
  /** The SQL of the last batch sent. */
  lastBatch: string[];
}

export function counting(db: D1Database, counter: CallCounter): D1Database {
  const statement = (s: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(s, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== "function") return value;
        if (prop === "bind") return (...args: unknown[]) => statement(value.apply(target, args));
        if (["run", "all", "first", "raw"].includes(String(prop))) {
          return (...args: unknown[]) => {
            counter.calls++;
            return value.apply(target, args);
          };
        }
        return value.bind(target);
      },
    });
  return new Proxy(db, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop === "prepare") return (query: string) => statement(target.prepare(query));
      if (prop === "batch") {
        return (statements: D1PreparedStatement[]) => {
          counter.calls++;
          counter.lastBatch = statements.map((s) => String((s as unknown as { statement: string }).statement));
          return target.batch(statements);
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** The same database, except that every batch fails as an unreachable database's would (fault injection). */
export function failingBatches(db: D1Database, message = "the database is unreachable"): D1Database {
  return new Proxy(db, {
    get(target, name) {
      if (name === "batch") return () => Promise.reject(new Error(message));
      const value = Reflect.get(target, name);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
