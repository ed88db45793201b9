import { type Catalogue, type PartnerSettings, rateCardAt, StaleCatalogue } from "../../catalogue/catalogue";
import { guard } from "../../db/guard";
import { type Sql, sql } from "../../db/sql-template";
import { ApiError } from "../../http/errors";
import type { StoredResponse } from "../../http/idempotency";
import { TRANSACTION_WITH_BALANCE } from "../../http/responses";
import { type CommandContext, Refusal, type WritePlan } from "../../http/runner";
import type { RateCard } from "../../rates/cards";
import { formatDecimal } from "../../rates/decimal";
import { type LedgerRiskArgs, type LedgerRiskCheck, ledgerRiskCheck, ledgerRiskCheckAcrossShards } from "../../risk/check";
import { memberOfTransaction } from "../member";
import { type PointValue, transactionWithBalanceValues } from "../render";

/** What the ledger's commands share: the caller's settings and card, the member guard, the point value. */

/** The caller's settings; a catalogue without the caller is stale (its key verified, so it exists). */
export function partnerSettings(cat: Catalogue, partnerId: string): PartnerSettings {
  const partner = cat.partners.get(partnerId);
  if (!partner) throw new StaleCatalogue(`partner ${partnerId} is not in the cached catalogue`);
  return partner;
}

/** member_not_found when the partner's ref names no member (the first business answer of a write about one). */
export function memberGuard(member: Sql): Sql {
  return guard("member_not_found", sql`${member} IS NULL`);
}

export function requireCard(cat: Catalogue, partnerId: string, now: number, before: Sql[]): RateCard {
  const card = rateCardAt(cat, partnerId, now);
  if (!card) throw new Refusal(new ApiError("no_rate_card", "this partner has no rate card in force"), before);
  return card;
}

/** What one point is worth at this partner: its first burn unit's value per point. */
export function pointValue(card: RateCard | undefined): PointValue | undefined {
  const burn = card?.burn[0];
  return burn ? { unit: burn.unit, units: burn.valuePerPoint.units, scale: burn.valuePerPoint.scale } : undefined;
}

/**
 * What `points` are worth at `value` (pure): points × value per point, exact, with the scale of
 * the value per point — the text SQL's `scaledText` gives the balance's `value` (src/ledger/render.ts).
 */
export function pointsWorth(points: number, value: PointValue | undefined): { value: string; unit: string } | null {
  if (!value) return null;
  return { value: formatDecimal({ units: BigInt(points) * value.units, scale: value.scale }, value.scale), unit: value.unit };
}

export const MAX_POINTS = 1_000_000_000_000;

/** A write's answer `{ transaction, balance }`, stored as its values (src/http/responses.ts format 1). */
export function transactionAnswer(txnId: string, now: number, value: PointValue | undefined): StoredResponse {
  return {
    format: TRANSACTION_WITH_BALANCE,
    values: transactionWithBalanceValues(txnId, memberOfTransaction(txnId), now, value),
  };
}

/**
 * A ledger write with its risk check. On the member's shard at N > 1 the rules on devices and IPs
 * are decided in main first (round one, src/risk/split.ts), and the write is built from main's
 * decision; anywhere else, in the write's own batch.
 */
export function riskChecked(
  ctx: CommandContext,
  args: LedgerRiskArgs,
  build: (risk: LedgerRiskCheck) => Sql[],
  reserve?: { statements: Sql[]; key: string },
): Pick<WritePlan, "statements" | "onFailure" | "roundOne"> {
  if (!ctx.split) {
    const risk = ledgerRiskCheck(ctx.catalogue.rules, args);
    return { statements: build(risk), onFailure: risk.onFailure };
  }
  const split = ledgerRiskCheckAcrossShards(ctx.catalogue.rules, args);
  return {
    statements: [],
    onFailure: split.onFailure,
    roundOne: {
      // The risk rules first: a decline rolls the reservation back with it.
      statements: [...split.main, ...(reserve?.statements ?? [])],
      after: (results) => ({ statements: build(split.shard(split.decision(results.slice(0, split.main.length)))) }),
      ...(reserve ? { reservation: reserve.key } : {}),
    },
  };
}
