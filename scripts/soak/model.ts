import type { Answer } from "./api";
import type { SoakPartner } from "./coalition";

/**
 * The bank test's model of the ledger, built only from what clients observed: every success
 * (each earn, burn, hold decision, reversal, adjustment) is applied once, from its one
 * determinate answer. The final checks compare it with the API and with the database.
 */

export interface Member {
  n: number;
  id: string;
  /** partner id → member_ref there. */
  refs: Map<string, string>;
  /** Point-affecting operations (and balance reads) in flight right now. */
  inflight: number;
  /** Incremented when one starts: a balance seen by a solo operation is exact while epoch is unchanged. */
  epoch: number;
  known?: { available: number; pending: number; held: number; epoch: number };
  /** Operations whose outcome is not known yet (transport failure, 5xx): no exact expectations meanwhile. */
  uncertain: number;
  /** Partners a link is being made to right now. */
  linking: Set<string>;
  earns: Earn[];
  burns: Burn[];
  /** Net points of operator adjustments. */
  adjusted: number;
  /** Successful earn reversals (the only legitimate source of a negative available). */
  earnReversals: number;
}

export interface Earn {
  id: string;
  partner: SoakPartner;
  member: Member;
  points: number;
  status: string;
  reversed: number;
  inflight: number;
}

export interface Burn {
  id: string;
  partner: SoakPartner;
  member: Member;
  points: number;
  /** capture:false: a hold. */
  hold: boolean;
  status: string;
  /** A hold's expiry: the API shows whole seconds, so the true instant is in [lower, lower + 1 s). */
  expiresLower?: number;
  captured?: number;
  voided: boolean;
  /** Left alone on purpose (some short-TTL holds): never captured or voided, it must expire. */
  abandoned: boolean;
  /** Successful captures and voids (more than one is a violation). */
  decisions: number;
  reversed: number;
  inflight: number;
}

export interface Reversal {
  id: string;
  originalId: string;
  partnerId: string;
  member: Member;
  points: number;
}

export interface Adjustment {
  id: string;
  member: Member;
  points: number;
}

/** Points the member holds in total (available + pending + held), from the observed successes. */
export function modelTotal(m: Member): number {
  let total = m.adjusted;
  for (const e of m.earns) total += e.points - e.reversed;
  for (const b of m.burns) {
    if (b.hold) total -= b.captured ?? 0;
    else total -= b.points;
    total += b.reversed;
  }
  return total;
}

/** Points the member's open holds reserve at `now`; undefined when a hold is too close to its expiry to say. */
export function modelHeld(m: Member, now: number, marginMs = 1500): number | undefined {
  let held = 0;
  for (const b of m.burns) {
    if (!b.hold || b.captured !== undefined || b.voided) continue;
    const lower = b.expiresLower ?? 0;
    if (lower + 1000 + marginMs <= now) continue; // expired
    if (lower - marginMs > now) {
      held += b.points;
      continue;
    }
    return undefined;
  }
  return held;
}

/** Pending points: unreleased earns (pending_days) minus their reversals. Exact for members who never had debt. */
export function modelPending(m: Member): number {
  let pending = 0;
  for (const e of m.earns) if (e.status === "pending" || e.status === "review") pending += e.points - e.reversed;
  return pending;
}

/** Holds open at `now` that may expire within `withinMs` (their points may come back to available). */
export function expiringHeld(m: Member, now: number, withinMs: number): number {
  let points = 0;
  for (const b of m.burns) {
    if (!b.hold || b.captured !== undefined || b.voided) continue;
    if ((b.expiresLower ?? 0) <= now + withinMs) points += b.points;
  }
  return points;
}

/** The balance of a `{ transaction, balance }` or balance answer, when it has one. */
export function balanceOf(a: Answer): { available: number; pending: number; held: number } | undefined {
  const p = a.json?.balance?.points ?? a.json?.points;
  if (p && typeof p.available === "number" && typeof p.pending === "number" && typeof p.held === "number") {
    return { available: p.available, pending: p.pending, held: p.held };
  }
  return undefined;
}
