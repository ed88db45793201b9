import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { closePeriods } from "../../src/settlement/close";
import { reportCsv } from "../../src/settlement/csv";
import { bodyKey, deleteReportBody, inlineParts, MATRIX_CHUNK, putReportBody } from "../../src/settlement/report-objects";
import type { MatrixLine, SignedReport } from "../../src/settlement/report-types";
import { canonicalJson } from "../../src/settlement/signing";
import { operator, type TestPartner } from "../support/exchange";
import { burn, earn, enrol, expectOk, link, partnerWithCard, sql } from "../support/ledger";
import { closeNow, nextSecond, settleClockAtNoon } from "./support";

/**
 * Issue 11 §4: a closed report's body lives in R2 (a 500-partner matrix has up to 250,000 pairs,
 * past D1's 2 MB row) with the same canonical JSON, digest and signature; the API pages its
 * statements and matrix, and the CSV streams from the parts.
 */

let A: TestPartner;
let B: TestPartner;
let closed: { report: SignedReport; text: string };

beforeAll(async () => {
  await settleClockAtNoon();
  A = await partnerWithCard();
  B = await partnerWithCard({ card: { issue_price: "0.012", redeem_price: "0.0095" } });
  const m = await enrol(A);
  const atB = await link(A, m.ref, B);
  expectOk(await earn(A, m.ref, 500), 201);
  expectOk(await earn(B, atB, 300), 201);
  expectOk(await burn(B, atB, 400), 201);
  expectOk(await burn(A, m.ref, 100), 201);
  closed = await closeNow();
});

async function allPages(path: string): Promise<unknown[]> {
  const items: unknown[] = [];
  for (let cursor: string | null = null, pages = 0; pages === 0 || cursor !== null; pages++) {
    const r = await operator("GET", `${path}${cursor ? `&cursor=${cursor}` : ""}`, undefined, {
      tokenOptions: { scope: "read" },
    });
    expect(r.status, r.text).toBe(200);
    items.push(...r.body.data);
    cursor = r.body.next_cursor;
    if (pages > 100) throw new Error("no end of pages");
  }
  return items;
}

async function collect(source: AsyncIterable<string>): Promise<string> {
  let text = "";
  for await (const piece of source) text += piece;
  return text;
}

/** A report shaped like a real one, with `lines` matrix lines, stored as a close stores it. */
/** Synthetic reports stand in periods of 1970 (distinct ends), long before the real ones. */
let syntheticEnd = 0;
function insertPeriod(id: string): D1PreparedStatement {
  syntheticEnd += 1000;
  return env.DB.prepare(
    "INSERT INTO settlement_periods (id, start_at, end_at, off_cycle, closed_at, closed_by) VALUES (?1, ?2, ?3, 1, ?3, 'test')",
  ).bind(id, syntheticEnd - 1000, syntheticEnd);
}

async function storeSynthetic(id: string, lines: number): Promise<{ report: SignedReport; text: string }> {
  const matrix: MatrixLine[] = Array.from({ length: lines }, (_, i) => ({
    issuer: `prt_issuer${String(Math.floor(i / 50)).padStart(4, "0")}`,
    redeemer: `prt_redeemer${String(i % 50).padStart(4, "0")}`,
    points: i + 1,
    amount: { value: `${i}.00`, unit: "CNY" },
    exact: `${i}`,
    rounding: "0.00",
  }));
  const statements = closed.report.statements.map((s) => ({ ...s, settlement_id: id, id }));
  const report: SignedReport = { ...closed.report, id, settlement_id: id, statements, matrix, digest: "ab".repeat(32) };
  const text = canonicalJson(report);
  const key = await putReportBody(env.SETTLEMENT_REPORTS, report, text);
  await env.DB.batch([
    insertPeriod(id),
    env.DB.prepare(
      `INSERT INTO settlement_reports (id, start_at, end_at, report, summary, digest, close_token, created_at, body_key, matrix_lines)
       VALUES (?1, 0, 1000, '', '{}', ?2, 't', 1000, ?3, ?4)`,
    ).bind(id, report.digest, key, lines),
    ...statements.map((s) =>
      env.DB.prepare(
        "INSERT INTO settlement_statements (settlement_id, partner_id, statement, digest) VALUES (?1, ?2, ?3, ?4)",
      ).bind(id, s.partner_id, canonicalJson(s), s.digest),
    ),
  ]);
  return { report, text };
}

