import { rateCardAt } from "../../catalogue/catalogue";
import { sql } from "../../db/sql-template";
import type { CommandContext, WritePlan } from "../../http/runner";
import { leftToReverse, reversalStatements } from "../reversal";
import { newTransactionId } from "../transactions";
import { pointValue, transactionAnswer } from "./common";

/** `POST /v1/transactions/{id}/reversals` (partner-api.md §5): reverse an earn or a burn, all or `points`. */
export interface ReversalInput {
  partnerId: string;
  originalId: string;
  points: number | null;
  reason: string | null;
}

export function planReversal(input: ReversalInput, { catalogue, now, bucket, split }: CommandContext): WritePlan {
  const reversalId = newTransactionId(bucket);
  return {
    status: 201,
    // On a shard other than main, the issuers' credits go to the shard's outbox, for main (src/ledger/funding-credits.ts).
    statements: reversalStatements({ reversalId, ...input, now, ...(split ? { funding: "reserved" as const } : {}) }),
    response: transactionAnswer(reversalId, now, pointValue(rateCardAt(catalogue, input.partnerId, now))),
    describe: {
      transaction_not_found: { message: "no earn or burn with this id was made by this partner", param: "id" },
      // How much is left, as the batch found it.
      nothing_to_reverse: {
        message: sql`printf('%d points of this transaction are left to reverse', MAX(COALESCE(${leftToReverse(input.originalId)}, 0), 0))`,
      },
    },
  };
}
