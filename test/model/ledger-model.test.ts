import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { operator, type TestPartner } from "../support/exchange";
import { checkInvariants } from "../support/invariants";
import { runScheduledJobs } from "../support/jobs";
import { burn, earn, enrol, link, partnerWithCard, sql, type TxnResult } from "../support/ledger";
import { capture, getTransaction, reverse, rfc3339, voidHold } from "../support/ledger-flows";
import { LedgerModel, type ModelConfig, type ModelTxn, type Outcome } from "./ledger-model";

/**
 * Model-based property test of the ledger (issue 3 acceptance): random sequences of earn, burn,
 * hold, capture, void, reverse, operator adjustment, scheduled jobs and time steps run against
 * the real worker (workerd, local D1) and against the in-memory model of ./ledger-model.ts. After
 * every action these must agree: the API's answer (status and error code, or the transaction and
 * the balance it returns), GET balance (available, pending, held, expiring), every lot of the
 * member (remaining, expired, expiry), the member's debts, and GET /v1/transactions/{id} of every
 * transaction the step created or changed or whose status time can still change (held, pending).
 * A run ends with the scheduled jobs, a check of every transaction and of the raw lot rows, and
 * the four invariants of economics.md (checkInvariants).
 *
 * Time: the API uses the real clock, so a time step of Δ moves every stored lot and transaction
 * timestamp back by Δ (the same as the clock moving forward by Δ) and the model does the same.
 * Steps never land within MARGIN of a state change, so the few milliseconds between the model's
 * clock and the API's cannot decide anything.
 */

/** Runs × steps: small enough for well under a minute in workerd. */
const NUM_RUNS = 30;
const MAX_STEPS = 36;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const MARGIN = 5 * MINUTE;
/**
 * The coalition's expiry policy at the start of every run: a lot expires at the end of the month
 * after its booking month, so time steps reach it easily. A `policy` action changes it (1–4).
 */
const EXPIRY_MONTHS = 1;

/** Two partners with different time behaviour: A posts at once, short holds; B pending 1 day, 2-day holds. */
const PARTNERS = {
  A: { pending_days: 0, hold_ttl_seconds: 20 * 60, card: { issue_price: "0.010", redeem_price: "0.008" } },
  B: { pending_days: 1, hold_ttl_seconds: 2 * 24 * 3600, card: { issue_price: "0.020", redeem_price: "0.015" } },
} as const;
type PartnerKey = keyof typeof PARTNERS;
const KEYS: PartnerKey[] = ["A", "B"];
const other = (p: PartnerKey): PartnerKey => (p === "A" ? "B" : "A");

const CONFIG: ModelConfig = {
  partners: Object.fromEntries(
    KEYS.map((k) => [k, { pendingMs: PARTNERS[k].pending_days * DAY, holdTtlMs: PARTNERS[k].hold_ttl_seconds * 1000 }]),
  ),
  expiryMonths: EXPIRY_MONTHS,
  expiringWindowMs: 90 * DAY,
};

// ---- actions ----

/** How many points an action asks for, relative to what the model says is there. */
type Amount = { pct: number } | { abs: number } | "all" | "over";
type TimeKind = "minutes" | "hours" | "days" | "event";
/** What a reversal aims at: an earn, a posted burn, or any transaction of the run. */
type Target = "earn" | "burn" | "any";

type Action =
  | { t: "earn"; p: PartnerKey; points: number }
  | { t: "burn"; p: PartnerKey; amount: Amount; capture: boolean }
  | { t: "capture"; pick: number; open: boolean; amount: Amount; other: boolean }
  | { t: "void"; pick: number; open: boolean; other: boolean }
  | { t: "reverse"; pick: number; target: Target; amount: Amount; other: boolean }
  | { t: "adjust"; credit: boolean; amount: Amount }
  | { t: "jobs" }
  | { t: "policy"; months: number }
  | { t: "time"; kind: TimeKind; n: number; pick: number; before: boolean };

