/**
 * The bench worker's D1 meter: one per request, wrapping the D1 binding the app is given. It
 * counts every round trip the request makes (a `batch()`, or one statement's `run` / `all` /
 * `first` / `raw`, or an `exec`) and sums D1's own `meta` over all of them: rows read and
 * written, `duration` (SQL time inside the database), and the last `size_after` (the database
 * size in bytes after the call). A call that fails (a guard's CHECK aborting a batch) is counted,
 * but D1 reports no meta for it: its rows are not in the sums.
 *
 * `first()` is sent as `all()` (the same query, so the same rows; D1's `first` returns no meta)
 * and answers the first row as `first` does. Sessions (`withSession`) are not metered: the
 * exchange does not use them, and a bench that counted them wrong would be worse than one that
 * refuses.
 */

export interface StatementMeter {
  /** The statement's SQL, whitespace collapsed, cut at LABEL_CHARS. */
  sql: string;
  read: number;
  written: number;
  ms: number;
}

export interface CallMeter {
  kind: "batch" | "run" | "all" | "first" | "raw" | "exec";
  /** Per statement, from its result's meta; empty when the call failed or D1 gave no meta. */
  statements: StatementMeter[];
  failed: boolean;
}

export interface MeterTotals {
  calls: number;
  read: number;
  written: number;
  ms: number;
  sizeAfter: number | undefined;
}

const LABEL_CHARS = 110;

interface Meta {
  rows_read?: number;
  rows_written?: number;
  duration?: number;
  size_after?: number;
}

/** Base64 of the UTF-8 bytes of `text` (a header value is ASCII). */
function base64(text: string): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function label(query: string): string {
  const flat = query.replace(/\s+/g, " ").trim();
  return flat.length > LABEL_CHARS ? `${flat.slice(0, LABEL_CHARS - 1)}…` : flat;
}

export class D1Meter {
  readonly calls: CallMeter[] = [];
  readonly db: D1Database;
  private sizeAfter: number | undefined;
  /** The SQL of each statement this meter handed out (the proxies the app passes back to batch()). */
  private readonly sqlOf = new WeakMap<object, string>();

  constructor(real: D1Database) {
    this.db = this.database(real);
  }

  totals(): MeterTotals {
    let read = 0;
    let written = 0;
    let ms = 0;
    for (const call of this.calls) {
      for (const s of call.statements) {
        read += s.read;
        written += s.written;
        ms += s.ms;
      }
    }
    return { calls: this.calls.length, read, written, ms, sizeAfter: this.sizeAfter };
  }

  /** The meter's headers on a copy of `response`; with `explain`, each call's statements too. */
  annotate(response: Response, explain: boolean): Response {
    const t = this.totals();
    const out = new Response(response.body, response);
    out.headers.set("D1-Calls", String(t.calls));
    out.headers.set("D1-Rows-Read", String(t.read));
    out.headers.set("D1-Rows-Written", String(t.written));
    out.headers.set("D1-Duration-Ms", t.ms.toFixed(3));
    if (t.sizeAfter !== undefined) out.headers.set("D1-Size-After", String(t.sizeAfter));
    if (explain) {
      const calls = this.calls.map((c) => ({ kind: c.kind, failed: c.failed, statements: c.statements }));
      out.headers.set("D1-Explain", base64(JSON.stringify(calls)));
    }
    return out;
  }

  private record(kind: CallMeter["kind"], queries: readonly string[], results: readonly { meta?: Meta }[] | undefined): void {
    const statements = (results ?? []).map((r, i) => {
      const meta = r.meta ?? {};
      if (typeof meta.size_after === "number") this.sizeAfter = meta.size_after;
      return {
        sql: label(queries[i] ?? "?"),
        read: meta.rows_read ?? 0,
        written: meta.rows_written ?? 0,
        ms: meta.duration ?? 0,
      };
    });
    this.calls.push({ kind, statements, failed: results === undefined });
  }

  /** Runs one round trip, recording it whether it succeeds or not. */
  private async call<T>(
    kind: CallMeter["kind"],
    queries: readonly string[],
    send: () => Promise<T>,
    metaOf: (result: T) => readonly { meta?: Meta }[] | undefined,
  ): Promise<T> {
    let result: T;
    try {
      result = await send();
    } catch (error) {
      this.record(kind, queries, undefined);
      throw error;
    }
    this.record(kind, queries, metaOf(result));
    return result;
  }

  private statement(real: D1PreparedStatement, query: string): D1PreparedStatement {
    const meter = this;
    const proxy: D1PreparedStatement = new Proxy(real, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== "function") return value;
        switch (prop) {
          case "bind":
            return (...values: unknown[]) => meter.statement(target.bind(...values), query);
          case "run":
          case "all":
            return () =>
              meter.call(
                prop,
                [query],
                () => (prop === "run" ? target.run() : target.all()),
                (r) => [r],
              );
          case "first":
            return async (column?: string) => {
              const r = await meter.call(
                "first",
                [query],
                () => target.all(),
                (x) => [x],
              );
              const row = (r.results[0] ?? null) as Record<string, unknown> | null;
              if (column === undefined || row === null) return row;
              if (!(column in row)) throw new Error(`D1_COLUMN_NOTFOUND: Column not found (${column})`);
              return row[column];
            };
          case "raw":
            return (options?: { columnNames?: boolean }) =>
              meter.call(
                "raw",
                [query],
                () => (options?.columnNames ? target.raw({ columnNames: true }) : target.raw()),
                () => undefined,
              );
          default:
            return value.bind(target);
        }
      },
    });
    this.sqlOf.set(proxy, query);
    return proxy;
  }

  private database(real: D1Database): D1Database {
    const meter = this;
    return new Proxy(real, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        switch (prop) {
          case "prepare":
            return (query: string) => meter.statement(target.prepare(query), query);
          case "batch":
            return <T>(statements: D1PreparedStatement[]) =>
              meter.call(
                "batch",
                statements.map((s) => meter.sqlOf.get(s) ?? "?"),
                () => target.batch<T>(statements),
                (results) => results,
              );
          case "exec":
            return (query: string) =>
              meter.call(
                "exec",
                [query],
                () => target.exec(query),
                () => undefined,
              );
          case "withSession":
            return () => {
              throw new Error("the bench's D1 meter does not wrap withSession (scripts/bench/worker/meter.ts)");
            };
          default:
            return typeof value === "function" ? value.bind(target) : value;
        }
      },
    });
  }
}
