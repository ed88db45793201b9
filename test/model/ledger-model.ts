/**
 * An in-memory model of the member ledger (economics.md "Ledger", partner-api.md §5), for the
 * model-based property test next to it. Pure TypeScript: no D1, no clock of its own (every call
 * takes `now`), no code shared with src/.
 *
 * The model is EAGER: every time-driven state (a hold's expiry, a pending earn's release, a lot's
 * expiry) takes effect at its timestamp (partner-api.md §1 "Time-driven states") through
 * `settle(now)`, which every operation runs first. The implementation is lazy (requests see
 * time-driven states, jobs write them later); the test normalises what it reads accordingly.
 *
 * Where the spec says it, the model follows the spec. Where the spec is silent, it follows the
 * implementation's documented choices (see IMPLEMENTATION CHOICES below).
 *
 * IMPLEMENTATION CHOICES the model adopts where the spec is silent:
 *  - Lots are spendable from `available_at` (a posted earn: its booking time; a pending earn:
 *    booking + the partner's pending period) until `expires_at` (exclusive).
 *  - A lot's expiry is the last second of the UTC month `expiryMonths` after its booking month.
 *  - A partial capture captures the hold's reservations in reservation order (so the soonest-
 *    expiring reserved points are the ones redeemed); the rest is released.
 *  - Released hold points (void, expiry, partial capture) do NOT repay debt; restored burn points
 *    and new lots (earns, operator credits) DO, even a pending earn's lot. Points restored onto a
 *    lot already past its expiry do NOT (they never reach the member: they expire at once).
 *  - A burn reversal's restored points repay debt in consumption order (of the restored parts).
 *  - An earn reversal brings back the debts its earn repaid newest debt first, before creating a
 *    new debt (charged to the earn's issuer).
 *  - `expiring` sums remaining lot points (pending lots included, reserved points excluded) that
 *    expire within 90 days, grouped by expiry instant.
 *  - Error precedence of the API: transaction_not_found (also: another partner's transaction, a
 *    reversal, an adjustment), then hold_not_open / nothing_to_reverse, then invalid_body (capture
 *    of more than held, 400); a reversal of more than is left, or of a held or voided burn, answers
 *    nothing_to_reverse.
 *  - A pending earn can be reversed like a posted one (its lot's points are taken back).
 *  - A lot's expiry that no job has written yet and an earn reversal: the implementation takes the
 *    points back as `take_back` rather than `unexpire`; lots, balances and debts are the same
 *    either way, so the test cannot (and need not) tell them apart.
 */

export type Issuer = string; // a partner key of the model, or "operator"

export interface PartnerPolicy {
  /** 0: earns are posted at once; otherwise pending for this long. */
  pendingMs: number;
  holdTtlMs: number;
}

export interface ModelConfig {
  partners: Record<string, PartnerPolicy>;
  expiryMonths: number;
  expiringWindowMs: number;
}

export const OPERATOR: Issuer = "operator";

export interface ModelLot {
  index: number;
  /** The earn or adjustment that created it. */
  txn: number;
  issuer: Issuer;
  points: number;
  /** Unreserved points left on the lot (what the lots table calls `remaining`). */
  remaining: number;
  /** Points expired into breakage and not taken back. */
  expired: number;
  availableAt: number;
  expiresAt: number;
}

export interface ModelDebt {
  index: number;
  issuer: Issuer;
  points: number;
  outstanding: number;
  createdBy: number;
}

export interface Reservation {
  lot: number;
  points: number;
}

export interface Consumption {
  lot: number;
  points: number;
  restored: number;
}

export type TxnKind = "earn" | "burn" | "reversal" | "adjustment";
export type TxnStatus = "posted" | "pending" | "held" | "voided";

export interface ModelTxn {
  index: number;
  kind: TxnKind;
  /** The partner that made it (a model partner key), or "operator". */
  partner: string;
  points: number;
  status: TxnStatus;
  capturedPoints?: number;
  /** Pending earn: its release. */
  availableAt?: number;
  /** Hold: its expiry. */
  expiresAt?: number;
  /** Earn / adjustment credit: its lot. */
  lot?: number;
  /** Hold: open reservations, in reservation order. */
  reservations: Reservation[];
  /** Posted burn / captured hold / adjustment debit: consumption, in consumption order. */
  consumption: Consumption[];
  /** Points reversed so far (sum of its reversals). */
  reversed: number;
  /** Reversal: the transaction reversed. */
  original?: number;
  /** Earn: net points of each debt (by index) this earn and its reversals repaid. */
  repaid: Map<number, number>;
}

export type Outcome = { ok: true; status: number; txn: number } | { ok: false; status: number; code: string };

