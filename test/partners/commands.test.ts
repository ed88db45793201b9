import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { guardViolated } from "../../src/db/guard";
import { first, runBatch, sql } from "../../src/db/sql-template";
import { ApiError } from "../../src/http/errors";
import { Refusal } from "../../src/http/runner";
import { planCreatePartner, planUpdatePartner } from "../../src/partners/commands";
import { planTransfer } from "../../src/partners/transfers";
import { newCardEffectiveFrom } from "../../src/rates/cards";

/** The operator's partner commands, planned from input alone and run as their one batch, without HTTP. */

const NOW = Date.UTC(2026, 10, 23, 6, 0, 0);

/** What a plan throws: an ApiError, or a Refusal with the guards that answer before it. */
function thrown(plan: () => unknown): unknown {
  try {
    plan();
  } catch (error) {
    return error;
  }
  throw new Error("planned, not refused");
}

function refusal(plan: () => unknown): ApiError {
  const error = thrown(plan);
  if (error instanceof ApiError) return error;
  throw error;
}

describe("planCreatePartner", () => {
  const body = { id: "cmd-shop", name: "Shop", funding: { mode: "prepaid" as const, balance: { value: "12.5", unit: "CNY" } } };

  it("refuses funding outside the settlement currency, or above a billion, at the field", () => {
    const other = refusal(() =>
      planCreatePartner({ ...body, funding: { mode: "postpaid", credit_limit: { value: "1", unit: "USD" } } }, "CNY", "op", NOW),
    );
    expect([other.code, other.param]).toEqual(["unknown_unit", "funding.credit_limit.unit"]);
    const huge = refusal(() =>
      planCreatePartner(
        { ...body, funding: { ...body.funding, balance: { value: "1000000001", unit: "CNY" } } },
        "CNY",
        "op",
        NOW,
      ),
    );
    expect([huge.code, huge.param]).toEqual(["invalid_body", "funding.balance.value"]);
  });

  it("creates the partner with its defaults, once: the same plan again fails its first guard", async () => {
    await runBatch(env.DB, planCreatePartner(body, "CNY", "op", NOW));
    const row = await first(
      env.DB,
      sql`SELECT prepaid_balance_micros, receivables, pending_days, hold_ttl_seconds FROM partners WHERE id = ${"cmd-shop"}`,
    );
    expect(row).toEqual({ prepaid_balance_micros: 12_500_000, receivables: "payout", pending_days: 0, hold_ttl_seconds: 900 });
    const again = await runBatch(env.DB, planCreatePartner(body, "CNY", "op", NOW)).catch((e: unknown) => e);
    expect(guardViolated(again)).toBe("partner_exists");
  });

  it("an update of an unknown partner fails its guard and leaves no audit entry", async () => {
    const before = await first<{ n: number }>(env.DB, sql`SELECT COUNT(*) AS n FROM audit_log`);
    const failed = await runBatch(env.DB, planUpdatePartner("cmd-none", { name: "X" }, "CNY", "op", NOW)).catch(
      (e: unknown) => e,
    );
    expect(guardViolated(failed)).toBe("partner_not_found");
    expect(await first(env.DB, sql`SELECT COUNT(*) AS n FROM audit_log`)).toEqual(before);
  });
});

describe("planTransfer", () => {
  const transfer = {
    partnerId: "cmd-shop",
    body: { amount: { value: "2", unit: "CNY" }, reference: "r-1" },
    actor: "op",
    currency: "CNY",
  };

  it("a wrong currency is refused behind the unknown-partner guard, which answers first", () => {
    const usd = { ...transfer.body, amount: { value: "2", unit: "USD" } };
    const error = thrown(() => planTransfer({ ...transfer, kind: "payment", body: usd }, { now: NOW }));
    if (!(error instanceof Refusal)) throw error;
    expect([error.error.code, error.error.param, error.before.length]).toEqual(["unknown_unit", "amount.unit", 1]);
  });

  it("a payout is guarded by what is due (nothing, to the partner created above), answered at amount.value", async () => {
    const plan = planTransfer({ ...transfer, kind: "payout" }, { now: NOW });
    expect(plan.describe?.payout_exceeds_due?.param).toBe("amount.value");
    const failed = await runBatch(env.DB, plan.statements).catch((e: unknown) => e);
    expect(guardViolated(failed)).toBe("payout_exceeds_due");
  });
});

describe("newCardEffectiveFrom", () => {
  it("is now by default; a time earlier in this second is now too; an earlier second is the past", () => {
    expect(newCardEffectiveFrom(undefined, NOW + 400)).toBe(NOW + 400);
    expect(newCardEffectiveFrom("2026-11-23T06:00:00Z", NOW + 400)).toBe(NOW);
    expect(refusal(() => newCardEffectiveFrom("2026-11-23T05:59:59Z", NOW + 400)).param).toBe("effective_from");
  });
});
