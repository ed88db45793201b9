import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { first, sql } from "../../src/db/sql-template";
import { csvField, csvRecords } from "../../src/settlement/csv";
import { figure } from "../../src/settlement/money";
import {
  CLOSED_THROUGH_SQL,
  nextBoundary,
  type PeriodKind,
  periodId,
  periodIdAt,
  scheduledStart,
} from "../../src/settlement/periods";

const t = (s: string) => Date.parse(s);

describe("RFC 4180 CSV escaping", () => {
  it("quotes fields with a comma, a double quote, CR or LF, doubling quotes", () => {
    expect(csvField("plain")).toBe("plain");
    expect(csvField("")).toBe("");
    expect(csvField(null)).toBe("");
    expect(csvField(-12.5)).toBe("-12.5");
    expect(csvField("a,b")).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('"')).toBe('""""');
    expect(csvField("two\nlines")).toBe('"two\nlines"');
    expect(csvField("cr\rhere")).toBe('"cr\rhere"');
    expect(csvField("crlf\r\n")).toBe('"crlf\r\n"');
    expect(csvField("semi;colon 'single'")).toBe("semi;colon 'single'");
  });

  it("ends every record, the last one too, with CRLF", () => {
    expect(
      csvRecords([
        ["a", "b,c"],
        ["", 'd"e'],
      ]),
    ).toBe('a,"b,c"\r\n,"d""e"\r\n');
    expect(csvRecords([])).toBe("");
  });
});

describe("statement figures", () => {
  it("round once, half-even, to the currency's minor unit, showing the residual", () => {
    expect(figure(8_925_000n, "CNY")).toEqual({ amount: { value: "8.92", unit: "CNY" }, exact: "8.925", rounding: "0.005" });
    expect(figure(5_775_000n, "CNY")).toEqual({ amount: { value: "5.78", unit: "CNY" }, exact: "5.775", rounding: "-0.005" });
    expect(figure(-425_000n, "CNY")).toEqual({ amount: { value: "-0.42", unit: "CNY" }, exact: "-0.425", rounding: "-0.005" });
    expect(figure(0n, "CNY")).toEqual({ amount: { value: "0.00", unit: "CNY" }, exact: "0.00", rounding: "0.00" });
    expect(figure(2_500_000n, "JPY")).toEqual({ amount: { value: "2", unit: "JPY" }, exact: "2.5", rounding: "0.5" });
    expect(figure(1_234_567n, "KWD")).toEqual({
      amount: { value: "1.235", unit: "KWD" },
      exact: "1.234567",
      rounding: "-0.000433",
    });
  });
});

describe("period schedule", () => {
  const cfg = (period: PeriodKind, utcOffsetMinutes = 0) => ({ period, utcOffsetMinutes });
  it("daily, weekly (ISO, Monday) and monthly boundaries, at a UTC offset", () => {
    expect(scheduledStart(t("2026-11-23T17:00:00Z"), cfg("daily"))).toBe(t("2026-11-23T00:00:00Z"));
    expect(nextBoundary(t("2026-11-23T00:00:00Z"), cfg("daily"))).toBe(t("2026-11-24T00:00:00Z"));
    expect(scheduledStart(t("2026-11-23T20:00:00Z"), cfg("daily", 480))).toBe(t("2026-11-23T16:00:00Z"));
    expect(scheduledStart(t("2026-11-23T15:59:59Z"), cfg("daily", 480))).toBe(t("2026-11-22T16:00:00Z"));
    expect(scheduledStart(t("2026-11-25T10:00:00Z"), cfg("weekly"))).toBe(t("2026-11-23T00:00:00Z"));
    expect(scheduledStart(t("2026-11-29T23:59:59Z"), cfg("weekly"))).toBe(t("2026-11-23T00:00:00Z"));
    expect(nextBoundary(t("2026-11-23T00:00:00Z"), cfg("weekly"))).toBe(t("2026-11-30T00:00:00Z"));
    expect(scheduledStart(t("2026-11-23T10:00:00Z"), cfg("monthly"))).toBe(t("2026-11-01T00:00:00Z"));
    expect(nextBoundary(t("2026-12-15T00:00:00Z"), cfg("monthly"))).toBe(t("2027-01-01T00:00:00Z"));
    expect(scheduledStart(t("2026-12-01T03:00:00Z"), cfg("monthly", -300))).toBe(t("2026-11-01T05:00:00Z"));
    expect(nextBoundary(t("2026-12-01T03:00:00Z"), cfg("monthly", -300))).toBe(t("2026-12-01T05:00:00Z"));
    expect(periodId(t("2026-11-23T05:45:07Z"))).toBe("stl_20261123T054507Z");
  });

  it("the SQL a booking uses to name a period agrees with the close's schedule", async () => {
    const [row] = (await env.DB.prepare("SELECT origin FROM settlement_config").all<{ origin: number }>()).results;
    const origin = row?.origin ?? 0;
    for (const [period, offset] of [
      ["daily", 0],
      ["daily", 345],
      ["weekly", 0],
      ["weekly", -600],
      ["monthly", 0],
      ["monthly", 540],
    ] as [PeriodKind, number][]) {
      await env.DB.prepare("UPDATE settlement_config SET period = ?, utc_offset_minutes = ?").bind(period, offset).run();
      for (let k = 0; k < 60; k++) {
        const at = origin + k * 29 * 3_600_000 + 61_000;
        const sqlId = await first<{ id: string }>(env.DB, sql`SELECT ${periodIdAt(sql`${at}`)} AS id`);
        const expected = periodId(Math.max(scheduledStart(at, { period, utcOffsetMinutes: offset }), origin));
        expect({ period, offset, at, id: sqlId?.id }).toEqual({ period, offset, at, id: expected });
      }
    }
  });
});

