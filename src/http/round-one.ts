import type { Context } from "hono";
import { admissionError } from "../auth/admission";
import { runBatch, type Sql } from "../db/sql-template";
import { releaseReservation } from "../ledger/funding-reservations";
import { admitFirst, admitOnMain, admitted, takeAdmission } from "./admission-batch";
import type { AppEnv } from "./context";
import type { Placed } from "./placed";
import type { WritePlan } from "./runner";

/**
 * Round one on main for a request whose member is on another shard (N > 1,
 * docs/design/shards.md "One batch in the member's shard"): what main decides before the
 * member's shard decides the write. The keyed writes' round one, with the key's claim, is
 * `claimed` in ./runner.ts.
 */

/**
 * A write without a key on a shard other than main (N > 1): round one on main, the signed
 * request's checks with what the plan decides there; answers the shard's statements.
 */
export async function roundOneOnMain(
  c: Context<AppEnv>,
  placed: Placed,
  p: { statements: Sql[]; roundOne?: WritePlan["roundOne"] },
): Promise<Sql[]> {
  if (placed.onMain || !p.roundOne) {
    await admitOnMain(c, placed);
    return p.statements;
  }
  const admission = takeAdmission(c);
  const statements = [...admission, ...p.roundOne.statements];
  if (statements.length === 0) return p.roundOne.after([]).statements;
  let results: D1Result[];
  try {
    results = await runBatch(c.env.DB, statements);
  } catch (error) {
    throw admissionError(error) ?? error;
  }
  admitted(c);
  return p.roundOne.after(results.slice(admission.length)).statements;
}

/** A refusal that is not stored (no key) is recorded (a risk decline's event) on the member's shard, the jti in main. */
export async function recordRefusal(c: Context<AppEnv>, placed: Placed, statements: Sql[]): Promise<void> {
  if (!placed.onMain) await admitFirst(c);
  await runBatch(placed.db, [...takeAdmission(c), ...statements]);
  admitted(c);
}

/**
 * A shard batch that did not commit drew nothing on its funding reservation: given back now (the
 * release first makes the draw impossible on the shard); a release that fails is the job's.
 */
export async function releaseAfterFailure(c: Context<AppEnv>, placed: Placed, p: WritePlan): Promise<void> {
  const reservation = p.roundOne?.reservation;
  const shard = placed.placement?.shard;
  if (reservation === undefined || !shard) return;
  try {
    await releaseReservation(c.env, shard, reservation, c.get("now"));
  } catch (error) {
    console.error("funding reservation not released; the scheduled job settles it", error);
  }
}
