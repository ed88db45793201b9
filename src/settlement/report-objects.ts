import { all, first, raw, sql } from "../db/sql-template";
import type { Env } from "../env";
import type { MatrixLine, SignedReport, SignedStatement } from "./report-types";
import { canonicalJson } from "./signing";

/**
 * Where a closed report's body lives (migration 0013). Its size grows with partners² (the
 * matrix), so it is kept in R2, bounded only by object storage, under a prefix that carries
 * its digest: `settlements/<id>/<digest>/` holds
 *   - `report.json`: the canonical signed report, the exact bytes `GET …/settlements/{id}` serves;
 *   - `head.json`: the report without `statements` and `matrix` (bounded by partners × prices);
 *   - `matrix/<k>.json`: matrix lines [k·MATRIX_CHUNK, (k+1)·MATRIX_CHUNK), so a page reads at most two.
 * Statements are rows of settlement_statements in D1 (each bounded by one partner's pairs).
 * Equal content lands at equal keys, so a close that died after writing and is finished by the
 * next one writes the same objects again.
 */

/** Matrix lines per chunk object (≈ 150 KB). */
export const MATRIX_CHUNK = 1000;
/** Objects written at once by a close (R2 calls count toward a request's subrequests). */
const PUT_CONCURRENCY = 8;
/** Statements read from D1 per query when streaming them. */
const STATEMENT_READ = 100;

export type ReportHead = Omit<SignedReport, "statements" | "matrix">;

/** A stored report, read in parts: what the API pages and the CSV streams. */
export interface ReportParts {
  head(): Promise<ReportHead>;
  matrixLines: number;
  /** The canonical signed report as stored. */
  text(): Promise<string>;
  body(): Promise<ReadableStream | string>;
  matrixSlice(from: number, to: number): Promise<MatrixLine[]>;
  statements(): AsyncIterable<SignedStatement>;
}

export function bodyKey(id: string, digest: string): string {
  return `settlements/${id}/${digest}/`;
}

const JSON_TYPE = { httpMetadata: { contentType: "application/json; charset=UTF-8" } };

/** Writes a signed report's objects; returns the prefix to record in its row. */
export async function putReportBody(bucket: R2Bucket, report: SignedReport, text: string): Promise<string> {
  const key = bodyKey(report.id, report.digest);
  const { statements: _statements, matrix, ...head } = report;
  const objects: [string, string][] = [
    [`${key}head.json`, canonicalJson(head)],
    [`${key}report.json`, text],
  ];
  for (let k = 0; k * MATRIX_CHUNK < matrix.length; k++) {
    objects.push([`${key}matrix/${k}.json`, JSON.stringify(matrix.slice(k * MATRIX_CHUNK, (k + 1) * MATRIX_CHUNK))]);
  }
  for (let i = 0; i < objects.length; i += PUT_CONCURRENCY) {
    await Promise.all(objects.slice(i, i + PUT_CONCURRENCY).map(([name, value]) => bucket.put(name, value, JSON_TYPE)));
  }
  return key;
}

/** Removes the objects a close wrote when another close's report won (a different digest). */
export async function deleteReportBody(bucket: R2Bucket, key: string): Promise<void> {
  for (let cursor: string | undefined, more = true; more; ) {
    const listed = await bucket.list({ prefix: key, cursor });
    if (listed.objects.length > 0) await bucket.delete(listed.objects.map((o) => o.key));
    more = listed.truncated;
    cursor = listed.truncated ? listed.cursor : undefined;
  }
}

interface ReportRow {
  report: string;
  body_key: string | null;
  matrix_lines: number | null;
}

export function reportRow(db: D1Database, id: string): Promise<ReportRow | null> {
  return first<ReportRow>(db, sql`SELECT report, body_key, matrix_lines FROM settlement_reports WHERE id = ${id}`);
}

/** A closed report's parts, or null when there is no such report. */
export async function openReport(env: Env, id: string): Promise<ReportParts | null> {
  const row = await reportRow(env.DB, id);
  if (row === null) return null;
  return row.body_key === null ? inlineParts(row.report) : objectParts(env, id, row.body_key, row.matrix_lines ?? 0);
}

/** A report whose whole text is at hand: one closed before migration 0013 (its row's text, under D1's 2 MB row). */
export function inlineParts(text: string): ReportParts {
  const { statements, matrix, ...head } = JSON.parse(text) as SignedReport;
  return {
    head: async () => head,
    matrixLines: matrix.length,
    text: async () => text,
    body: async () => text,
    matrixSlice: async (from, to) => matrix.slice(from, to),
    statements: async function* () {
      yield* statements;
    },
  };
}

function objectParts(env: Env, id: string, key: string, matrixLines: number): ReportParts {
  const bucket = env.SETTLEMENT_REPORTS;
  const object = async (name: string): Promise<R2ObjectBody> => {
    const found = await bucket.get(`${key}${name}`);
    // The row names objects its close wrote before it committed: a missing one is our fault.
    if (found === null) throw new Error(`settlement ${id}: object ${key}${name} is missing`);
    return found;
  };
  return {
    head: async () => (await (await object("head.json")).json()) as ReportHead,
    matrixLines,
    text: async () => (await object("report.json")).text(),
    body: async () => (await object("report.json")).body,
    matrixSlice: async (from, to) => {
      const lines: MatrixLine[] = [];
      const end = Math.min(to, matrixLines);
      for (let k = Math.floor(from / MATRIX_CHUNK); k * MATRIX_CHUNK < end; k++) {
        const chunk = (await (await object(`matrix/${k}.json`)).json()) as MatrixLine[];
        lines.push(...chunk.slice(Math.max(0, from - k * MATRIX_CHUNK), end - k * MATRIX_CHUNK));
      }
      return lines;
    },
    statements: () => storedStatements(env.DB, id),
  };
}

/** A report's signed statements in partner order (the report's own order), as stored texts. */
export function statementTexts(
  db: D1Database,
  id: string,
  limit: number,
  after?: string,
): Promise<{ partner_id: string; statement: string }[]> {
  const from = after === undefined ? raw("") : sql`AND partner_id > ${after}`;
  return all(
    db,
    sql`SELECT partner_id, statement FROM settlement_statements WHERE settlement_id = ${id} ${from}
         ORDER BY partner_id LIMIT ${limit}`,
  );
}

async function* storedStatements(db: D1Database, id: string): AsyncGenerator<SignedStatement> {
  for (let after: string | undefined, more = true; more; ) {
    const rows = await statementTexts(db, id, STATEMENT_READ, after);
    for (const row of rows) yield JSON.parse(row.statement) as SignedStatement;
    more = rows.length === STATEMENT_READ;
    after = rows[rows.length - 1]?.partner_id;
  }
}
