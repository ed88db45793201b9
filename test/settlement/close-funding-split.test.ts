import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type FundingPosition, splitReceivable } from "../../src/settlement/close-funding";
import { createPartner } from "../support/exchange";
import { sql } from "../support/ledger";

/** The pure split of a receivable (src/settlement/close-funding.ts), and the migration that started it. */

const position = (p: Partial<FundingPosition>): FundingPosition => ({
  fundingMode: "postpaid",
  receivables: "payout",
  exposureMicros: 0n,
  balanceMicros: 0n,
  payoutDueMicros: 0n,
  ...p,
});

describe("splitReceivable", () => {
  it("sets off against exposure first, never below zero", () => {
    expect(splitReceivable(8_000_000n, position({ exposureMicros: 3_000_000n }))).toEqual({
      setOff: 3_000_000n,
      topUp: 0n,
      payout: 5_000_000n,
    });
    expect(splitReceivable(2_000_000n, position({ exposureMicros: 3_000_000n }))).toEqual({
      setOff: 2_000_000n,
      topUp: 0n,
      payout: 0n,
    });
  });

  it("tops up only a prepaid partner whose receivables say top_up", () => {
    const prepaid = { fundingMode: "prepaid" as const, exposureMicros: 1n };
    expect(splitReceivable(10n, position({ ...prepaid, receivables: "top_up" }))).toEqual({ setOff: 1n, topUp: 9n, payout: 0n });
    expect(splitReceivable(10n, position({ ...prepaid, receivables: "payout" }))).toEqual({ setOff: 1n, topUp: 0n, payout: 9n });
    // A postpaid partner never tops up, whatever the (prepaid-only) setting says.
    expect(splitReceivable(10n, position({ receivables: "top_up" }))).toEqual({ setOff: 0n, topUp: 0n, payout: 10n });
  });

  it("takes a clawback from payout due, then the deposit (prepaid), then onto exposure", () => {
    const p = position({ fundingMode: "prepaid", payoutDueMicros: 4n, balanceMicros: 1n, exposureMicros: 5n });
    expect(splitReceivable(-16n, p)).toEqual({ payout: -4n, topUp: -1n, setOff: -11n });
    expect(splitReceivable(-3n, p)).toEqual({ payout: -3n, topUp: 0n, setOff: 0n });
    expect(splitReceivable(-16n, position({ payoutDueMicros: 4n, balanceMicros: 100n }))).toEqual({
      payout: -4n,
      topUp: 0n, // a postpaid partner's balance is not a deposit
      setOff: -12n,
    });
  });

  it("a zero receivable moves nothing", () => {
    expect(splitReceivable(0n, position({ exposureMicros: 9n, payoutDueMicros: 9n }))).toEqual({
      setOff: 0n,
      topUp: 0n,
      payout: 0n,
    });
  });

  it("property: the parts add up to the receivable, share its sign, and leave exposure, payout due and a deposit ≥ 0", () => {
    const micros = fc.bigInt({ min: 0n, max: 10n ** 15n });
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }),
        fc.constantFrom("prepaid" as const, "postpaid" as const),
        fc.constantFrom("payout" as const, "top_up" as const),
        micros,
        micros,
        micros,
        (r, fundingMode, receivables, exposureMicros, balanceMicros, payoutDueMicros) => {
          const s = splitReceivable(r, { fundingMode, receivables, exposureMicros, balanceMicros, payoutDueMicros });
          expect(s.setOff + s.topUp + s.payout).toBe(r);
          for (const part of [s.setOff, s.topUp, s.payout]) expect(part === 0n || part > 0n === r > 0n).toBe(true);
          expect(exposureMicros - s.setOff >= 0n).toBe(true);
          expect(payoutDueMicros + s.payout >= 0n).toBe(true);
          expect(balanceMicros + s.topUp >= 0n).toBe(true);
          if (fundingMode === "postpaid" || receivables === "payout") expect(s.topUp > 0n).toBe(false);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe("migration 0005: partners whose exposure is already negative", () => {
  it("moves the negative exposure, unchanged, to payout_due and records it in the audit log", async () => {
    const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0005_"));
    if (!migration) throw new Error("migration 0005 not found");
    const dataSteps = migration.queries.filter((q) => /(^|\n)\s*(INSERT|UPDATE) /.test(q) && q.includes("exposure_micros < 0"));
    expect(dataSteps).toHaveLength(2);
    const assertion = migration.queries.find((q) => q.includes("CREATE TRIGGER partners_funding_never_negative"));
    if (!assertion) throw new Error("no assertion trigger in 0005");

    const owed = await createPartner();
    const fine = await createPartner();
    // The state a close before 2026-12-01 left: the receivable credited beyond the exposure.
    await sql("DROP TRIGGER partners_funding_never_negative");
    await sql("UPDATE partners SET exposure_micros = -5775000 WHERE id = ?", owed.id);
    await sql("UPDATE partners SET exposure_micros = 354000 WHERE id = ?", fine.id);
    for (const q of dataSteps) await sql(q);
    await sql(assertion);

    const rows = await sql<{ id: string; exposure_micros: number; payout_due_micros: number }>(
      "SELECT id, exposure_micros, payout_due_micros FROM partners WHERE id IN (?, ?) ORDER BY id = ?",
      owed.id,
      fine.id,
      fine.id,
    );
    expect(rows).toEqual([
      { id: owed.id, exposure_micros: 0, payout_due_micros: 5_775_000 },
      { id: fine.id, exposure_micros: 354_000, payout_due_micros: 0 },
    ]);
    const audit = await sql<{ actor: string; target: string; detail: string }>(
      "SELECT actor, target, detail FROM audit_log WHERE action = 'partner.exposure_to_payout_due'",
    );
    expect(audit).toEqual([
      { actor: "migration", target: owed.id, detail: JSON.stringify({ exposure_micros: -5775000, payout_due_micros: 5775000 }) },
    ]);
    await expect(sql("UPDATE partners SET exposure_micros = -1 WHERE id = ?", fine.id)).rejects.toThrow(/never negative/);
  });
});
