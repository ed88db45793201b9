import type { Context } from "hono";
import { admissionStatements, admit } from "../auth/admission";
import { mergeGuards } from "../db/guard";
import type { Sql } from "../db/sql-template";
import type { AppEnv } from "./context";
import type { Placed } from "./placed";

/**
 * A signed request's admission checks (src/auth/admission.ts) in the batch that carries them: at
 * N = 1 (and for a member on main) the request's own batch; on another shard, main's round one
 * (src/http/round-one.ts). Once a batch took them, they are marked done, so no batch takes them twice.
 */

/** The admission statements of a signed request, marked as taken by the batch that carries them. */
export function takeAdmission(c: Context<AppEnv>): Sql[] {
  const admission = c.get("admission");
  return admission && !admission.done ? admissionStatements(admission) : [];
}

/**
 * A request's batch: its admission guard merged with the guards that open `statements` (one
 * statement, the same first answer), then the `jti` recorded, then the rest, adjacent guards
 * merged too. Only for batches whose results are read from the end (the stored response).
 */
export function batchOf(c: Context<AppEnv>, statements: Sql[]): Sql[] {
  const [admissionGuard, recordJti] = takeAdmission(c);
  const merged = mergeGuards(admissionGuard ? [admissionGuard, ...statements] : statements);
  return recordJti ? [...merged.slice(0, 1), recordJti, ...merged.slice(1)] : merged;
}

export function admitted(c: Context<AppEnv>): void {
  const admission = c.get("admission");
  if (admission) c.set("admission", { ...admission, done: true });
}

/** The signed request's checks on their own, now (a write in several steps checks it before the first). */
export async function admitFirst(c: Context<AppEnv>): Promise<void> {
  const admission = c.get("admission");
  if (!admission || admission.done) return;
  await admit(c.env.DB, admission);
  admitted(c);
}

/** At N > 1 a batch on another shard cannot check the signed request: main does, first (round one). */
export async function admitOnMain(c: Context<AppEnv>, placed: Placed): Promise<void> {
  if (!placed.onMain) await admitFirst(c);
}