export interface ModelBalance {
  available: number;
  pending: number;
  held: number;
  expiring: { points: number; expiresAt: number }[];
}

const fail = (status: number, code: string): Outcome => ({ ok: false, status, code });

/** The last second of the UTC month `months` after the month of `bookedAt`. */
export function lotExpiry(bookedAt: number, months: number): number {
  const d = new Date(bookedAt);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months + 1, 1) - 1000;
}

export class LedgerModel {
  readonly lots: ModelLot[] = [];
  readonly debts: ModelDebt[] = [];
  readonly txns: ModelTxn[] = [];

  readonly config: ModelConfig;

  constructor(config: ModelConfig) {
    this.config = { ...config, partners: { ...config.partners } };
  }

  /** The operator changes the coalition's expiry policy; it applies to lots booked from now on. */
  setExpiryMonths(months: number): void {
    this.config.expiryMonths = months;
  }

  // ---- time ----

  /** Time-driven states at `now`: expired holds release their points, pending earns post, lots expire. */
  settle(now: number): void {
    for (const t of this.txns) {
      if (t.status === "held" && (t.expiresAt ?? 0) <= now) {
        this.release(t);
        t.status = "voided";
      }
      if (t.status === "pending" && (t.availableAt ?? 0) <= now) t.status = "posted";
    }
    for (const lot of this.lots) {
      if (lot.expiresAt <= now && lot.remaining > 0) {
        lot.expired += lot.remaining;
        lot.remaining = 0;
      }
    }
  }

  /** The clock moves forward by `deltaMs`: the same as every stored timestamp moving back. */
  shift(deltaMs: number): void {
    for (const lot of this.lots) {
      lot.availableAt -= deltaMs;
      lot.expiresAt -= deltaMs;
    }
    for (const t of this.txns) {
      if (t.availableAt !== undefined) t.availableAt -= deltaMs;
      if (t.expiresAt !== undefined) t.expiresAt -= deltaMs;
    }
  }

  /** Every instant after `now` at which some state of this member changes. */
  futureEvents(now: number): number[] {
    const events = new Set<number>();
    for (const lot of this.lots) {
      if (lot.expiresAt > now) events.add(lot.expiresAt);
      if (lot.availableAt > now) events.add(lot.availableAt);
      // The lot enters the balance's `expiring` window.
      const entersWindow = lot.expiresAt - this.config.expiringWindowMs;
      if (entersWindow > now) events.add(entersWindow);
    }
    for (const t of this.txns) {
      if (t.status === "held" && t.expiresAt !== undefined && t.expiresAt > now) events.add(t.expiresAt);
      if (t.status === "pending" && t.availableAt !== undefined && t.availableAt > now) events.add(t.availableAt);
    }
    return [...events].sort((a, b) => a - b);
  }

  // ---- reads ----

  debtTotal(): number {
    return this.debts.reduce((s, d) => s + d.outstanding, 0);
  }

  private spendable(lot: ModelLot, now: number): boolean {
    return lot.remaining > 0 && lot.availableAt <= now && lot.expiresAt > now;
  }

  available(now: number): number {
    this.settle(now);
    return this.lots.filter((l) => this.spendable(l, now)).reduce((s, l) => s + l.remaining, 0) - this.debtTotal();
  }

  balance(now: number): ModelBalance {
    this.settle(now);
    const live = this.lots.filter((l) => l.remaining > 0 && l.expiresAt > now);
    const pending = live.filter((l) => l.availableAt > now).reduce((s, l) => s + l.remaining, 0);
    const held = this.txns.filter((t) => t.status === "held").reduce((s, t) => s + t.points, 0);
    const byExpiry = new Map<number, number>();
    for (const l of live) {
      if (l.expiresAt <= now + this.config.expiringWindowMs)
        byExpiry.set(l.expiresAt, (byExpiry.get(l.expiresAt) ?? 0) + l.remaining);
    }
    const expiring = [...byExpiry.entries()].sort((a, b) => a[0] - b[0]).map(([expiresAt, points]) => ({ points, expiresAt }));
    return { available: this.available(now), pending, held, expiring };
  }

  // ---- operations ----

  /** POST /v1/earn by points (no review, funding never exhausted in the test). */
  earn(partner: string, points: number, now: number): Outcome {
    this.settle(now);
    const policy = this.policy(partner);
    const pending = policy.pendingMs > 0;
    const txn = this.newTxn({
      kind: "earn",
      partner,
      points,
      status: pending ? "pending" : "posted",
      ...(pending ? { availableAt: now + policy.pendingMs } : {}),
    });
    this.credit(txn, partner, points, pending ? now + policy.pendingMs : now, now);
    return { ok: true, status: 201, txn: txn.index };
  }