/** A (posted at once) twice as often as B (pending), so burns find points. */
const partnerArb = fc.constantFrom<PartnerKey>("A", "A", "B");
const amountArb: fc.Arbitrary<Amount> = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: 1, max: 100 }).map((pct) => ({ pct })) },
  { weight: 2, arbitrary: fc.constant<Amount>("all") },
  { weight: 1, arbitrary: fc.constant<Amount>("over") },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 300 }).map((abs) => ({ abs })) },
);
const pickArb = fc.nat(63);
/** Mostly an open hold (when there is one), sometimes any burn (a closed hold, a posted burn). */
const openArb = fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) });
const targetArb = fc.oneof(
  { weight: 4, arbitrary: fc.constant<Target>("earn") },
  { weight: 3, arbitrary: fc.constant<Target>("burn") },
  { weight: 2, arbitrary: fc.constant<Target>("any") },
);
const earnArb = fc.record({ t: fc.constant("earn" as const), p: partnerArb, points: fc.integer({ min: 1, max: 200 }) });

const rareArb = fc
  .boolean()
  .chain((b) => (b ? fc.boolean() : fc.constant(false)))
  .chain((b) => (b ? fc.boolean() : fc.constant(false)));

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 5, arbitrary: earnArb },
  {
    weight: 6,
    arbitrary: fc.record({ t: fc.constant("burn" as const), p: partnerArb, amount: amountArb, capture: fc.boolean() }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ t: fc.constant("capture" as const), pick: pickArb, open: openArb, amount: amountArb, other: rareArb }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("void" as const), pick: pickArb, open: openArb, other: rareArb }) },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant("reverse" as const),
      pick: pickArb,
      target: targetArb,
      amount: amountArb,
      other: rareArb,
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("adjust" as const), credit: fc.boolean(), amount: amountArb }) },
  { weight: 2, arbitrary: fc.constant({ t: "jobs" as const }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("policy" as const), months: fc.integer({ min: 1, max: 4 }) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant("time" as const),
      kind: fc.constantFrom<TimeKind>("minutes", "hours", "days", "event", "event"),
      n: fc.nat(1000),
      pick: pickArb,
      before: fc.boolean(),
    }),
  },
);

/** A run: an expiry policy, an earn at A (posted at once) and up to two more to start with, then any actions (up to MAX_STEPS in all). */
const actionsArb: fc.Arbitrary<Action[]> = fc
  .tuple(
    fc.integer({ min: 1, max: 4 }),
    fc.integer({ min: 1, max: 200 }).map((points): Action => ({ t: "earn", p: "A", points })),
    fc.array(earnArb, { maxLength: 2 }),
    fc.array(actionArb, { maxLength: MAX_STEPS - 4, size: "max" }),
  )
  .map(([months, first, more, rest]) => [
    ...(months === EXPIRY_MONTHS ? [] : [{ t: "policy", months } as Action]),
    first,
    ...more,
    ...rest,
  ]);

/** Points for `amount` of `base` (what is available, held or left). */
function resolve(amount: Amount, base: number): number {
  const b = Math.max(base, 0);
  if (amount === "all") return Math.max(b, 1);
  if (amount === "over") return b + 1;
  if ("abs" in amount) return amount.abs;
  return Math.max(1, Math.ceil((b * amount.pct) / 100));
}

/**
 * The time step: how far the clock moves. A step aimed at an event (a hold's expiry, a pending
 * earn's release, a lot's expiry) lands just before or after it; any step is then pushed on until
 * no state change of the member lies within MARGIN of the new now.
 */
