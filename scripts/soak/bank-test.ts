/**
 * The bank test (issue 6, item 1), in the spirit of Jepsen's: many concurrent simulated partners
 * and members drive the exchange through its real HTTP API (signed partner requests, operator
 * tokens) while the scheduled jobs and a settlement close run in the middle; every answer a
 * client observes is recorded, and at the end the run is checked from the API and from the
 * database (checks.ts). Used by `npm run soak` (scripts/soak.ts, against `wrangler dev`) and,
 * small, by `npm test` (test/soak/bank.test.ts, inside workerd). Web-platform APIs only.
 *
 * Time: lots expire at a month's end 24 months out, so no lot expires during a run; what expires
 * is holds. The `cinema` partner has hold_ttl_seconds 60 (the minimum): some of its holds are
 * left alone and expire during the run (the API must show them voided at once, §1 "Time-driven
 * states"; member batches and the scheduled job void them), late captures of them must answer
 * 409 hold_not_open, and before the final checks the test waits until every remaining one has
 * expired (holdExpiry "wait"), or runs the scheduled job at their expiry time (holdExpiry
 * "scheduled", for the in-test version that cannot wait a minute).
 */
import { ledgerInvariantViolations, type SqlQueryable } from "../../src/ledger/invariants";
import {
  type Answer,
  describeAnswer,
  fromClientResult,
  missingRoute,
  networkFailure,
  operatorRequest,
  outcomeOf,
  type Transport,
  toAnswer,
} from "./api";
import { runChecks } from "./checks";
import { type Coalition, type SoakPartner, setupCoalition } from "./coalition";
import { checkFundingAfterClose, payoutAfterClose } from "./funding";
import {
  type Adjustment,
  type Burn,
  balanceOf,
  type Earn,
  expiringHeld,
  type Member,
  modelHeld,
  modelPending,
  modelTotal,
  type Reversal,
} from "./model";
import { dec, decDivCeil, decFloor, decMul, micros, quantile, Rng, rfc3339, sleep } from "./util";

export interface BankTestOptions extends Transport {
  /** The database as the checks read it (read-only), opened after the workload. */
  openDb: () => Promise<SqlQueryable>;
  /**
   * Runs the worker's scheduled handler once. With `scheduledTime`, at that time, and it must not
   * return before the handler's work (its waitUntil) is done; without, at now (it may return earlier).
   */
  runScheduled: (scheduledTime?: number) => Promise<void>;
  operations: number;
  concurrency: number;
  seed: number;
  holdExpiry: "wait" | "scheduled";
  /** How often the scheduled jobs run during the workload. */
  scheduledEveryMs: number;
  shortHoldTtlSeconds: number;
  /** PartnerClient retries (503s, transport errors) with the same Idempotency-Key. */
  maxRetries: number;
  /** Prefix of partner ids, refs and order references (unique per run). */
  runId?: string;
  log: (line: string) => void;
}

export const DEFAULTS = {
  operations: 10_000,
  concurrency: 64,
  seed: 1,
  scheduledEveryMs: 5000,
  shortHoldTtlSeconds: 60,
  maxRetries: 3,
} as const;

/** One delivery of one request, as a client saw it. */
export interface Observation {
  kind: string;
  request: string;
  outcome: string;
  latencyMs: number;
  replayed: boolean;
}

/** Everything sent with one Idempotency-Key (one scope): its deliveries must agree, and the database with them. */
export interface KeyGroup {
  kind: string;
  scope: string;
  key: string;
  request: string;
  /** Creates or changes a ledger transaction (checked against `transactions`). */
  createsTxn: boolean;
  /** A unique order_ref / reason the request carries, to find (or not find) its transaction. */
  marker?: Marker;
  answers: Answer[];
  /** The determinate answer (a stored outcome); undefined while the outcome is unknown. */
  final?: Answer;
  resend: () => Promise<Answer>;
  apply?: (a: Answer) => void;
  allowed: string[];
}

export interface Marker {
  partnerId: string;
  column: "order_ref" | "reason";
  value: string;
}

export interface Violation {
  check: string;
  detail: string;
}

export interface BankReport {
  runId: string;
  seed: number;
  operations: number;
  concurrency: number;
  requests: number;
  durationMs: number;
  /** op kind → outcome → count */
  byKind: Map<string, Map<string, number>>;
  latencies: Map<string, number[]>;
  checks: { name: string; checked: number; violations: number; note?: string }[];
  violations: Violation[];
  notices: string[];
  scheduledRuns: number;
  settlement: string;
  raw5xx: Map<number, number>;
}

interface PostSpec {
  kind: string;
  /** A partner (signed /v1 request) or the operator (/admin/v1, path relative to it). */
  partner?: SoakPartner;
  path: string;
  body: unknown;
  key: string;
  allowed: string[];
  createsTxn: boolean;
  marker?: Marker;
  members: Member[];
  locks: { inflight: number }[];
  apply?: (a: Answer) => void;
  /**
   * The outcome the model predicts from the member's last exact balance. Enforced only when no
   * other operation on the member overlapped this one (one started later may still be served first).
   */
  predicted?: { outcome: string; why: string };
}

type OpKind =
  | "enrol"
  | "enrol_again"
  | "enrol_concurrent"
  | "link"
  | "earn_points"
  | "earn_amount"
  | "earn_over_limit"
  | "burn"
  | "burn_amount"
  | "hold"
  | "capture"
  | "void"
  | "late_capture"
  | "capture_void_race"
  | "reverse_earn"
  | "reverse_burn"
  | "over_reverse"
  | "balance"
  | "duplicate_concurrent"
  | "key_reuse"
  | "replay_signature"
  | "adjustment"
  | "top_up";

const WEIGHTS: Record<OpKind, number> = {
  enrol: 3,
  enrol_again: 1,
  enrol_concurrent: 1,
  link: 4,
  earn_points: 12,
  earn_amount: 11,
  earn_over_limit: 0.5,
  burn: 10,
  burn_amount: 2,
  hold: 9,
  capture: 7,
  void: 3,
  late_capture: 1,
  capture_void_race: 1,
  reverse_earn: 5,
  reverse_burn: 4,
  over_reverse: 1,
  balance: 6,
  duplicate_concurrent: 5,
  key_reuse: 1,
  replay_signature: 2.5,
  adjustment: 1.5,
  top_up: 0.5,
};

const IPS = ["203.0.113.7", "203.0.113.8", "198.51.100.20", "2001:db8::7", "192.0.2.44"];
const SEQUENTIAL_REDELIVERY = 0.04;
/** A hold is captured or voided (and must succeed) only this long before its expiry: a request may queue for seconds. */
const HOLD_MARGIN_MS = 15_000;

export class BankTest {
  readonly opts: BankTestOptions;
  readonly rng: Rng;
  readonly runId: string;
  readonly t: Transport;
  coalition!: Coalition;
  readonly members: Member[] = [];
  readonly holds: Burn[] = [];
  readonly postedBurns: Burn[] = [];
  readonly earns: Earn[] = [];
  readonly reversals: Reversal[] = [];
  readonly adjustments: Adjustment[] = [];
  readonly groups: KeyGroup[] = [];
  readonly unresolved = new Set<KeyGroup>();
  readonly observations: Observation[] = [];
  readonly violations: Violation[] = [];
  readonly notices: string[] = [];
  /** Markers of requests that must have left nothing (probes answered with an error). */
  readonly absentMarkers: Marker[] = [];
  /** (partner, member_ref) pairs that a refused link must not have created. */
  readonly absentLinks: { partnerId: string; ref: string }[] = [];
  /** Operator top-ups that succeeded, per partner, in micros. */
  readonly topUps = new Map<string, number>();
  /** Operator payouts that succeeded, per partner, in micros. */
  readonly payouts = new Map<string, number>();
  /** Closed settlement reports by id, fetched once (they never change). */
  readonly reportBodies = new Map<string, any>();
  readonly raw5xx = new Map<number, number>();
  readonly settlementReports: { id: string; start?: string; end?: string }[] = [];
  settlementNote = "not attempted";
  scheduledRuns = 0;
  private nextMember = 0;
  private nextMarker = 0;
  private issued = 0;
  private startedAt = 0;
  private finishedAt = 0;
  private settlementAt = -1;