  /** Operator adjustment: a credit creates an operator lot; a debit consumes lots like a burn. */
  adjust(points: number, now: number): Outcome {
    this.settle(now);
    if (points > 0) {
      const txn = this.newTxn({ kind: "adjustment", partner: OPERATOR, points, status: "posted" });
      this.credit(txn, OPERATOR, points, now, now);
      return { ok: true, status: 201, txn: txn.index };
    }
    const debit = -points;
    if (this.available(now) < debit) return fail(422, "insufficient_points");
    const txn = this.newTxn({ kind: "adjustment", partner: OPERATOR, points: debit, status: "posted" });
    txn.consumption = this.takeFifo(debit, now).map((r) => ({ ...r, restored: 0 }));
    return { ok: true, status: 201, txn: txn.index };
  }

  /** POST /v1/burns by points: posted (consumes) or held (reserves), FIFO by expiry then age. */
  burn(partner: string, points: number, capture: boolean, now: number): Outcome {
    this.settle(now);
    if (this.available(now) < points) return fail(422, "insufficient_points");
    const txn = this.newTxn({
      kind: "burn",
      partner,
      points,
      status: capture ? "posted" : "held",
      ...(capture ? {} : { expiresAt: now + this.policy(partner).holdTtlMs }),
    });
    const taken = this.takeFifo(points, now);
    if (capture) txn.consumption = taken.map((r) => ({ ...r, restored: 0 }));
    else txn.reservations = taken;
    return { ok: true, status: 201, txn: txn.index };
  }

  /** POST /v1/burns/{id}/capture by `caller`, of `points` (all when undefined). */
  capture(index: number, points: number | undefined, caller: string, now: number): Outcome {
    this.settle(now);
    const hold = this.txns[index];
    if (hold?.kind !== "burn" || hold.partner !== caller) return fail(404, "transaction_not_found");
    if (hold.status !== "held") return fail(409, "hold_not_open");
    const n = points ?? hold.points;
    if (n > hold.points) return fail(400, "invalid_body");
    let left = n;
    for (const r of hold.reservations) {
      const c = Math.min(r.points, left);
      if (c <= 0) break;
      hold.consumption.push({ lot: r.lot, points: c, restored: 0 });
      r.points -= c;
      left -= c;
    }
    this.release(hold);
    hold.status = "posted";
    hold.capturedPoints = n;
    this.settle(now);
    return { ok: true, status: 200, txn: hold.index };
  }

  /** POST /v1/burns/{id}/void by `caller`. */
  void(index: number, caller: string, now: number): Outcome {
    this.settle(now);
    const hold = this.txns[index];
    if (hold?.kind !== "burn" || hold.partner !== caller) return fail(404, "transaction_not_found");
    if (hold.status !== "held") return fail(409, "hold_not_open");
    this.release(hold);
    hold.status = "voided";
    this.settle(now);
    return { ok: true, status: 200, txn: hold.index };
  }

  /** POST /v1/transactions/{id}/reversals by `caller`, of `points` (all that is left when undefined). */
  reverse(index: number, points: number | undefined, caller: string, now: number): Outcome {
    this.settle(now);
    const original = this.txns[index];
    if (!original || original.partner !== caller || (original.kind !== "earn" && original.kind !== "burn")) {
      return fail(404, "transaction_not_found");
    }
    const reversible =
      original.kind === "earn"
        ? original.points
        : original.status === "posted"
          ? (original.capturedPoints ?? original.points)
          : 0;
    const left = reversible - original.reversed;
    const n = points ?? left;
    if (left <= 0 || n > left) return fail(409, "nothing_to_reverse");
    const reversal = this.newTxn({ kind: "reversal", partner: caller, points: n, status: "posted", original: original.index });
    original.reversed += n;
    if (original.kind === "earn") this.reverseEarn(original, n);
    else this.reverseBurn(original, n, now);
    this.settle(now);
    return { ok: true, status: 201, txn: reversal.index };
  }

  // ---- internals ----

  private policy(partner: string): PartnerPolicy {
    const p = this.config.partners[partner];
    if (!p) throw new Error(`unknown partner ${partner}`);
    return p;
  }

  private newTxn(t: Pick<ModelTxn, "kind" | "partner" | "points" | "status"> & Partial<ModelTxn>): ModelTxn {
    const txn: ModelTxn = { index: this.txns.length, reservations: [], consumption: [], reversed: 0, repaid: new Map(), ...t };
    this.txns.push(txn);
    return txn;
  }