function timeStep(model: LedgerModel, action: Extract<Action, { t: "time" }>, now: number): number {
  let target: number;
  const events = model.futureEvents(now);
  if (action.kind === "minutes") target = now + (10 + (action.n % 80)) * MINUTE;
  else if (action.kind === "hours") target = now + (2 + (action.n % 94)) * HOUR;
  else if (action.kind === "days") target = now + (4 + (action.n % 40)) * DAY;
  else {
    const e = events[action.pick % Math.max(events.length, 1)];
    const jitter = MARGIN + (1 + (action.n % 180)) * MINUTE;
    target = e === undefined ? now + HOUR : action.before ? e - jitter : e + jitter;
  }
  target = Math.max(target, now + MINUTE);
  for (let moved = true; moved; ) {
    moved = false;
    for (const e of events) {
      if (Math.abs(e - target) < MARGIN) {
        target = e + MARGIN;
        moved = true;
      }
    }
  }
  return Math.ceil((target - now) / 1000) * 1000;
}

/** What of a model transaction a step can change. */
const txnState = (t: ModelTxn): string => `${t.status}/${t.capturedPoints ?? ""}/${t.reversed}`;

// ---- the run ----

interface World {
  partners: Record<PartnerKey, TestPartner>;
}

type ApiResult = Awaited<ReturnType<typeof earn>>;

const ADJUST_KEY = { n: 0 };

class Run {
  readonly model = new LedgerModel(CONFIG);
  /** Model transaction index → its id in D1. */
  readonly ids: string[] = [];
  readonly log: string[] = [];

  private constructor(
    readonly world: World,
    readonly refs: Record<PartnerKey, string>,
    readonly memberId: string,
  ) {}

  static async start(world: World): Promise<Run> {
    await sql("UPDATE coalition_settings SET expiry_months = ?", EXPIRY_MONTHS);
    const { ref, memberId } = await enrol(world.partners.A);
    const refB = await link(world.partners.A, ref, world.partners.B);
    return new Run(world, { A: ref, B: refB }, memberId);
  }

  private client(p: string): TestPartner {
    const partner = this.world.partners[p as PartnerKey];
    if (!partner) throw new Error(`no partner ${p}`);
    return partner;
  }

  private issuerId(issuer: string): string {
    return issuer === "operator" ? "operator" : this.client(issuer).id;
  }

  private where(step: number, action: Action | string): string {
    return `step ${step} ${typeof action === "string" ? action : JSON.stringify(action)}\n  log: ${this.log.join("\n       ")}`;
  }