describe("the settlement triggers", () => {
  it("stamp entries with the same 'end of the last closed period' as the code", async () => {
    const { results } = await env.DB.prepare(
      "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN ('settle_lot', 'settle_movement', 'settle_repayment', 'settle_reversal')",
    ).all<{
      name: string;
      sql: string;
    }>();
    expect(results.map((r) => r.name).sort()).toEqual(["settle_lot", "settle_movement", "settle_repayment", "settle_reversal"]);
    for (const r of results) expect(r.sql, r.name).toContain(CLOSED_THROUGH_SQL);
  });
});

describe("period sums", () => {
  it("whole buckets from the aggregates plus the partial ones read directly equal the entries of any range", async () => {
    const { sumRange } = await import("../../src/settlement/sums");
    const base = Date.parse("2030-01-01T00:00:00Z");
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % n;
    };
    // Entries are read per issuer: the issuers are partners.
    const statements = ["p0", "p1"].map((id) =>
      env.DB.prepare(
        "INSERT OR IGNORE INTO partners (id, name, funding_mode, created_at, updated_at) VALUES (?1, ?1, 'postpaid', 0, 0)",
      ).bind(id),
    );
    for (let i = 0; i < 300; i++) {
      const at = base + rnd(4 * 3_600_000);
      const kind = ["issue", "redeem", "expire"][rnd(3)] as string;
      statements.push(
        env.DB.prepare(
          `INSERT INTO settlement_entries (txn_id, src, src_id, kind, issuer_id, redeemer_id, points, issue_price_micros,
             redeem_price_micros, at) VALUES (?, 'lot', ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).bind(
          `txn_sum_${i}`,
          -1_000_000 - i,
          kind,
          `p${rnd(2)}`,
          kind === "redeem" ? `p${rnd(2)}` : null,
          1 + rnd(50),
          [10_000, 12_000][rnd(2)] as number,
          kind === "redeem" ? 8_000 : 0,
          at,
        ),
      );
    }
    await env.DB.batch(statements);
    const ranges: [number, number][] = [
      [base, base + 4 * 3_600_000],
      [base + 1, base + 900_000],
      [base + 450_000, base + 460_000],
      [base + 899_999, base + 900_001],
    ];
    for (let k = 0; k < 20; k++) {
      const s = base + rnd(4 * 3_600_000);
      ranges.push([s, s + 1 + rnd(2 * 3_600_000)]);
    }
    for (const [s, e] of ranges) {
      const direct = (
        await env.DB.prepare(
          `SELECT kind, issuer_id, COALESCE(redeemer_id, '') AS redeemer_id, issue_price_micros, redeem_price_micros,
                  SUM(points) AS points, COUNT(*) AS lines
             FROM settlement_entries WHERE at >= ?1 AND at < ?2 AND txn_id LIKE 'txn_sum_%'
            GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5`,
        )
          .bind(s, e)
          .all()
      ).results;
      expect({ s, e, sums: await sumRange(env.DB, s, e) }).toEqual({ s, e, sums: direct });
    }
  });
});
