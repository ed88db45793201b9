import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { benchSettlementClose } from "../../scripts/bench/worker/settlement";
import type { SignedReport } from "../../src/settlement/report";
import { operator } from "../support/exchange";

/** The bench hook: synthetic load straight into D1 and a timed close (the bench runs it at scale). */
function expected(n: number) {
  const partners = ["bench-a", "bench-b", "bench-c"];
  const issued: Record<string, number> = {};
  const redeemed: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const points = 1 + (i % 97);
    if (i % 2 === 0) issued[partners[i % 3] as string] = (issued[partners[i % 3] as string] ?? 0) + points;
    else redeemed[partners[(i + 1) % 3] as string] = (redeemed[partners[(i + 1) % 3] as string] ?? 0) + points;
  }
  return { issued, redeemed };
}

describe("settlement bench hook", () => {
  it("closes generated periods exactly; the close reads aggregates, bounded whatever the volume", async () => {
    const sizes = [2_000, 12_000];
    const rows: number[] = [];
    for (const n of sizes) {
      const result = await benchSettlementClose(env, { transactions: n });
      expect(result.report_id).not.toBeNull();
      rows.push(result.aggregate_rows);
      const report = (await operator("GET", `/settlements/${result.report_id}`)).body as SignedReport;
      const want = expected(n);
      for (const s of report.statements) {
        expect({ id: s.partner_id, issued: s.points.issued, redeemed: s.points.redeemed }).toEqual({
          id: s.partner_id,
          issued: want.issued[s.partner_id] ?? 0,
          redeemed: want.redeemed[s.partner_id] ?? 0,
        });
      }
    }
    // 96 buckets × (3 issuing + 3 redeeming combinations) at most, for any number of transactions.
    for (const r of rows) expect(r).toBeLessThanOrEqual(96 * 6);
  });
});