  async step(i: number, action: Action): Promise<void> {
    const now = Date.now();
    const m = this.model;
    let checkedRaw = false;
    const before = m.txns.map(txnState);
    switch (action.t) {
      case "earn": {
        const expected = m.earn(action.p, action.points, now);
        this.expectOutcome(i, action, expected, await earn(this.client(action.p), this.refs[action.p], action.points));
        break;
      }
      case "burn": {
        const points = resolve(action.amount, m.available(now));
        const expected = m.burn(action.p, points, action.capture, now);
        const actual = await burn(this.client(action.p), this.refs[action.p], points, { capture: action.capture });
        this.expectOutcome(i, action, expected, actual, `points ${points}`);
        break;
      }
      case "capture":
      case "void": {
        const burns = m.txns.filter((t) => t.kind === "burn");
        const open = burns.filter((t) => t.status === "held");
        const among = action.open && open.length > 0 ? open : burns;
        const hold = among[action.pick % Math.max(among.length, 1)];
        if (!hold) {
          this.log.push(`${i}: ${action.t} (no burn yet)`);
          break;
        }
        const caller = action.other ? other(hold.partner as PartnerKey) : (hold.partner as PartnerKey);
        const id = this.ids[hold.index]!;
        if (action.t === "capture") {
          const points = action.amount === "all" ? undefined : resolve(action.amount, hold.points);
          const expected = m.capture(hold.index, points, caller, now);
          const actual = await capture(this.client(caller), id, points);
          this.expectOutcome(i, action, expected, actual, `txn #${hold.index} by ${caller}, points ${points ?? "all"}`);
        } else {
          const expected = m.void(hold.index, caller, now);
          this.expectOutcome(i, action, expected, await voidHold(this.client(caller), id), `txn #${hold.index} by ${caller}`);
        }
        break;
      }
      case "reverse": {
        const aimed =
          action.target === "earn"
            ? m.txns.filter((t) => t.kind === "earn")
            : action.target === "burn"
              ? m.txns.filter((t) => t.kind === "burn" && t.status === "posted")
              : [];
        const among = aimed.length > 0 ? aimed : m.txns;
        const target = among[action.pick % Math.max(among.length, 1)];
        if (!target) {
          this.log.push(`${i}: reverse (no transaction yet)`);
          break;
        }
        const owner = target.partner in PARTNERS ? (target.partner as PartnerKey) : "A";
        const caller = action.other ? other(owner) : owner;
        const reversible =
          target.kind === "earn" ? target.points : target.status === "posted" ? (target.capturedPoints ?? target.points) : 0;
        const left = reversible - target.reversed;
        const points = action.amount === "all" ? undefined : resolve(action.amount, left > 0 ? left : target.points);
        const expected = m.reverse(target.index, points, caller, now);
        const actual = await reverse(this.client(caller), this.ids[target.index]!, points);
        this.expectOutcome(
          i,
          action,
          expected,
          actual,
          `txn #${target.index} (${target.kind}) by ${caller}, points ${points ?? "all"}`,
        );
        break;
      }
      case "adjust": {
        const magnitude = action.credit ? resolve(action.amount, 100) : resolve(action.amount, m.available(now));
        const points = action.credit ? magnitude : -magnitude;
        const expected = m.adjust(points, now);
        const r = await operator(
          "POST",
          `/members/${this.memberId}/adjustments`,
          { points, reason: "model test" },
          { idempotencyKey: `model-adj-${Date.now()}-${ADJUST_KEY.n++}` },
        );
        const actual = (
          r.status < 300
            ? { ok: true, status: r.status, data: r.body, text: r.text }
            : { ok: false, status: r.status, error: r.body?.error, text: r.text }
        ) as ApiResult;
        this.expectOutcome(i, action, expected, actual, `points ${points}`);
        break;
      }
      case "policy": {
        // Lots booked under different policies expire out of booking order: FIFO by expiry, then age.
        await sql("UPDATE coalition_settings SET expiry_months = ?", action.months);
        m.setExpiryMonths(action.months);
        this.log.push(`${i}: expiry_months = ${action.months}`);
        break;
      }
      case "jobs": {
        await runScheduledJobs(Date.now());
        m.settle(Date.now());
        this.log.push(`${i}: jobs`);
        checkedRaw = true;
        break;
      }
      case "time": {
        const delta = timeStep(m, action, now);
        await env.DB.batch([
          env.DB.prepare("UPDATE lots SET expires_at = expires_at - ?1, available_at = available_at - ?1").bind(delta),
          env.DB.prepare(
            "UPDATE transactions SET expires_at = expires_at - ?1, available_at = available_at - ?1 WHERE expires_at IS NOT NULL OR available_at IS NOT NULL",
          ).bind(delta),
        ]);
        m.shift(delta);
        m.settle(Date.now());
        this.log.push(`${i}: time +${(delta / HOUR).toFixed(2)}h`);
        break;
      }
    }
    // Transactions to GET: new ones, those this step changed, and those whose status time can
    // still change (held, pending). The others are final; `finish` GETs every one of them.
    const watch = new Set(
      m.txns.filter((t) => before[t.index] !== txnState(t) || t.status === "held" || t.status === "pending").map((t) => t.index),
    );
    await this.compare(i, action, checkedRaw, watch);
  }

  /** The end of a run: every transaction's status, raw lots after the jobs, the invariants. */
  async finish(): Promise<void> {
    await runScheduledJobs(Date.now());
    this.model.settle(Date.now());
    this.log.push("end: jobs");
    await this.compare(this.log.length, "end of run (after the jobs)", true, "all");
    await checkInvariants(Date.now());
  }