  private lot(index: number): ModelLot {
    const lot = this.lots[index];
    if (!lot) throw new Error(`no lot ${index}`);
    return lot;
  }

  /** A new lot for an earn or a credit; its points repay the oldest debt first. */
  private credit(txn: ModelTxn, issuer: Issuer, points: number, availableAt: number, now: number): void {
    const lot: ModelLot = {
      index: this.lots.length,
      txn: txn.index,
      issuer,
      points,
      remaining: points,
      expired: 0,
      availableAt,
      expiresAt: lotExpiry(now, this.config.expiryMonths),
    };
    this.lots.push(lot);
    txn.lot = lot.index;
    const repay = Math.min(lot.remaining, this.debtTotal());
    lot.remaining -= repay;
    this.repayDebts(txn, repay);
  }

  /** Takes `points` from the spendable lots, soonest expiry first, then oldest. */
  private takeFifo(points: number, now: number): Reservation[] {
    const order = this.lots.filter((l) => this.spendable(l, now)).sort((a, b) => a.expiresAt - b.expiresAt || a.index - b.index);
    const taken: Reservation[] = [];
    let left = points;
    for (const lot of order) {
      if (left <= 0) break;
      const n = Math.min(lot.remaining, left);
      lot.remaining -= n;
      left -= n;
      taken.push({ lot: lot.index, points: n });
    }
    if (left > 0) throw new Error("model: FIFO ran out of points after the available check");
    return taken;
  }

  /** Gives every open reservation of `hold` back to its lot (no debt repayment). */
  private release(hold: ModelTxn): void {
    for (const r of hold.reservations) this.lot(r.lot).remaining += r.points;
    hold.reservations = [];
  }

  /**
   * Books `points` of repayment against the debts, oldest first; an earn (`txn`) remembers what
   * it repaid, for its reversal to hand back. A burn reversal's repayments are never handed back.
   */
  private repayDebts(txn: ModelTxn | undefined, points: number): void {
    let left = points;
    for (const d of this.debts) {
      if (left <= 0) break;
      const n = Math.min(d.outstanding, left);
      if (n <= 0) continue;
      d.outstanding -= n;
      left -= n;
      txn?.repaid.set(d.index, (txn.repaid.get(d.index) ?? 0) + n);
    }
  }

  /**
   * Earn reversal (economics.md): the earn's unreserved remaining first, then its expired points
   * out of breakage; the rest becomes debt — first by bringing back debts this earn repaid, then
   * as a new debt of the earn's issuer.
   */
  private reverseEarn(earn: ModelTxn, points: number): void {
    const lot = this.lot(earn.lot ?? -1);
    const fromRemaining = Math.min(lot.remaining, points);
    lot.remaining -= fromRemaining;
    const fromExpired = Math.min(lot.expired, points - fromRemaining);
    lot.expired -= fromExpired;
    let left = points - fromRemaining - fromExpired;
    const repaidDebts = [...earn.repaid.entries()].filter(([, net]) => net > 0).sort((a, b) => b[0] - a[0]);
    for (const [debtIndex, net] of repaidDebts) {
      if (left <= 0) break;
      const n = Math.min(net, left);
      const debt = this.debts[debtIndex];
      if (!debt) throw new Error(`no debt ${debtIndex}`);
      debt.outstanding += n;
      earn.repaid.set(debtIndex, net - n);
      left -= n;
    }
    if (left > 0) {
      this.debts.push({ index: this.debts.length, issuer: earn.partner, points: left, outstanding: left, createdBy: earn.index });
    }
  }

  /** Burn reversal: consumed points go back onto their lots, last consumed first; they repay debt first. */
  private reverseBurn(burn: ModelTxn, points: number, now: number): void {
    const restored: { lot: number; points: number }[] = [];
    let left = points;
    for (let i = burn.consumption.length - 1; i >= 0 && left > 0; i--) {
      const c = burn.consumption[i]!;
      const n = Math.min(c.points - c.restored, left);
      if (n <= 0) continue;
      c.restored += n;
      this.lot(c.lot).remaining += n;
      restored.push({ lot: c.lot, points: n });
      left -= n;
    }
    // Repayment takes the restored parts in consumption order (the reverse of restoring); points
    // restored onto a lot past its expiry expire at once (settle) and repay nothing.
    let debt = this.debtTotal();
    let repaid = 0;
    for (let i = restored.length - 1; i >= 0 && debt > 0; i--) {
      const r = restored[i]!;
      if (this.lot(r.lot).expiresAt <= now) continue;
      const n = Math.min(r.points, debt);
      this.lot(r.lot).remaining -= n;
      debt -= n;
      repaid += n;
    }
    this.repayDebts(undefined, repaid);
  }
}
