import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { verifyStatement } from "../../packages/partner-sdk/src/index";
import { periodId } from "../../src/settlement/periods";
import type { SignedReport } from "../../src/settlement/report";
import { operator, type TestPartner } from "../support/exchange";
import { checkInvariants } from "../support/invariants";
import { runScheduledJobs } from "../support/jobs";
import { earn, enrol, expectOk, partnerWithCard, sql } from "../support/ledger";
import { getTransaction, reverse } from "../support/ledger-flows";
import { jwks, money, reportStatement } from "./support";

/**
 * The scheduled close (Cron Trigger handler invoked with chosen times): daily UTC periods from
 * the deployment's first day, closed after their end plus the 5-minute grace, idempotently; a
 * booking whose clock falls in a period closed meanwhile settles in the next one.
 */

const DAY = 86_400_000;
let A: TestPartner;
let ref: string;
let origin: number;
let boundary: number;
const ids: Record<string, string> = {};

async function reports(): Promise<{ id: string; off_cycle: boolean; closed_by: string }[]> {
  const r = await operator("GET", "/settlements");
  expect(r.status).toBe(200);
  return r.body.data;
}

afterEach(async () => {
  await checkInvariants();
});

beforeAll(async () => {
  const [config] = await sql<{ origin: number }>("SELECT origin FROM settlement_config");
  origin = config?.origin ?? 0;
  boundary = origin + DAY;
  A = await partnerWithCard({ card: { issue_price: "0.010", redeem_price: "0.008" } });
  ref = (await enrol(A)).ref;
  ids.e1 = (expectOk(await earn(A, ref, 100), 201) as { transaction: { id: string } }).transaction.id;
});

describe("scheduled close", () => {
  it("waits for the period's end plus the grace", async () => {
    expect(origin % DAY).toBe(0);
    expect(origin).toBeLessThanOrEqual(Date.now());
    await runScheduledJobs(boundary + 60_000);
    expect(await reports()).toEqual([]);
  });

  it("closes the ended period once, whatever the number of runs", async () => {
    await runScheduledJobs(boundary + 301_000);
    await runScheduledJobs(boundary + 400_000);
    const list = await reports();
    expect(list.map((r) => r.id)).toEqual([periodId(origin)]);
    expect(list[0]).toMatchObject({ off_cycle: false, closed_by: "scheduler" });
    const report = (await operator("GET", `/settlements/${periodId(origin)}`)).body as SignedReport;
    expect(report.period).toEqual({
      start: new Date(origin).toISOString().replace(".000", ""),
      end: new Date(boundary).toISOString().replace(".000", ""),
    });
    const a = reportStatement(report, A.id);
    expect(a.points.issued).toBe(100);
    expect(a.payable).toEqual(money("1.00"));
    const verified = await verifyStatement({ client: A.client, settlementId: report.id, jwks: await jwks() });
    expect(verified.problems).toEqual([]);
  });

  it("a booking whose clock falls in the closed period settles in the next one, and names the original's period", async () => {
    // The period closed through tomorrow's midnight; the real clock is still today.
    ids.e2 = (expectOk(await earn(A, ref, 40), 201) as { transaction: { id: string } }).transaction.id;
    ids.r1 = (expectOk(await reverse(A, ids.e1 as string, 30), 201) as { transaction: { id: string } }).transaction.id;
    const entries = await sql<{ txn_id: string; at: number }>(
      "SELECT txn_id, at FROM settlement_entries WHERE txn_id IN (?, ?)",
      ids.e2,
      ids.r1,
    );
    expect(entries.length).toBeGreaterThan(0);
    for (const e of entries) expect(e.at).toBe(boundary);
    const reversal = expectOk(await getTransaction(A, ids.r1 as string)).transaction;
    expect(reversal).toMatchObject({ original_transaction_id: ids.e1, original_settlement_id: periodId(origin) });

    await runScheduledJobs(boundary + DAY + 301_000);
    const list = await reports();
    expect(list.map((r) => r.id)).toEqual([periodId(boundary), periodId(origin)]);
    const report = (await operator("GET", `/settlements/${periodId(boundary)}`)).body as SignedReport;
    const a = reportStatement(report, A.id);
    expect(a.points).toMatchObject({ issued: 40, issue_reversed: 30, taken_back: 30 });
    expect(a.exact).toEqual({ payable: "0.10", receivable: "0.00", net: "-0.10" });
    const lines = expectOk(
      await A.client.get<{ data: { kind: string; original: unknown }[] }>(`/v1/settlements/${report.id}/lines`),
    ).data;
    expect(lines.find((l) => l.kind === "take_back")?.original).toEqual({
      transaction_id: ids.e1,
      settlement_id: periodId(origin),
    });
    const position = report.points_position.by_issuer.find((p) => p.issuer === A.id);
    expect(position).toMatchObject({ opening: 100, issued: 40, reversed: 30, closing: 110 });
  });

  it("the operator's close without period_end closes only ended scheduled periods", async () => {
    const r = await operator("POST", "/settlements/close", {});
    expect(r.status).toBe(200);
    // The open period starts at tomorrow + 1 day, in the real future: nothing has ended, and the answer says so.
    expect(r.body.data).toEqual([]);
    expect(Date.parse(r.body.open_period.start)).toBeGreaterThan(Date.now());
    const [row] = await sql<{ n: number }>("SELECT COUNT(*) AS n FROM settlement_reports");
    expect(row?.n).toBe(2);
    expect(env.SETTLEMENT_CURRENCY).toBe("CNY");
  });
});