describe("a closed report's body is in R2", () => {
  it("the row keeps the summary and digest and names the objects; the API serves the stored bytes", async () => {
    const { id, digest } = closed.report;
    const [row] = await sql<{ report: string; body_key: string; matrix_lines: number }>(
      "SELECT report, body_key, matrix_lines FROM settlement_reports WHERE id = ?",
      id,
    );
    expect(row).toEqual({ report: "", body_key: bodyKey(id, digest), matrix_lines: closed.report.matrix.length });
    expect(closed.report.matrix.length).toBeGreaterThan(0);
    const stored = await env.SETTLEMENT_REPORTS.get(`${bodyKey(id, digest)}report.json`);
    expect(await stored?.text()).toBe(closed.text);
    const full = await operator("GET", `/settlements/${id}`);
    expect(full.status).toBe(200);
    expect(full.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(full.text).toBe(closed.text);
    const { statements: _s, matrix: _m, ...head } = closed.report;
    expect(await (await env.SETTLEMENT_REPORTS.get(`${bodyKey(id, digest)}head.json`))?.json()).toEqual(head);
  });

  it("statements and matrix page in the report's order, each item as in the full report", async () => {
    const { id } = closed.report;
    expect(await allPages(`/settlements/${id}/statements?limit=1`)).toEqual(closed.report.statements);
    expect(await allPages(`/settlements/${id}/matrix?limit=1`)).toEqual(closed.report.matrix);
  });

  it("an unknown report is settlement_not_found, a cursor not from this list is invalid_param", async () => {
    for (const part of ["statements", "matrix"]) {
      const missing = await operator("GET", `/settlements/stl_20000102T000000Z/${part}`);
      expect(missing.status).toBe(404);
      expect(missing.body.error.code).toBe("settlement_not_found");
      const bad = await operator("GET", `/settlements/${closed.report.id}/${part}?cursor=bm90LWEtY3Vyc29y`);
      expect(bad.status, bad.text).toBe(400);
      expect(bad.body.error).toMatchObject({ code: "invalid_param", param: "cursor" });
    }
    const past = Buffer.from(JSON.stringify({ line: 10_000 })).toString("base64url");
    const beyond = await operator("GET", `/settlements/${closed.report.id}/matrix?cursor=${past}`);
    expect(beyond.body.error).toMatchObject({ code: "invalid_param", param: "cursor" });
  });

  it(`a matrix of ${2.5 * MATRIX_CHUNK} lines: pages cross its chunks, the CSV streams the same as the whole report's`, async () => {
    const id = "stl_20000101T000000Z";
    const { report, text } = await storeSynthetic(id, 2.5 * MATRIX_CHUNK);
    const chunks = await env.SETTLEMENT_REPORTS.list({ prefix: `${bodyKey(id, report.digest)}matrix/` });
    expect(chunks.objects.length).toBe(3);
    expect(await allPages(`/settlements/${id}/matrix?limit=100`)).toEqual(report.matrix);
    // A page that straddles two chunks (950…1049).
    const at950 = Buffer.from(JSON.stringify({ line: 950 })).toString("base64url");
    const straddle = await operator("GET", `/settlements/${id}/matrix?limit=100&cursor=${at950}`);
    expect(straddle.body.data).toEqual(report.matrix.slice(950, 1050));
    const csv = await operator("GET", `/settlements/${id}.csv`);
    expect(csv.status).toBe(200);
    expect(csv.text).toBe(await collect(reportCsv(inlineParts(text))));
    expect(csv.text.split("\r\n").filter((r) => r.startsWith("matrix,")).length).toBe(2.5 * MATRIX_CHUNK);
    expect((await operator("GET", `/settlements/${id}`)).text).toBe(text);
  });

  it("a report closed before R2 (its body in its row) is still served, paged and exported from its row", async () => {
    const id = "stl_20000103T000000Z";
    const report = { ...closed.report, id, settlement_id: id };
    const text = canonicalJson(report);
    await env.DB.batch([
      insertPeriod(id),
      env.DB.prepare(
        `INSERT INTO settlement_reports (id, start_at, end_at, report, summary, digest, close_token, created_at)
         VALUES (?1, 0, 1000, ?2, '{}', ?3, 't', 1000)`,
      ).bind(id, text, report.digest),
    ]);
    expect((await operator("GET", `/settlements/${id}`)).text).toBe(text);
    expect(await allPages(`/settlements/${id}/matrix?limit=2`)).toEqual(report.matrix);
    const csv = await operator("GET", `/settlements/${id}.csv`);
    expect(csv.text).toBe(await collect(reportCsv(inlineParts(text))));
    expect(csv.text).toContain(`report,,,,id,,${id},,,`);
  });

  it("a close whose R2 write fails stores no report; the next close stores it", async () => {
    expectOk(await earn(A, (await enrol(A)).ref, 70), 201);
    await nextSecond();
    const periodEnd = Math.floor(Date.now() / 1000) * 1000;
    const failing: Env = {
      ...(env as Env),
      SETTLEMENT_REPORTS: {
        ...env.SETTLEMENT_REPORTS,
        put: () => Promise.reject(new Error("R2 is down")),
      } as unknown as R2Bucket,
    };
    await expect(closePeriods(failing, { now: periodEnd, by: "test", periodEnd })).rejects.toThrow("R2 is down");
    const claimed = await sql<{ id: string; stored: number }>(
      "SELECT p.id, (SELECT COUNT(*) FROM settlement_reports r WHERE r.id = p.id) AS stored FROM settlement_periods p WHERE end_at = ?",
      periodEnd,
    );
    expect(claimed).toHaveLength(1);
    expect(claimed[0]?.stored).toBe(0);
    const r = await operator("POST", "/settlements/close", { period_end: new Date(periodEnd).toISOString() });
    expect(r.status, r.text).toBe(200);
    expect(r.body.data.map((x: SignedReport) => x.id)).toEqual([claimed[0]?.id]);
    expect((await operator("GET", `/settlements/${claimed[0]?.id}`)).status).toBe(200);
  });

  it("a losing close's objects are removed by their prefix, and only theirs", async () => {
    const keep = await storeSynthetic("stl_20000104T000000Z", 10);
    const lose = { ...keep.report, digest: "cd".repeat(32) };
    const key = await putReportBody(env.SETTLEMENT_REPORTS, lose, canonicalJson(lose));
    await deleteReportBody(env.SETTLEMENT_REPORTS, key);
    expect((await env.SETTLEMENT_REPORTS.list({ prefix: key })).objects).toEqual([]);
    const kept = await env.SETTLEMENT_REPORTS.list({ prefix: bodyKey(keep.report.id, keep.report.digest) });
    expect(kept.objects.map((o) => o.key).sort()).toEqual(
      ["head.json", "matrix/0.json", "report.json"].map((n) => `${bodyKey(keep.report.id, keep.report.digest)}${n}`),
    );
  });
});