  constructor(opts: BankTestOptions) {
    this.opts = opts;
    this.rng = new Rng(opts.seed);
    this.runId = opts.runId ?? `bk${Date.now().toString(36).slice(-6)}`;
    // Count every 5xx the server sends, including those the client retried (contention must never surface).
    this.t = {
      baseUrl: opts.baseUrl,
      operatorToken: opts.operatorToken,
      fetch: async (request) => {
        const response = await opts.fetch(request);
        if (response.status >= 500) this.raw5xx.set(response.status, (this.raw5xx.get(response.status) ?? 0) + 1);
        return response;
      },
    };
  }

  violation(check: string, detail: string): void {
    this.violations.push({ check, detail });
  }

  /** How many times each check was made (the summary shows it next to its violations). */
  readonly tallies = new Map<string, number>();
  tally(check: string, n = 1): void {
    this.tallies.set(check, (this.tallies.get(check) ?? 0) + n);
  }

  marker(partnerId: string, column: Marker["column"]): Marker {
    return { partnerId, column, value: `${this.runId}-${column === "order_ref" ? "o" : "r"}${this.nextMarker++}` };
  }

  private record(kind: string, request: string, a: Answer): void {
    this.observations.push({ kind, request, outcome: outcomeOf(a), latencyMs: a.latencyMs, replayed: a.replayed });
  }

  // ---------------------------------------------------------------- run

  async run(): Promise<BankReport> {
    const { log } = this.opts;
    this.coalition = await setupCoalition(this.t, {
      runId: this.runId,
      operations: this.opts.operations,
      shortHoldTtlSeconds: this.opts.shortHoldTtlSeconds,
      maxRetries: this.opts.maxRetries,
      log,
    });
    this.notices.push(...this.coalition.notices);
    this.startedAt = Date.now();
    let running = true;
    const scheduler = this.scheduledLoop(() => running);

    // Warm-up: a pool of members, each enrolled at one partner with a first earn there.
    const warm = Math.max(4, Math.min(Math.floor(this.opts.operations / 12), this.opts.concurrency * 3));
    log(
      `workload: ${this.opts.operations} operations by ${this.opts.concurrency} clients (warm-up: ${warm} members), seed ${this.opts.seed}`,
    );
    this.settlementAt = Math.floor(this.opts.operations / 2);
    let warmed = 0;
    await this.pool(async () => {
      while (warmed < warm && this.issued < this.opts.operations) {
        warmed++;
        this.issued += 2;
        const m = await this.enrol(this.rng.pick(this.coalition.partners)!);
        if (m) await this.earnPoints(m);
      }
    });
    let lastLog = Date.now();
    await this.pool(async () => {
      while (this.issued < this.opts.operations) {
        const index = this.issued++;
        if (index === this.settlementAt) await this.settlementClose();
        await this.randomOp();
        if (Date.now() - lastLog > 10_000) {
          lastLog = Date.now();
          log(`… ${this.issued} operations, ${this.observations.length} requests, ${this.violations.length} violations so far`);
        }
      }
    });
    running = false;
    await scheduler;
    this.finishedAt = Date.now();
    log(`workload done in ${((this.finishedAt - this.startedAt) / 1000).toFixed(1)} s; resolving, expiring holds, checking`);

    await this.resolveUnknown();
    await this.expireShortHolds();
    // A last run of the jobs, at now: with a time given the runner waits until the jobs are done.
    await this.runJobs(Date.now());
    const checks = await runChecks(this);
    return this.report(checks);
  }

  private async pool(worker: () => Promise<void>): Promise<void> {
    await Promise.all(Array.from({ length: this.opts.concurrency }, () => worker()));
  }

  private async scheduledLoop(running: () => boolean): Promise<void> {
    while (running()) {
      await sleep(this.opts.scheduledEveryMs);
      if (!running()) break;
      await this.runJobs();
    }
  }