  /** The API's answer against the model's: status and error code, or the transaction and the balance. */
  private expectOutcome(i: number, action: Action, expected: Outcome, actual: ApiResult, detail = ""): void {
    const where = this.where(i, action);
    this.log.push(
      `${i}: ${JSON.stringify(action)} ${detail} → ${expected.ok ? expected.status : `${expected.status} ${expected.code}`}`,
    );
    if (!expected.ok) {
      expect({ status: actual.status, code: actual.ok ? undefined : actual.error.code }, `${where}\n  ${actual.text}`).toEqual({
        status: expected.status,
        code: expected.code,
      });
      return;
    }
    expect({ status: actual.status }, `${where}\n  ${actual.text}`).toEqual({ status: expected.status });
    if (!actual.ok) return;
    const data = actual.data as TxnResult;
    const txn = this.model.txns[expected.txn]!;
    if (this.ids[txn.index] === undefined) this.ids[txn.index] = data.transaction.id;
    const now = Date.now();
    const b = this.model.balance(now);
    expect(
      {
        status: data.transaction.status,
        points: data.transaction.points,
        captured: data.transaction.captured_points,
        balance: data.balance.points,
      },
      `answer: ${where}`,
    ).toEqual({
      status: txn.status,
      points: txn.points,
      captured: txn.capturedPoints,
      balance: { available: b.available, pending: b.pending, held: b.held },
    });
  }

  /** Balance, lots, debts and the statuses of transactions `watch`, against the model. */
  async compare(i: number, action: Action | string, raw: boolean, watch: Set<number> | "all"): Promise<void> {
    const where = this.where(i, action);
    const now = Date.now();
    const m = this.model;
    const expectedBalance = m.balance(now);
    const watched = m.txns.filter((t) => watch === "all" || watch.has(t.index));

    const [bal, lots, debts, ...txns] = await Promise.all([
      this.client("A").client.get<{
        points: { available: number; pending: number; held: number };
        expiring: { points: number; expires_at: string }[];
      }>(`/v1/members/${this.refs.A}/balance`),
      sql<{
        issuer_id: string;
        points: number;
        remaining: number;
        expired: number;
        available_at: number;
        expires_at: number;
        lapsed: number;
      }>(
        `SELECT l.issuer_id, l.points, l.remaining, l.expired, l.available_at, l.expires_at,
           (SELECT COALESCE(SUM(mv.points), 0) FROM lot_movements mv JOIN transactions h ON h.id = mv.txn_id
             WHERE mv.lot_id = l.id AND mv.kind = 'reserve' AND h.status = 'held' AND h.expires_at <= ?2) AS lapsed
           FROM lots l WHERE l.member_id = ?1 ORDER BY l.id`,
        this.memberId,
        now,
      ),
      sql<{ issuer_id: string; points: number; outstanding: number }>(
        "SELECT issuer_id, points, outstanding FROM debts WHERE member_id = ? ORDER BY id",
        this.memberId,
      ),
      ...watched.map(async (t) => {
        const id = this.ids[t.index]!;
        if (t.partner === "operator") {
          const [row] = await sql<{ status: string; points: number }>("SELECT status, points FROM transactions WHERE id = ?", id);
          return { status: row?.status, points: row?.points, captured: undefined as number | undefined };
        }
        const r = await getTransaction(this.client(t.partner), id);
        if (!r.ok) return { status: `error ${r.status}`, points: undefined, captured: undefined };
        return {
          status: r.data.transaction.status,
          points: r.data.transaction.points,
          captured: r.data.transaction.captured_points as number | undefined,
        };
      }),
    ]);

    if (!bal.ok) throw new Error(`balance failed: ${bal.text}`);
    expect(
      {
        points: bal.data.points,
        expiring: bal.data.expiring,
      },
      `balance (GET, expiring as RFC 3339): ${where}`,
    ).toEqual({
      points: { available: expectedBalance.available, pending: expectedBalance.pending, held: expectedBalance.held },
      expiring: expectedBalance.expiring.map((e) => ({ points: e.points, expires_at: rfc3339(e.expiresAt) })),
    });

    // Lots as of now: the implementation writes time-driven states lazily, so points reserved by
    // a hold past its expiry count as back on their lot, and a lot past its expiry as expired.
    // After the jobs ran nothing may be left to normalise.
    const actualLots = lots.map((l) => {
      const live = l.remaining + l.lapsed;
      const past = l.expires_at <= now;
      return {
        issuer: l.issuer_id,
        points: l.points,
        remaining: past ? 0 : live,
        expired: past ? l.expired + live : l.expired,
        expires_at: l.expires_at,
        ...(raw ? { raw: { remaining: l.remaining, expired: l.expired } } : {}),
      };
    });
    const expectedLots = m.lots.map((l) => ({
      issuer: this.issuerId(l.issuer),
      points: l.points,
      remaining: l.remaining,
      expired: l.expired,
      expires_at: l.expiresAt,
      ...(raw ? { raw: { remaining: l.remaining, expired: l.expired } } : {}),
    }));
    expect(actualLots, `lots (in id order; expired = breakage; raw after jobs): ${where}`).toEqual(expectedLots);
    for (const [k, l] of lots.entries()) {
      const modelLot = m.lots[k]!;
      expect(Math.abs(l.available_at - modelLot.availableAt), `lot ${k} available_at: ${where}`).toBeLessThan(5000);
    }

    expect(debts, `debts (in id order): ${where}`).toEqual(
      m.debts.map((d) => ({ issuer_id: this.issuerId(d.issuer), points: d.points, outstanding: d.outstanding })),
    );

    expect(
      txns,
      `transaction statuses (GET /v1/transactions/{id}) of #${watched.map((t) => t.index).join(", #")}: ${where}`,
    ).toEqual(watched.map((t) => ({ status: t.status, points: t.points, captured: t.capturedPoints })));
  }
}

