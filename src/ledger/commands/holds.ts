import { rateCardAt } from "../../catalogue/catalogue";
import type { CommandContext, WritePlan } from "../../http/runner";
import { captureStatements, voidStatements } from "../burn";
import { pointValue, transactionAnswer } from "./common";

/**
 * `POST /v1/burns/{id}/capture` and `/void` (partner-api.md §5): the batch checks that the hold
 * is this partner's burn (else transaction_not_found) and still open (hold_not_open), then posts
 * it (all, or `points` of it, the rest released) or releases it. The hold's own transaction changes.
 */
export interface HoldInput {
  partnerId: string;
  holdId: string;
}

function holdPlan(input: HoldInput, { catalogue, now }: CommandContext, statements: WritePlan["statements"]): WritePlan {
  return {
    status: 200,
    statements,
    response: transactionAnswer(input.holdId, now, pointValue(rateCardAt(catalogue, input.partnerId, now))),
    describe: { transaction_not_found: { message: "no burn with this id was made by this partner", param: "id" } },
  };
}

export function planCapture(input: HoldInput & { points: number | null }, ctx: CommandContext): WritePlan {
  return holdPlan(input, ctx, captureStatements(input.holdId, input.partnerId, input.points, ctx.now));
}

export function planVoid(input: HoldInput, ctx: CommandContext): WritePlan {
  return holdPlan(input, ctx, voidStatements(input.holdId, input.partnerId, ctx.now));
}