  async runJobs(at?: number): Promise<void> {
    const started = Date.now();
    try {
      await this.opts.runScheduled(at);
      this.scheduledRuns++;
      this.observations.push({
        kind: "scheduled_jobs",
        request: "scheduled",
        outcome: "ok",
        latencyMs: Date.now() - started,
        replayed: false,
      });
    } catch (error) {
      this.observations.push({
        kind: "scheduled_jobs",
        request: "scheduled",
        outcome: "failed",
        latencyMs: Date.now() - started,
        replayed: false,
      });
      this.violation(
        "scheduled jobs run",
        `the scheduled handler failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  private async randomOp(): Promise<void> {
    const kind = this.rng.weighted(WEIGHTS);
    const done = await this.dispatch(kind);
    // An operation without a target now (no open hold, nothing to reverse…) becomes an earn.
    if (!done) {
      const m = this.pickMember();
      if (m) await this.earnPoints(m);
      else await this.enrol(this.rng.pick(this.coalition.partners)!);
    }
  }

  private async dispatch(kind: OpKind): Promise<boolean> {
    const m = this.pickMember();
    if (!m && kind !== "enrol" && kind !== "enrol_concurrent" && kind !== "top_up") return false;
    switch (kind) {
      case "enrol":
        await this.enrol(this.rng.pick(this.coalition.partners)!);
        return true;
      case "enrol_again":
        await this.enrolAgain(m!);
        return true;
      case "enrol_concurrent":
        await this.enrolConcurrent();
        return true;
      case "link":
        return this.link(m!);
      case "earn_points":
        await this.earnPoints(m!);
        return true;
      case "earn_amount":
        await this.earnAmount(m!);
        return true;
      case "earn_over_limit":
        if (!this.coalition.riskRules) return false;
        await this.earnOverLimit(m!);
        return true;
      case "burn":
        await this.burn(this.pickSpender() ?? m!, { capture: true });
        return true;
      case "burn_amount":
        await this.burnAmount(this.pickSpender() ?? m!);
        return true;
      case "hold":
        await this.burn(this.pickSpender() ?? m!, { capture: false });
        return true;
      case "capture":
        return this.decideHold("capture");
      case "void":
        return this.decideHold("void");
      case "late_capture":
        return this.lateCapture();
      case "capture_void_race":
        return this.captureVoidRace();
      case "reverse_earn":
        return this.reverseEarn(false);
      case "reverse_burn":
        return this.reverseBurn(false);
      case "over_reverse":
        return this.rng.chance(0.5) ? this.reverseEarn(true) : this.reverseBurn(true);
      case "balance":
        await this.balance(m!);
        return true;
      case "duplicate_concurrent":
        return this.duplicateConcurrent(m!);
      case "key_reuse":
        return this.keyReuse();
      case "replay_signature":
        await this.replaySignature(m!);
        return true;
      case "adjustment":
        await this.adjustment(m!);
        return true;
      case "top_up":
        await this.topUp();
        return true;
    }
  }

  // ---------------------------------------------------------------- helpers

  pickMember(): Member | undefined {
    return this.rng.pick(this.members);
  }

  /** Mostly a member with points to spend (a few random draws), so that burns mostly succeed. */
  private pickSpender(): Member | undefined {
    if (this.rng.chance(0.2)) return undefined;
    for (let i = 0; i < 6; i++) {
      const m = this.pickMember();
      if (m && this.spendable(m) > 0) return m;
    }
    return undefined;
  }

  private partnerOf(m: Member): { partner: SoakPartner; ref: string } {
    const ids = [...m.refs.keys()];
    const id = this.rng.pick(ids)!;
    return { partner: this.coalition.partners.find((p) => p.id === id)!, ref: m.refs.get(id)! };
  }

  private context(): { ip: string; device_id: string } {
    return { ip: this.rng.pick(IPS)!, device_id: `dev-${this.rng.int(1, 40)}` };
  }

  /** What the client knows of a member right now (before it starts an operation on it). */
  private view(m: Member): { solo: boolean; available?: number } {
    const solo = m.inflight === 0 && m.uncertain === 0;
    const known = m.known && m.known.epoch === m.epoch ? m.known : undefined;
    return { solo, ...(solo && known ? { available: known.available } : {}) };
  }

  private begin(m: Member): { solo: boolean; epoch: number } {
    const solo = m.inflight === 0 && m.uncertain === 0;
    m.inflight++;
    m.epoch++;
    return { solo, epoch: m.epoch };
  }

  private end(m: Member, ctx: { solo: boolean; epoch: number }, a: Answer | undefined): void {
    m.inflight--;
    const balance = a ? balanceOf(a) : undefined;
    if (balance && ctx.solo && m.epoch === ctx.epoch && m.uncertain === 0) m.known = { ...balance, epoch: m.epoch };
  }

  /**
   * What spending `points` must answer, from the member's last exact balance (seen by an operation
   * that overlapped no other): enough available → 201; more than available plus every hold that
   * may expire meanwhile → 422 insufficient_points (available only grows without operations).
   */
  private predictSpend(m: Member, points: number): PostSpec["predicted"] {
    const v = this.view(m);
    if (v.available === undefined) return undefined;
    const expiring = expiringHeld(m, Date.now(), 10_000);
    if (points <= v.available) return { outcome: "201", why: `${points} ≤ available ${v.available}` };
    if (points > v.available + expiring) {
      return { outcome: "422 insufficient_points", why: `${points} > available ${v.available} + ${expiring} in expiring holds` };
    }
    return undefined;
  }

  /** A rough estimate of what the member can spend (the model's total minus held and pending). */
  private spendable(m: Member): number {
    return Math.max(0, modelTotal(m) - (modelHeld(m, Date.now()) ?? 0) - modelPending(m));
  }

  private checkAllowed(spec: { kind: string; allowed: string[] }, request: string, a: Answer, extra: string[] = []): void {
    const outcome = outcomeOf(a);
    this.tally("no 5xx or transport failure");
    this.tally("allowed outcomes");
    if (a.status >= 500 || a.status === 0) {
      this.violation("no 5xx or transport failure", `${spec.kind} ${request} → ${describeAnswer(a)}`);
      return;
    }
    if (!spec.allowed.includes(outcome) && !extra.includes(outcome)) {
      this.violation(
        "allowed outcomes",
        `${spec.kind} ${request}: expected ${[...spec.allowed, ...extra].join(" | ")}, got ${describeAnswer(a)}`,
      );
    }
  }

  /** A stored outcome: anything but a transport failure, a 5xx, an auth refusal or idempotency_key_in_use. */
  private determinate(a: Answer): boolean {
    return a.status > 0 && a.status < 500 && a.status !== 401 && !(a.status === 409 && a.code === "idempotency_key_in_use");
  }

  private async sendPost(spec: PostSpec): Promise<Answer> {
    const started = Date.now();
    if (!spec.partner) return operatorRequest(this.t, "POST", spec.path, spec.body, spec.key);
    try {
      const r = await spec.partner.client.post(spec.path, spec.body, { idempotencyKey: spec.key });
      return fromClientResult(r, Date.now() - started);
    } catch (error) {
      return networkFailure(error, Date.now() - started);
    }
  }

  private requestName(spec: PostSpec): string {
    return spec.partner ? `POST ${spec.path}` : `POST /admin/v1${spec.path}`;
  }

  /**
   * Sends an idempotent POST: once, as `copies` concurrent deliveries of one key, or as one signed
   * request delivered twice (the second must be refused as a replayed signature). Applies the one
   * determinate outcome to the model; a lost outcome is resolved at the end with the same key.
   */
  async execute(
    spec: PostSpec,
    mode: { copies?: number; replaySignature?: "sequential" | "concurrent"; kindSuffix?: string } = {},
  ): Promise<Answer | undefined> {
    const ctxs = spec.members.map((m) => [m, this.begin(m)] as const);
    for (const l of spec.locks) l.inflight++;
    const request = this.requestName(spec);
    const kind = spec.kind + (mode.kindSuffix ?? "");
    const group: KeyGroup = {
      kind: spec.kind,
      scope: spec.partner?.id ?? "operator",
      key: spec.key,
      request,
      createsTxn: spec.createsTxn,
      ...(spec.marker ? { marker: spec.marker } : {}),
      answers: [],
      resend: () => this.sendPost(spec),
      ...(spec.apply ? { apply: spec.apply } : {}),
      allowed: spec.allowed,
    };
    this.groups.push(group);

    let answers: Answer[];
    if (mode.replaySignature && spec.partner) {
      answers = await this.replayDeliveries(spec, mode.replaySignature, kind);
      for (const a of answers) this.checkAllowed(spec, request, a);
    } else {
      const copies = mode.copies ?? 1;
      answers = await Promise.all(Array.from({ length: copies }, () => this.sendPost(spec)));
      for (const a of answers) {
        this.record(kind, request, a);
        this.checkAllowed(spec, request, a, copies > 1 ? ["409 idempotency_key_in_use"] : []);
      }
      if (copies > 1) this.checkOneApplied(spec, answers);
    }
    group.answers.push(...answers);
    const final = this.settle(group);
    const solo = ctxs.length > 0 && ctxs.every(([m, c]) => c.solo && m.epoch === c.epoch);
    if (final && spec.predicted && solo) {
      this.tally("model-predicted outcomes (solo operations)");
      if (outcomeOf(final) !== spec.predicted.outcome) {
        this.violation(
          "model-predicted outcomes (solo operations)",
          `${spec.kind} ${request} ${JSON.stringify(spec.body)}: ${spec.predicted.why}, so ${spec.predicted.outcome}; got ${describeAnswer(final)}`,
        );
      }
    }
    if (final && this.rng.chance(SEQUENTIAL_REDELIVERY)) {
      const again = await this.sendPost(spec);
      this.record(`${spec.kind}:redelivery`, request, again);
      group.answers.push(again);
      this.tally("sequential redelivery replays");
      if (!again.replayed || again.status !== final.status || again.text !== final.text) {
        this.violation(
          "sequential redelivery replays",
          `${spec.kind} key ${spec.key}: first ${outcomeOf(final)}, redelivery ${outcomeOf(again)} replayed=${again.replayed}${again.text === final.text ? "" : " (different bytes)"}`,
        );
      }
    }
    for (const l of spec.locks) l.inflight--;
    for (const [m, ctx] of ctxs) {
      if (!final) m.uncertain++;
      this.end(m, ctx, final);
    }
    return final;
  }

  /** Determines a group's outcome from its answers so far and applies it once. */
  private settle(group: KeyGroup): Answer | undefined {
    if (group.final) return group.final;
    const determinate = group.answers.filter((a) => this.determinate(a));
    const final = determinate[0];
    if (!final) {
      this.unresolved.add(group);
      return undefined;
    }
    if (determinate.length > 1) this.tally("one key, one answer");
    for (const other of determinate.slice(1)) {
      if (other.status !== final.status || other.text !== final.text) {
        this.violation(
          "one key, one answer",
          `${group.kind} key ${group.key}: ${outcomeOf(final)} and ${outcomeOf(other)} (bytes differ)`,
        );
      }
    }
    group.final = final;
    this.unresolved.delete(group);
    group.apply?.(final);
    return final;
  }

  /** Concurrent deliveries of one key: exactly one is applied (not replayed); the others replay it or are in use. */
  private checkOneApplied(spec: PostSpec, answers: Answer[]): void {
    const applied = answers.filter((a) => this.determinate(a) && !a.replayed);
    this.tally("concurrent duplicates apply once");
    if (applied.length > 1) {
      this.violation(
        "concurrent duplicates apply once",
        `${spec.kind} key ${spec.key}: ${applied.length} deliveries were applied (not replays): ${applied.map(outcomeOf).join(", ")}`,
      );
    }
  }

  /** One signed request, delivered twice with the very same Coalition-Signature. */
  private async replayDeliveries(spec: PostSpec, how: "sequential" | "concurrent", kind: string): Promise<Answer[]> {
    const partner = spec.partner!;
    const request = this.requestName(spec);
    const bytes = new TextEncoder().encode(JSON.stringify(spec.body));
    const signed = await partner.client.buildRequest("POST", spec.path, bytes, { idempotencyKey: spec.key });
    const copy = signed.clone();
    const deliver = async (r: Request): Promise<Answer> => {
      const started = Date.now();
      try {
        return await toAnswer(await this.t.fetch(r), started);
      } catch (error) {
        return networkFailure(error, Date.now() - started);
      }
    };
    const answers =
      how === "sequential" ? [await deliver(signed), await deliver(copy)] : await Promise.all([deliver(signed), deliver(copy)]);
    const refused = answers.filter((a) => a.status === 401 && a.code === "replayed_request");
    const passed = answers.filter((a) => !(a.status === 401 && a.code === "replayed_request"));
    for (const a of answers) this.record(kind, request, a);
    this.tally("replayed signatures are refused");
    if (refused.length !== 1 || passed.length !== 1 || (how === "sequential" && answers[1] !== refused[0])) {
      this.violation(
        "replayed signatures are refused",
        `${spec.kind} delivered twice (${how}): ${answers.map(outcomeOf).join(", ")} (expected one answer and one 401 replayed_request${how === "sequential" ? ", in that order" : ""})`,
      );
    }
    // Only the delivery that passed authentication belongs to the key.
    return passed;
  }

  // ---------------------------------------------------------------- members

  private newRef(n: number, partner: SoakPartner): string {
    return `${this.runId}-m${n}-${partner.role}`;
  }

  async enrol(partner: SoakPartner): Promise<Member | undefined> {
    const n = this.nextMember++;
    const ref = this.newRef(n, partner);
    const a = await this.put(partner, `/v1/members/${ref}`, { context: this.context() }, "enrol");
    if (a.status !== 201) {
      this.violation("allowed outcomes", `enrol ${partner.id}/${ref}: expected 201, got ${describeAnswer(a)}`);
      return undefined;
    }
    const id = a.json?.member?.id as string;
    const m: Member = {
      n,
      id,
      refs: new Map([[partner.id, ref]]),
      inflight: 0,
      epoch: 0,
      uncertain: 0,
      linking: new Set(),
      earns: [],
      burns: [],
      adjusted: 0,
      earnReversals: 0,
    };
    this.members.push(m);
    return m;
  }

  private async put(partner: SoakPartner, path: string, body: unknown, kind: string): Promise<Answer> {
    const started = Date.now();
    let a: Answer;
    try {
      a = fromClientResult(await partner.client.put(path, body), Date.now() - started);
    } catch (error) {
      a = networkFailure(error, Date.now() - started);
    }
    this.record(kind, "PUT /v1/members/{ref}", a);
    this.tally("no 5xx or transport failure");
    this.tally("allowed outcomes");
    if (a.status >= 500 || a.status === 0)
      this.violation("no 5xx or transport failure", `${kind} PUT ${path} → ${describeAnswer(a)}`);
    return a;
  }

  /** PUT of an existing ref: 200 with the same member (idempotent by member_ref). */
  private async enrolAgain(m: Member): Promise<void> {
    const { partner, ref } = this.partnerOf(m);
    const a = await this.put(partner, `/v1/members/${ref}`, { context: this.context() }, "enrol_again");
    if (a.status !== 200 || a.json?.member?.id !== m.id) {
      this.violation("allowed outcomes", `enrol_again ${partner.id}/${ref}: expected 200 with ${m.id}, got ${describeAnswer(a)}`);
    }
  }

  /** Two simultaneous PUTs of one new ref create one member: one 201, one 200, the same id. */
  private async enrolConcurrent(): Promise<void> {
    const partner = this.rng.pick(this.coalition.partners)!;
    const n = this.nextMember++;
    const ref = this.newRef(n, partner);
    const body = { context: this.context() };
    const [a, b] = await Promise.all([
      this.put(partner, `/v1/members/${ref}`, body, "enrol_concurrent"),
      this.put(partner, `/v1/members/${ref}`, body, "enrol_concurrent"),
    ]);
    const statuses = [a.status, b.status].sort().join(",");
    const id = a.json?.member?.id;
    this.tally("concurrent enrolment creates one member");
    if (statuses !== "200,201" || typeof id !== "string" || b.json?.member?.id !== id) {
      this.violation(
        "concurrent enrolment creates one member",
        `${partner.id}/${ref}: ${describeAnswer(a)} / ${describeAnswer(b)} (expected one 201 and one 200 with the same member id)`,
      );
    }
    // Both answers name the member (a retried 201 comes back 200): the model has it either way.
    if (typeof id === "string" && b.json?.member?.id === id && a.ok && b.ok) {
      this.members.push({
        n,
        id,
        refs: new Map([[partner.id, ref]]),
        inflight: 0,
        epoch: 0,
        uncertain: 0,
        linking: new Set(),
        earns: [],
        burns: [],
        adjusted: 0,
        earnReversals: 0,
      });
    }
  }

  /** A link code at a partner that knows the member, used at one that does not; sometimes used again (refused). */
  private async link(m: Member): Promise<boolean> {
    const free = this.coalition.partners.filter((p) => !m.refs.has(p.id) && !m.linking.has(p.id));
    const to = this.rng.pick(free);
    if (!to) return false;
    m.linking.add(to.id);
    await this.linkTo(m, to);
    return true;
  }

  private async linkTo(m: Member, to: SoakPartner): Promise<void> {
    try {
      const { partner: from, ref: fromRef } = this.partnerOf(m);
      const code = await this.execute({
        kind: "link_code",
        partner: from,
        path: `/v1/members/${fromRef}/link-codes`,
        body: {},
        key: `k-${this.runId}-${this.nextMarker++}`,
        allowed: ["201"],
        createsTxn: false,
        members: [],
        locks: [],
      });
      const linkCode = code?.json?.link_code;
      if (typeof linkCode !== "string") return;
      const ref = this.newRef(m.n, to);
      const a = await this.put(to, `/v1/members/${ref}`, { link_code: linkCode, context: this.context() }, "link");
      if (a.status !== 201 || a.json?.member?.id !== m.id) {
        this.violation(
          "allowed outcomes",
          `link ${to.id}/${ref} to ${m.id}: expected 201 with that member, got ${describeAnswer(a)}`,
        );
        // A link made by an attempt whose answer was lost (the client retried): the model still has it.
        if (a.ok && a.json?.member?.id === m.id) m.refs.set(to.id, ref);
        return;
      }
      m.refs.set(to.id, ref);
      // The code is used up: a second partner presenting it is refused, and no link is made.
      const third = this.coalition.partners.find((p) => !m.refs.has(p.id) && !m.linking.has(p.id));
      if (third && this.rng.chance(0.3)) {
        m.linking.add(third.id);
        const ref3 = `${this.newRef(m.n, third)}-used${this.nextMarker++}`;
        const again = await this.put(
          third,
          `/v1/members/${ref3}`,
          { link_code: linkCode, context: this.context() },
          "link_code_reuse",
        );
        m.linking.delete(third.id);
        if (outcomeOf(again) !== "422 link_code_invalid") {
          this.violation(
            "allowed outcomes",
            `reused link code at ${third.id}: expected 422 link_code_invalid, got ${describeAnswer(again)}`,
          );
          if (again.status === 201 && again.json?.member?.id === m.id) m.refs.set(third.id, ref3);
        } else {
          this.absentLinks.push({ partnerId: third.id, ref: ref3 });
        }
      }
    } finally {
      m.linking.delete(to.id);
    }
  }

  // ---------------------------------------------------------------- earns

  private earnSpec(
    m: Member,
    body: Record<string, unknown>,
    partner: SoakPartner,
    ref: string,
    expectPoints: number | undefined,
    kind: string,
  ): PostSpec {
    const marker = this.marker(partner.id, "order_ref");
    const allowed = expectPoints !== undefined && expectPoints < 1 ? ["422 amount_too_small"] : ["201"];
    if (partner.fundingMode === "prepaid" && allowed[0] === "201") allowed.push("422 partner_funds_exhausted");
    return {
      kind,
      partner,
      path: "/v1/earn",
      body: { member_ref: ref, ...body, order_ref: marker.value, context: this.context() },
      key: `k-${marker.value}`,
      allowed,
      createsTxn: true,
      marker,
      members: [m],
      locks: [],
      apply: (a) => {
        if (a.status !== 201) return;
        const t = a.json?.transaction;
        const expectedStatus = partner.pendingDays > 0 ? "pending" : "posted";
        if (t?.status !== expectedStatus) {
          this.violation("earn status", `${kind} ${t?.id} at ${partner.id}: status ${t?.status}, expected ${expectedStatus}`);
        }
        if (expectPoints !== undefined) this.tally("earned points = asked, or amount × rate × campaigns floored");
        if (expectPoints !== undefined && t?.points !== expectPoints) {
          this.violation(
            "earned points = asked, or amount × rate × campaigns floored",
            `${kind} ${t?.id}: ${JSON.stringify(body)} earned ${t?.points}, expected ${expectPoints}`,
          );
        }
        const earn: Earn = { id: t.id, partner, member: m, points: t.points, status: t.status, reversed: 0, inflight: 0 };
        m.earns.push(earn);
        this.earns.push(earn);
      },
    };
  }

  async earnPoints(m: Member, mode: Parameters<BankTest["execute"]>[1] = {}): Promise<void> {
    const { partner, ref } = this.partnerOf(m);
    const points = this.rng.chance(0.8) ? this.rng.int(1, 500) : this.rng.int(500, 5000);
    await this.execute(this.earnSpec(m, { points }, partner, ref, points, "earn_points"), mode);
  }

  private async earnAmount(m: Member): Promise<void> {
    const { partner, ref } = this.partnerOf(m);
    const rate = this.rng.pick(partner.earn)!;
    const value = `${this.rng.int(0, 150)}.${String(this.rng.int(0, 99)).padStart(2, "0")}`;
    const amountValue = value === "0.00" ? "0.01" : value;
    // occurred_at: now (omitted), or a whole second within the last four days, where the campaigns are.
    const occurredAt = this.rng.chance(0.4) ? undefined : rfc3339(Date.now() - this.rng.int(0, 4 * 86_400) * 1000);
    const at = occurredAt === undefined ? Date.now() : Date.parse(occurredAt);
    let exact = decMul(dec(amountValue), dec(rate.points_per_unit));
    for (const c of partner.campaigns) {
      if (at >= Date.parse(c.from) && at < Date.parse(c.to)) exact = decMul(exact, dec(c.multiplier));
    }
    const expectPoints = Number(decFloor(exact));
    const body: Record<string, unknown> = { amount: { value: amountValue, unit: rate.unit } };
    if (occurredAt !== undefined) body.occurred_at = occurredAt;
    await this.execute(this.earnSpec(m, body, partner, ref, expectPoints, "earn_amount"));
  }

  /** An earn above the risk rule's limit: 422 risk_declined with the rule's id, and nothing written. */
  private async earnOverLimit(m: Member): Promise<void> {
    const { partner, ref } = this.partnerOf(m);
    const points = this.coalition.earnLimitRule.maxPoints + this.rng.int(1, 1000);
    const spec = this.earnSpec(m, { points }, partner, ref, points, "earn_over_limit");
    spec.allowed = [`422 ${this.coalition.earnLimitRule.id}`];
    await this.execute(spec);
  }

  // ---------------------------------------------------------------- burns and holds

  private burnSpec(
    m: Member,
    partner: SoakPartner,
    ref: string,
    body: Record<string, unknown>,
    expectPoints: number,
    capture: boolean,
    kind: string,
  ): PostSpec {
    const predicted = this.predictSpend(m, expectPoints);
    const marker = this.marker(partner.id, "order_ref");
    return {
      kind,
      partner,
      path: "/v1/burns",
      body: {
        member_ref: ref,
        ...body,
        ...(capture ? {} : { capture: false }),
        order_ref: marker.value,
        context: this.context(),
      },
      key: `k-${marker.value}`,
      allowed: ["201", "422 insufficient_points"],
      ...(predicted ? { predicted } : {}),
      createsTxn: true,
      marker,
      members: [m],
      locks: [],
      apply: (a) => {
        if (a.status !== 201) return;
        const t = a.json?.transaction;
        const balance = balanceOf(a);
        this.tally("no burn makes available negative");
        if (!balance || balance.available < 0) {
          this.violation(
            "no burn makes available negative",
            `${kind} ${t?.id}: the answer's balance is ${JSON.stringify(a.json?.balance?.points)}`,
          );
        }
        if (t?.points !== expectPoints)
          this.violation("burn points", `${kind} ${t?.id}: ${t?.points} points, expected ${expectPoints}`);
        if (t?.status !== (capture ? "posted" : "held")) this.violation("burn status", `${kind} ${t?.id}: status ${t?.status}`);
        const burn: Burn = {
          id: t.id,
          partner,
          member: m,
          points: t.points,
          hold: !capture,
          status: t.status,
          voided: false,
          // A third of the short-TTL holds are left alone: they expire during the run.
          abandoned: !capture && partner.holdTtlSeconds < 900 && this.rng.chance(0.35),
          decisions: 0,
          reversed: 0,
          inflight: 0,
          ...(capture ? {} : { expiresLower: Date.parse(t.expires_at) }),
        };
        m.burns.push(burn);
        (capture ? this.postedBurns : this.holds).push(burn);
      },
    };
  }

  private burnPoints(m: Member, forHold: boolean): number {
    const spendable = this.spendable(m);
    const r = this.rng.next();
    if (r < 0.6) return this.rng.int(1, Math.max(1, Math.min(spendable, forHold ? 300 : 400)));
    if (r < 0.85) return this.rng.int(1, Math.max(1, spendable));
    return spendable + this.rng.int(1, 50);
  }

  async burn(m: Member, opts: { capture: boolean }, mode: Parameters<BankTest["execute"]>[1] = {}): Promise<void> {
    // Holds go mostly to the cinema (60 s TTL) when the member is linked there.
    let target = this.partnerOf(m);
    const cinema = this.coalition.partners.find((p) => p.role === "cinema")!;
    if (!opts.capture && m.refs.has(cinema.id) && this.rng.chance(0.6)) target = { partner: cinema, ref: m.refs.get(cinema.id)! };
    const points = this.burnPoints(m, !opts.capture);
    await this.execute(
      this.burnSpec(m, target.partner, target.ref, { points }, points, opts.capture, opts.capture ? "burn" : "hold"),
      mode,
    );
  }

  /** A burn by amount (the discount wanted): the points needed are rounded up. */
  private async burnAmount(m: Member): Promise<void> {
    const { partner, ref } = this.partnerOf(m);
    const rate = partner.burn[0]!;
    const points = this.burnPoints(m, false);
    // An amount a little under `points` worth, so the rounding up is exercised.
    const vpp = dec(rate.value_per_point);
    const cents = Math.max(1, Number((BigInt(points) * vpp.units * 100n) / 10n ** BigInt(vpp.scale)) - this.rng.int(0, 1));
    const value = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, "0")}`;
    const expect = Number(decDivCeil(dec(value), vpp));
    await this.execute(this.burnSpec(m, partner, ref, { amount: { value, unit: rate.unit } }, expect, true, "burn_amount"));
  }

  private openHolds(now: number, minRemainingMs: number): Burn[] {
    return this.holds.filter(
      (h) =>
        !h.abandoned &&
        h.captured === undefined &&
        !h.voided &&
        h.inflight === 0 &&
        (h.expiresLower ?? 0) - now > minRemainingMs &&
        h.member.uncertain === 0,
    );
  }

  private holdSpec(
    h: Burn,
    action: "capture" | "void",
    body: Record<string, unknown>,
    allowed: string[],
    kind: string,
  ): PostSpec {
    return {
      kind,
      partner: h.partner,
      path: `/v1/burns/${h.id}/${action}`,
      body,
      key: `k-${this.runId}-${action}-${this.nextMarker++}`,
      allowed,
      createsTxn: true,
      members: [h.member],
      locks: [h],
      apply: (a) => {
        if (a.status !== 200) return;
        const t = a.json?.transaction;
        h.decisions++;
        this.tally("a hold is decided once");
        if (h.decisions > 1) this.violation("a hold is decided once", `${h.id}: ${action} succeeded after another capture/void`);
        if (action === "capture") {
          h.captured = (body.points as number | undefined) ?? h.points;
          if (t?.status !== "posted" || t?.captured_points !== h.captured) {
            this.violation(
              "capture",
              `${h.id}: status ${t?.status} captured_points ${t?.captured_points}, expected posted/${h.captured}`,
            );
          }
          this.postedBurns.push(h);
        } else {
          h.voided = true;
          if (t?.status !== "voided") this.violation("void", `${h.id}: status ${t?.status}, expected voided`);
        }
      },
    };
  }

  private async decideHold(action: "capture" | "void", mode: Parameters<BankTest["execute"]>[1] = {}): Promise<boolean> {
    const h = this.rng.pick(this.openHolds(Date.now(), HOLD_MARGIN_MS));
    if (!h) return false;
    const body: Record<string, unknown> =
      action === "capture" && h.points > 1 && this.rng.chance(0.5) ? { points: this.rng.int(1, h.points - 1) } : {};
    await this.execute(this.holdSpec(h, action, body, ["200"], action), mode);
    return true;
  }

  /** A hold past its expiry, never decided: capture answers 409 hold_not_open. */
  private async lateCapture(): Promise<boolean> {
    const now = Date.now();
    const h = this.rng.pick(
      this.holds.filter(
        (x) => x.captured === undefined && !x.voided && x.inflight === 0 && (x.expiresLower ?? 0) + 1000 < now - 2000,
      ),
    );
    if (!h) return false;
    await this.execute(this.holdSpec(h, "capture", {}, ["409 hold_not_open"], "late_capture"));
    return true;
  }

  /** Capture and void of one hold at the same moment: exactly one wins, the other is hold_not_open. */
  private async captureVoidRace(): Promise<boolean> {
    const h = this.rng.pick(this.openHolds(Date.now(), HOLD_MARGIN_MS));
    if (!h) return false;
    const allowed = ["200", "409 hold_not_open"];
    const [c, v] = await Promise.all([
      this.execute(this.holdSpec(h, "capture", {}, allowed, "capture_void_race")),
      this.execute(this.holdSpec(h, "void", {}, allowed, "capture_void_race")),
    ]);
    this.tally("capture/void race: exactly one wins");
    const wins = [c, v].filter((a) => a?.status === 200).length;
    if (c && v && wins !== 1) {
      this.violation("capture/void race: exactly one wins", `${h.id}: capture ${outcomeOf(c)}, void ${outcomeOf(v)}`);
    }
    return true;
  }

  // ---------------------------------------------------------------- reversals

  private reversalSpec(
    original: Earn | Burn,
    left: number,
    body: Record<string, unknown>,
    allowed: string[],
    kind: string,
  ): PostSpec {
    const isEarn = !("hold" in original);
    const marker = this.marker(original.partner.id, "reason");
    return {
      kind,
      partner: original.partner,
      path: `/v1/transactions/${original.id}/reversals`,
      body: { ...body, reason: marker.value },
      key: `k-${marker.value}`,
      allowed,
      createsTxn: true,
      marker,
      members: [original.member],
      locks: [original],
      apply: (a) => {
        if (a.status !== 201) return;
        const t = a.json?.transaction;
        const points = (body.points as number | undefined) ?? left;
        if (t?.points !== points || t?.type !== "reversal") {
          this.violation("reversal", `${kind} of ${original.id}: ${t?.type} ${t?.points} points, expected reversal of ${points}`);
        }
        original.reversed += t.points;
        this.tally("reversals never exceed the original");
        const total = isEarn ? original.points : ((original as Burn).captured ?? original.points);
        if (original.reversed > total)
          this.violation("reversals never exceed the original", `${original.id}: ${original.reversed} of ${total} reversed`);
        if (isEarn) original.member.earnReversals++;
        this.reversals.push({
          id: t.id,
          originalId: original.id,
          partnerId: original.partner.id,
          member: original.member,
          points: t.points,
        });
      },
    };
  }

  private async reverseEarn(over: boolean, mode: Parameters<BankTest["execute"]>[1] = {}): Promise<boolean> {
    const candidates = this.earns.filter(
      (e) =>
        e.inflight === 0 &&
        e.member.uncertain === 0 &&
        (e.status === "posted" || e.status === "pending") &&
        (over || e.reversed < e.points),
    );
    const e = this.rng.pick(candidates);
    if (!e) return false;
    const left = e.points - e.reversed;
    if (over) {
      const body = left === 0 && this.rng.chance(0.5) ? {} : { points: left + this.rng.int(1, 20) };
      await this.execute(this.reversalSpec(e, left, body, ["409 nothing_to_reverse"], "over_reverse"), mode);
    } else {
      const body = this.rng.chance(0.5) || left === 1 ? {} : { points: this.rng.int(1, left - 1) };
      await this.execute(this.reversalSpec(e, left, body, ["201"], "reverse_earn"), mode);
    }
    return true;
  }

  private async reverseBurn(over: boolean, mode: Parameters<BankTest["execute"]>[1] = {}): Promise<boolean> {
    const candidates = this.postedBurns.filter(
      (b) => b.inflight === 0 && b.member.uncertain === 0 && (over || b.reversed < (b.captured ?? b.points)),
    );
    const b = this.rng.pick(candidates);
    if (!b) return false;
    const left = (b.captured ?? b.points) - b.reversed;
    if (over) {
      const body = left === 0 && this.rng.chance(0.5) ? {} : { points: left + this.rng.int(1, 20) };
      await this.execute(this.reversalSpec(b, left, body, ["409 nothing_to_reverse"], "over_reverse"), mode);
    } else {
      const body = this.rng.chance(0.5) || left === 1 ? {} : { points: this.rng.int(1, left - 1) };
      await this.execute(this.reversalSpec(b, left, body, ["201"], "reverse_burn"), mode);
    }
    return true;
  }

  // ---------------------------------------------------------------- reads, duplicates, replays

  private async balance(m: Member): Promise<void> {
    const { partner, ref } = this.partnerOf(m);
    const ctx = this.begin(m);
    const started = Date.now();
    let a: Answer;
    try {
      a = fromClientResult(await partner.client.get(`/v1/members/${ref}/balance`), Date.now() - started);
    } catch (error) {
      a = networkFailure(error, Date.now() - started);
    }
    this.record("balance", "GET /v1/members/{ref}/balance", a);
    this.checkAllowed({ kind: "balance", allowed: ["200"] }, "GET balance", a);
    const b = balanceOf(a);
    // Mid-run model check: a read that overlapped no other operation on the member sees exactly the model's total.
    if (b && ctx.solo && m.epoch === ctx.epoch && m.uncertain === 0) {
      const total = b.available + b.pending + b.held;
      this.tally("balance = model (mid-run)");
      if (total !== modelTotal(m)) {
        this.violation("balance = model (mid-run)", `${m.id}: available+pending+held = ${total}, model ${modelTotal(m)}`);
      }
    }
    this.end(m, ctx, a.status === 200 ? a : undefined);
  }

  /** 2 to 4 deliveries of one request with one Idempotency-Key, at the same moment. */
  private async duplicateConcurrent(m: Member): Promise<boolean> {
    const copies = this.rng.int(2, 4);
    const mode = { copies, kindSuffix: ":dup" };
    const r = this.rng.next();
    if (r < 0.4) await this.earnPoints(m, mode);
    else if (r < 0.6) await this.burn(m, { capture: true }, mode);
    else if (r < 0.7) await this.burn(m, { capture: false }, mode);
    else if (r < 0.85) return (await this.reverseEarn(false, mode)) || (await this.reverseBurn(false, mode));
    else return this.decideHold("capture", mode);
    return true;
  }

  /** An Idempotency-Key already used, with another body: 409 idempotency_key_reused, nothing applied. */
  private async keyReuse(): Promise<boolean> {
    const g = this.rng.pick(this.groups.filter((x) => x.final && x.kind === "earn_points" && x.scope !== "operator"));
    if (!g) return false;
    const partner = this.coalition.partners.find((p) => p.id === g.scope)!;
    const m = this.members.find((x) => [...x.refs.entries()].some(([pid]) => pid === partner.id));
    if (!m) return false;
    const marker = this.marker(partner.id, "order_ref");
    const spec: PostSpec = {
      kind: "key_reuse",
      partner,
      path: "/v1/earn",
      body: { member_ref: m.refs.get(partner.id), points: 7, order_ref: marker.value, context: this.context() },
      key: g.key,
      allowed: ["409 idempotency_key_reused"],
      createsTxn: false,
      members: [],
      locks: [],
    };
    const a = await this.sendPost(spec);
    this.record("key_reuse", "POST /v1/earn", a);
    this.checkAllowed(spec, "POST /v1/earn", a);
    this.absentMarkers.push(marker);
    return true;
  }

  /** The exact same signed request twice: a GET balance, or a POST (earn, burn) with its key. */
  private async replaySignature(m: Member): Promise<void> {
    const how = this.rng.chance(0.5) ? "sequential" : "concurrent";
    const r = this.rng.next();
    if (r < 0.35) {
      const { partner, ref } = this.partnerOf(m);
      const signed = await partner.client.buildRequest("GET", `/v1/members/${ref}/balance`, new Uint8Array());
      const copy = signed.clone();
      const deliver = async (req: Request) => {
        const started = Date.now();
        try {
          return await toAnswer(await this.t.fetch(req), started);
        } catch (error) {
          return networkFailure(error, Date.now() - started);
        }
      };
      const answers =
        how === "sequential" ? [await deliver(signed), await deliver(copy)] : await Promise.all([deliver(signed), deliver(copy)]);
      for (const a of answers) this.record("replay_signature:get", "GET /v1/members/{ref}/balance", a);
      const outcomes = answers.map(outcomeOf);
      const ok =
        how === "sequential"
          ? outcomes.join() === "200,401 replayed_request"
          : [...outcomes].sort().join() === "200,401 replayed_request";
      if (!ok) this.violation("replayed signatures are refused", `GET balance delivered twice (${how}): ${outcomes.join(", ")}`);
      return;
    }
    const mode = { replaySignature: how, kindSuffix: ":replay" } as const;
    if (r < 0.75) await this.earnPoints(m, mode);
    else await this.burn(m, { capture: true }, mode);
  }

  // ---------------------------------------------------------------- operator

  /** Operator adjustment: a goodwill credit, or a debit (which cannot exceed available). */
  private async adjustment(m: Member): Promise<void> {
    const credit = this.rng.chance(0.7);
    const points = credit ? this.rng.int(1, 300) : -this.rng.int(1, Math.max(1, Math.min(100, this.spendable(m))));
    const predicted = credit ? undefined : this.predictSpend(m, -points);
    const marker = this.marker("operator", "reason");
    await this.execute({
      kind: credit ? "adjustment_credit" : "adjustment_debit",
      path: `/members/${m.id}/adjustments`,
      body: { points, reason: marker.value },
      key: `k-${marker.value}`,
      allowed: credit ? ["201"] : ["201", "422 insufficient_points"],
      ...(predicted ? { predicted } : {}),
      createsTxn: true,
      marker,
      members: [m],
      locks: [],
      apply: (a) => {
        if (a.status !== 201) return;
        const t = a.json?.transaction;
        if (t?.type !== "adjustment" || t?.points !== Math.abs(points)) {
          this.violation("adjustment", `${t?.id}: ${t?.type} ${t?.points}, expected adjustment of ${Math.abs(points)}`);
        }
        if (points < 0 && (balanceOf(a)?.available ?? -1) < 0) {
          this.violation("no debit makes available negative", `${t?.id}: balance ${JSON.stringify(a.json?.balance?.points)}`);
        }
        m.adjusted += points;
        this.adjustments.push({ id: t.id, member: m, points });
      },
    });
  }

  /** The operator tops up the kiosk's prepaid float (and the same payment is delivered again: a replay). */
  private async topUp(): Promise<void> {
    const kiosk = this.coalition.partners.find((p) => p.role === "kiosk")!;
    const marker = this.marker(kiosk.id, "reason");
    const value = "2.00";
    const spec: PostSpec = {
      kind: "top_up",
      path: `/partners/${kiosk.id}/payments`,
      body: { amount: { value, unit: this.coalition.currency }, reference: marker.value },
      key: `k-${marker.value}`,
      allowed: ["201"],
      createsTxn: false,
      members: [],
      locks: [],
      apply: (a) => {
        if (a.status === 201) this.topUps.set(kiosk.id, (this.topUps.get(kiosk.id) ?? 0) + micros(value));
      },
    };
    const final = await this.execute(spec);
    if (final) {
      const again = await this.sendPost(spec);
      this.record("top_up:redelivery", this.requestName(spec), again);
      if (!again.replayed || again.text !== final.text) {
        this.violation(
          "sequential redelivery replays",
          `top_up key ${spec.key}: redelivery ${outcomeOf(again)} replayed=${again.replayed}`,
        );
      }
    }
  }

  /** POST /admin/v1/settlements/close with period_end = now, in the middle of the load. */
  private async settlementClose(): Promise<void> {
    // The cut is the first whole second after this point of the load (so the period holds what
    // completed so far, however slow the machine), at least 2 s into the run; the close waits
    // until it is 1 s back.
    const cut = Math.ceil(Math.max(Date.now(), this.startedAt + 2000) / 1000) * 1000;
    await sleep(cut + 1000 - Date.now());
    const periodEnd = rfc3339(cut);
    const a = await operatorRequest(this.t, "POST", "/settlements/close", { period_end: periodEnd });
    this.record("settlement_close", "POST /admin/v1/settlements/close", a);
    if (missingRoute(a)) {
      this.settlementNote = "skipped: POST /admin/v1/settlements/close answers 404 not_found (not built yet)";
      this.notices.push(`settlement close ${this.settlementNote}`);
      this.opts.log(`notice: settlement close ${this.settlementNote}`);
      return;
    }
    if (!a.ok) {
      this.settlementNote = `failed: ${describeAnswer(a)}`;
      this.violation("settlement close", `POST /admin/v1/settlements/close {period_end: ${periodEnd}} → ${describeAnswer(a)}`);
      return;
    }
    const reports = Array.isArray(a.json?.data) ? (a.json.data as any[]) : [];
    for (const r of reports) {
      if (typeof r?.id === "string") this.settlementReports.push({ id: r.id, start: r.period?.start, end: r.period?.end });
    }
    this.settlementNote = `closed at ${periodEnd} during the load: ${reports.length} report(s) ${this.settlementReports.map((r) => r.id).join(", ")}`;
    this.opts.log(`settlement close: ${this.settlementNote}`);
    // Right after the close, under load: what it did to funding, then a payout of what it owes.
    await checkFundingAfterClose(this, `after the close at ${periodEnd}`);
    await payoutAfterClose(this);
  }

  // ---------------------------------------------------------------- end of the run

  /** Requests whose outcome was lost (transport failure, 5xx) are sent again with the same key, as a client would. */
  private async resolveUnknown(): Promise<void> {
    for (const g of [...this.unresolved]) {
      for (let attempt = 0; attempt < 5 && !g.final; attempt++) {
        await sleep(200 * attempt);
        const a = await g.resend();
        this.record(`${g.kind}:resolve`, g.request, a);
        g.answers.push(a);
        this.settle(g);
      }
      if (!g.final) this.violation("lost outcomes resolve", `${g.kind} key ${g.key}: no determinate answer after 5 retries`);
    }
    for (const m of this.members) m.uncertain = 0;
  }

  /** Lets the cinema's undecided holds expire (really, or by running the job at their expiry) and checks they show voided. */
  private async expireShortHolds(): Promise<void> {
    const undecided = this.holds.filter((h) => h.captured === undefined && !h.voided && h.partner.holdTtlSeconds < 900);
    if (undecided.length === 0) return;
    const until = Math.max(...undecided.map((h) => (h.expiresLower ?? 0) + 1000)) + 500;
    if (this.opts.holdExpiry === "wait") {
      const wait = until - Date.now();
      if (wait > 0) {
        this.opts.log(
          `waiting ${(wait / 1000).toFixed(1)} s until the last of ${undecided.length} undecided ${this.opts.shortHoldTtlSeconds} s holds has expired`,
        );
        await sleep(wait);
      }
    } else {
      await this.runJobs(until);
    }
    // Voided as of now whether or not a job has run yet (time-driven states, §1).
    let wrong = 0;
    await this.each(undecided, async (h) => {
      const started = Date.now();
      let a: Answer;
      try {
        a = fromClientResult(await h.partner.client.get(`/v1/transactions/${h.id}`), Date.now() - started);
      } catch (error) {
        a = networkFailure(error, Date.now() - started);
      }
      this.record("expired_hold_read", "GET /v1/transactions/{id}", a);
      this.tally("expired holds show voided");
      if (a.status !== 200 || a.json?.transaction?.status !== "voided") {
        wrong++;
        this.violation("expired holds show voided", `${h.id} (expired ${rfc3339(h.expiresLower ?? 0)}): ${describeAnswer(a)}`);
      }
    });
    this.expiredHoldsChecked = undecided.length - wrong;
    for (const h of undecided) h.voided = true;
  }

  expiredHoldsChecked = 0;

  /** Runs `fn` over items with the run's concurrency. */
  async each<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
    let i = 0;
    await Promise.all(
      Array.from({ length: Math.min(this.opts.concurrency, items.length) }, async () => {
        while (i < items.length) await fn(items[i++]!);
      }),
    );
  }

  // ---------------------------------------------------------------- report

  private report(checks: BankReport["checks"]): BankReport {
    const byKind = new Map<string, Map<string, number>>();
    const latencies = new Map<string, number[]>();
    for (const o of this.observations) {
      const kind = o.kind.split(":")[0]!.split(".")[0]!;
      const k = o.kind;
      const outcomes = byKind.get(k) ?? new Map<string, number>();
      const label = o.replayed ? `${o.outcome} (replay)` : o.outcome;
      outcomes.set(label, (outcomes.get(label) ?? 0) + 1);
      byKind.set(k, outcomes);
      if (kind !== "scheduled_jobs") {
        const l = latencies.get("all") ?? [];
        l.push(o.latencyMs);
        latencies.set("all", l);
      }
      const lk = latencies.get(kind) ?? [];
      lk.push(o.latencyMs);
      latencies.set(kind, lk);
    }
    for (const l of latencies.values()) l.sort((a, b) => a - b);
    return {
      runId: this.runId,
      seed: this.opts.seed,
      operations: this.issued,
      concurrency: this.opts.concurrency,
      requests: this.observations.filter((o) => o.kind !== "scheduled_jobs").length,
      durationMs: this.finishedAt - this.startedAt,
      byKind,
      latencies,
      checks,
      violations: this.violations,
      notices: this.notices,
      scheduledRuns: this.scheduledRuns,
      settlement: this.settlementNote,
      raw5xx: this.raw5xx,
    };
  }
}

export async function runBankTest(opts: BankTestOptions): Promise<BankReport> {
  return new BankTest(opts).run();
}

/** The printed summary: operations by kind and outcome, latency, checks, violations. */
export function formatSummary(r: BankReport): string {
  const lines: string[] = [];
  const secs = r.durationMs / 1000;
  lines.push(
    `bank test ${r.runId}: ${r.operations} operations (${r.requests} requests) by ${r.concurrency} clients in ${secs.toFixed(1)} s` +
      ` = ${(r.operations / secs).toFixed(0)} ops/s, ${(r.requests / secs).toFixed(0)} requests/s; seed ${r.seed}`,
  );
  lines.push("", "operations by kind and outcome (a request's outcome: status and error code; replays marked):");
  const kinds = [...r.byKind.keys()].sort();
  const width = Math.max(...kinds.map((k) => k.length), 4);
  for (const k of kinds) {
    const outcomes = r.byKind.get(k)!;
    const total = [...outcomes.values()].reduce((s, n) => s + n, 0);
    const parts = [...outcomes.entries()].sort((a, b) => b[1] - a[1]).map(([o, n]) => `${o} ×${n}`);
    lines.push(`  ${k.padEnd(width)} ${String(total).padStart(6)}  ${parts.join(", ")}`);
  }
  const all = r.latencies.get("all") ?? [];
  lines.push(
    "",
    `latency (ms, client-observed, every request): p50 ${quantile(all, 0.5)}, p99 ${quantile(all, 0.99)}, max ${all[all.length - 1] ?? "-"}`,
  );
  const mainKinds = [
    "earn_points",
    "earn_amount",
    "burn",
    "hold",
    "capture",
    "void",
    "reverse_earn",
    "reverse_burn",
    "balance",
    "enrol",
    "link",
  ];
  const perKind = mainKinds
    .filter((k) => r.latencies.has(k))
    .map((k) => {
      const l = r.latencies.get(k)!;
      return `${k} ${quantile(l, 0.5)}/${quantile(l, 0.99)}`;
    });
  lines.push(`  p50/p99 by kind: ${perKind.join(", ")}`);
  const raw = [...r.raw5xx.entries()].map(([s, n]) => `${s} ×${n}`).join(", ");
  lines.push(`server 5xx seen by the transport (including any the client retried): ${raw || "none"}`);
  lines.push(`scheduled jobs: ${r.scheduledRuns} runs; settlement: ${r.settlement}`);
  lines.push("", "checks:");
  const cw = Math.max(...r.checks.map((c) => c.name.length));
  for (const c of r.checks) {
    lines.push(
      `  ${c.violations === 0 ? "ok  " : "FAIL"} ${c.name.padEnd(cw)}  ${String(c.checked).padStart(6)} checked${c.violations ? `, ${c.violations} violations` : ""}${c.note ? `  (${c.note})` : ""}`,
    );
  }
  if (r.notices.length > 0) lines.push("", "notices:", ...r.notices.map((n) => `  - ${n}`));
  lines.push("");
  if (r.violations.length === 0) {
    lines.push("violations: 0 — PASS");
  } else {
    lines.push(`violations: ${r.violations.length} — FAIL`);
    const byCheck = new Map<string, Violation[]>();
    for (const v of r.violations) byCheck.set(v.check, [...(byCheck.get(v.check) ?? []), v]);
    for (const [check, vs] of byCheck) {
      lines.push(`  ${check}: ${vs.length}`);
      for (const v of vs.slice(0, 5)) lines.push(`    - ${v.detail}`);
      if (vs.length > 5) lines.push(`    … ${vs.length - 5} more`);
    }
  }
  return lines.join("\n");
}

export { ledgerInvariantViolations };