// ---- the tests ----

let world: World;

beforeAll(async () => {
  await sql("UPDATE coalition_settings SET expiry_months = ?", EXPIRY_MONTHS);
  const [a, b] = await Promise.all(KEYS.map((k) => partnerWithCard(PARTNERS[k])));
  world = { partners: { A: a!, B: b! } };
});

async function runActions(actions: Action[]): Promise<Run> {
  const run = await Run.start(world);
  for (const [i, action] of actions.entries()) await run.step(i, action);
  await run.finish();
  return run;
}

describe("ledger against its model", () => {
  it(`agrees on random sequences (${NUM_RUNS} runs × up to ${MAX_STEPS} steps)`, { timeout: 120_000 }, async () => {
    // On failure fast-check prints the seed, the path and the shrunk sequence; replay it with
    // { seed, path, endOnFailure: true } added to the parameters below.
    await fc.assert(
      fc.asyncProperty(actionsArb, async (actions) => {
        await runActions(actions);
      }),
      { numRuns: NUM_RUNS, plugins: [fc.interruptAfterTimeLimit(50_000)] },
    );
  });
});

/** Fixed sequences through the same runner: the paths random runs reach least often. */
describe("ledger against its model: chosen sequences", () => {
  it("a hold past its expiry gives its points back at once, also to `expiring`", async () => {
    // What fast-check shrank a failure to before 157d8a4 (expiring left these points out).
    await runActions([
      { t: "earn", p: "A", points: 1 },
      { t: "burn", p: "A", amount: { abs: 1 }, capture: false },
      { t: "time", kind: "minutes", n: 15, pick: 0, before: false },
    ]);
  });

  it("an earn reversal counts a lapsed hold's points as the earn's unreserved points", async () => {
    const run = await runActions([
      { t: "earn", p: "A", points: 100 },
      { t: "burn", p: "A", amount: { abs: 60 }, capture: false },
      { t: "time", kind: "minutes", n: 15, pick: 0, before: false },
      { t: "reverse", pick: 0, target: "earn", amount: "all", other: false },
      { t: "jobs" },
    ]);
    expect(run.model.debts).toEqual([]);
  });

  it("debt: repaid by later earns (a pending one too), handed back when a repaying earn is reversed, repaid by a burn reversal", async () => {
    const run = await runActions([
      { t: "earn", p: "A", points: 100 },
      { t: "burn", p: "A", amount: { abs: 100 }, capture: true },
      { t: "reverse", pick: 0, target: "earn", amount: "all", other: false },
      { t: "earn", p: "B", points: 30 },
      { t: "earn", p: "A", points: 50 },
      { t: "reverse", pick: 1, target: "earn", amount: "all", other: false },
      { t: "reverse", pick: 0, target: "burn", amount: { abs: 70 }, other: false },
      { t: "reverse", pick: 0, target: "burn", amount: "all", other: false },
      { t: "jobs" },
    ]);
    expect(run.model.debts.map((d) => d.outstanding)).toEqual([0]);
    expect(run.model.lots.map((l) => l.remaining)).toEqual([50, 0, 0]);
  });

  it("a hold open across its lot's expiry: earn reversal leaves debt, the release and the restore expire at once", async () => {
    const run = await runActions([
      { t: "earn", p: "A", points: 100 },
      // An hour before the lot expires, B (2-day holds) reserves 60.
      { t: "time", kind: "event", n: 55, pick: 0, before: true },
      { t: "burn", p: "B", amount: { abs: 60 }, capture: false },
      // Past the lot's expiry; the hold is still open.
      { t: "time", kind: "event", n: 0, pick: 0, before: false },
      { t: "reverse", pick: 0, target: "earn", amount: "all", other: false },
      { t: "capture", pick: 0, open: true, amount: { abs: 30 }, other: false },
      { t: "reverse", pick: 0, target: "burn", amount: "all", other: false },
      { t: "jobs" },
    ]);
    expect(run.model.debts.map((d) => d.outstanding)).toEqual([60]);
    expect(run.model.lots.map((l) => [l.remaining, l.expired])).toEqual([[0, 60]]);
  });

  it("FIFO by expiry, then age: a newer lot under a shorter policy goes first", async () => {
    const run = await runActions([
      { t: "policy", months: 3 },
      { t: "earn", p: "A", points: 50 },
      { t: "policy", months: 1 },
      { t: "earn", p: "A", points: 50 },
      { t: "earn", p: "A", points: 50 },
      { t: "burn", p: "A", amount: { abs: 70 }, capture: true },
      { t: "reverse", pick: 0, target: "burn", amount: { abs: 10 }, other: false },
    ]);
    expect(run.model.lots.map((l) => l.remaining)).toEqual([50, 0, 40]);
  });

  it("partial capture and partial burn reversals across lots of different expiry, with pending earns and jobs", async () => {
    await runActions([
      { t: "earn", p: "A", points: 40 },
      { t: "time", kind: "days", n: 30, pick: 0, before: false },
      { t: "earn", p: "A", points: 40 },
      { t: "earn", p: "B", points: 40 },
      { t: "burn", p: "A", amount: { abs: 70 }, capture: false },
      { t: "capture", pick: 0, open: true, amount: { abs: 50 }, other: false },
      { t: "reverse", pick: 0, target: "burn", amount: { abs: 15 }, other: false },
      { t: "time", kind: "hours", n: 30, pick: 0, before: false },
      { t: "burn", p: "B", amount: "all", capture: true },
      { t: "reverse", pick: 0, target: "burn", amount: "all", other: false },
      { t: "capture", pick: 0, open: false, amount: "all", other: false },
      { t: "void", pick: 0, open: false, other: true },
      { t: "time", kind: "event", n: 0, pick: 0, before: false },
      { t: "jobs" },
      { t: "reverse", pick: 0, target: "earn", amount: { abs: 10 }, other: false },
    ]);
  });
});
