import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { newJti } from "../../packages/partner-sdk/src/index";
import { addKey, BASE_URL, newKeyPair, operator, type TestPartner, workerFetch } from "../support/exchange";
import { checkInvariants } from "../support/invariants";
import { burn, CONTEXT, DEFAULT_CARD, earn, enrol, expectOk, newRef, partnerWithCard, sql } from "../support/ledger";
import { armFault, changedTables, disarmFaults, tableDigests, type WriteOp } from "../support/row-counts";

/**
 * Fault injection (issue 6, item 3): every kind of write batch is made to fail in the middle,
 * and must leave nothing behind; the retry with the same Idempotency-Key then succeeds exactly
 * once, and a further retry replays it.
 *
 * How a fault is injected: a test-armed trigger `BEFORE INSERT/UPDATE/DELETE ON <table>` that
 * RAISEs (test/support/row-counts.ts `armFault`), so the statement of the batch that writes
 * that table fails, as a constraint or the storage would.
 *
 * Which statement fails: for each kind, a first PROBE request runs the batch unharmed and the
 * table digests before and after name every table the batch writes (request_nonces aside,
 * written by the signature check, not by the batch). Then, for EVERY one of those tables in
 * turn, a fresh twin of the scenario is faulted on that table — the first statement of the
 * batch, every statement in the middle (the table named `middle` below is asserted to be among
 * them) and the last one (the UPDATE that stores the idempotent response). New statements that
 * write new tables (risk counters, settlement entries) are covered without touching this file.
 *
 * What each faulted request must show, and which guard each check tests:
 *  1. a 5xx in the contract shape (api_error / internal or unavailable) — fails if onError
 *     (src/http/app.ts toApiError) answered a 2xx/4xx or another shape for a storage failure;
 *  2. every table's content unchanged (digests of all rows, so UPDATEs count too), the member's
 *     balance unchanged, the invariants intact, no idempotency record left in flight — fails if the
 *     batch were split into separate statements or round trips (the writes before the faulted
 *     statement would stay), or if the claim were not released;
 *  3. the retry with the SAME key (after the trigger is dropped) succeeds, is not a replay, and
 *     is applied exactly once — fails if idempotency stored the 5xx (the retry would replay it) or
 *     kept the claim (409 idempotency_key_in_use), or if something of the failed attempt survived
 *     (applied twice);
 *  4. a further retry replays the success byte for byte with Idempotent-Replayed: true and
 *     applies nothing — fails if the success was not stored in the same batch as the writes.
 * Writes that take no Idempotency-Key (enrolment is idempotent by member_ref; rate cards, new
 * partners and keys are created once) check the natural equivalent of 3 and 4.
 *
 * Checked against broken guards (in a scratch copy of the repo, src untouched here): with
 * idempotency storing the 5xx (src/http/idempotency.ts: storeError instead of release + throw)
 * check 2 fails on idempotency_keys and, with check 2 disabled, check 3 fails (the retry replays
 * the 503); with commit() running the batch as separate statements, check 2 fails for every
 * middle table, naming the tables the statements before it wrote.
 */

interface Attempt {
  status: number;
  text: string;
  replayed: boolean;
  json: any;
}

interface Scenario {
  /** Sends the write: the same request every time (fresh signature or token, same key and body). */
  send(): Promise<Attempt>;
  /** What must not move when the write fails (a member's balance, a partner's funding). */
  observe?(): Promise<unknown>;
  /** How many times the write is in the database: 0 before, 1 after the retry. */
  applied(): Promise<number>;
}

interface BatchKind {
  name: string;
  /** A table written in the middle of the batch (documented, and asserted to be faulted). */
  middle: string;
  /** The success status. */
  status: number;
  /**
   * After a success, what sending the same request again answers (default: the replay);
   * null: not sent again (a POST without an Idempotency-Key creates a new object each time).
   */
  again?: ((first: Attempt, again: Attempt) => void) | null;
  /** A route this kind needs (skipped while it does not exist), e.g. "post /admin/v1/reviews/{transaction_id}". */
  requires?: string;
  /** Once, before the probe (rules, configuration). */
  prepare?(): Promise<void>;
  /**
   * Tables a failed request may leave changed BY DESIGN, each with its reason (checked apart by
   * `applied`). Only the settlement close has one: its period claim commits before the report.
   */
  partialByDesign?: readonly string[];
  /** After a failed check, puts things right so the next table's fault starts clean. */
  heal?(): Promise<void>;
  scenario(): Promise<Scenario>;
}

let p: TestPartner;
let q: TestPartner;
let cards: TestPartner;
let reviewed: TestPartner;
let routes: Set<string>;
let tagCounter = 0;
const tag = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${tagCounter++}`;

beforeAll(async () => {
  p = await partnerWithCard();
  q = await partnerWithCard();
  cards = await partnerWithCard();
  reviewed = await partnerWithCard();
  const doc = (await (await workerFetch(new Request(`${BASE_URL}/openapi.json`))).json()) as { paths: Record<string, object> };
  routes = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`)));
});

afterEach(async () => {
  await disarmFaults();
  await checkInvariants();
});

function fromClient(r: { status: number; text: string; replayed: boolean }): Attempt {
  let json: unknown;
  try {
    json = JSON.parse(r.text);
  } catch {
    json = undefined;
  }
  return { status: r.status, text: r.text, replayed: r.replayed, json };
}

function fromOperator(r: { status: number; text: string; headers: Headers; body: unknown }): Attempt {
  return { status: r.status, text: r.text, replayed: r.headers.get("Idempotent-Replayed") === "true", json: r.body };
}

async function count(query: string, ...binds: unknown[]): Promise<number> {
  const [row] = await sql<{ n: number }>(query, ...binds);
  return row?.n ?? 0;
}

async function balanceOf(partner: TestPartner, ref: string): Promise<unknown> {
  const r = await partner.client.get<{ points: unknown; expiring: unknown }>(`/v1/members/${ref}/balance`);
  if (!r.ok) throw new Error(r.text);
  return { points: r.data.points, expiring: r.data.expiring };
}

async function funding(partnerId: string): Promise<unknown> {
  const r = await operator("GET", `/partners/${partnerId}`);
  if (r.status !== 200) throw new Error(r.text);
  return r.body.partner.funding;
}

/** A partner-API POST with a fixed Idempotency-Key and body. */
function partnerPost(partner: TestPartner, target: string, body: unknown): () => Promise<Attempt> {
  const key = `idk_${newJti()}`;
  return async () => fromClient(await partner.client.post(target, body, { idempotencyKey: key }));
}

/** An operator POST with a fixed Idempotency-Key and body. */
function operatorPost(path: string, body: unknown): () => Promise<Attempt> {
  const key = `op_${newJti()}`;
  return async () => fromOperator(await operator("POST", path, body, { idempotencyKey: key }));
}

async function memberWith(points: number): Promise<{ ref: string; memberId: string }> {
  const m = await enrol(p);
  if (points > 0) expectOk(await earn(p, m.ref, points));
  return m;
}

const BY_ORDER_REF = "SELECT COUNT(*) AS n FROM transactions WHERE order_ref = ?1";
const BY_REASON = "SELECT COUNT(*) AS n FROM transactions WHERE reason = ?1";

const KINDS: BatchKind[] = [
  {
    name: "earn",
    middle: "lots", // after the transaction and the funding draw, before the transfers
    status: 201,
    async scenario() {
      const m = await memberWith(0);
      const order = tag("earn");
      return {
        send: partnerPost(p, "/v1/earn", { member_ref: m.ref, points: 100, order_ref: order, context: CONTEXT }),
        observe: () => balanceOf(p, m.ref),
        applied: () => count(BY_ORDER_REF, order),
      };
    },
  },
  {
    name: "earn that repays a debt",
    middle: "debt_repayments", // after the lot and the repay movements, before the transfers
    status: 201,
    async scenario() {
      const m = await memberWith(0);
      const first = expectOk(await earn(p, m.ref, 100));
      expectOk(await burn(p, m.ref, 100));
      expectOk(await p.client.post(`/v1/transactions/${first.transaction.id}/reversals`, {}));
      const order = tag("repay");
      return {
        send: partnerPost(p, "/v1/earn", { member_ref: m.ref, points: 150, order_ref: order, context: CONTEXT }),
        observe: () => balanceOf(p, m.ref),
        applied: () => count(BY_ORDER_REF, order),
      };
    },
  },
  {
    name: "posted burn",
    middle: "lot_movements", // after the transaction, before the transfers
    status: 201,
    async scenario() {
      const m = await memberWith(100);
      const order = tag("burn");
      return {
        send: partnerPost(p, "/v1/burns", { member_ref: m.ref, points: 30, order_ref: order, context: CONTEXT }),
        observe: () => balanceOf(p, m.ref),
        applied: () => count(BY_ORDER_REF, order),
      };
    },
  },
  {
    name: "hold",
    middle: "lot_movements", // the reservations: after the transaction, before the transfers
    status: 201,
    async scenario() {
      const m = await memberWith(100);
      const order = tag("hold");
      return {
        send: partnerPost(p, "/v1/burns", { member_ref: m.ref, points: 30, capture: false, order_ref: order, context: CONTEXT }),
        observe: () => balanceOf(p, m.ref),
        applied: () => count(BY_ORDER_REF, order),
      };
    },
  },
  {
    name: "capture",
    middle: "transfers", // after the capture and release movements, before the status update
    status: 200,
    async scenario() {
      const m = await memberWith(100);
      const hold = expectOk(await burn(p, m.ref, 30, { capture: false }));
      const id = hold.transaction.id;
      return {
        send: partnerPost(p, `/v1/burns/${id}/capture`, { points: 20 }),
        observe: () => balanceOf(p, m.ref),
        applied: () => count("SELECT COUNT(DISTINCT at) AS n FROM lot_movements WHERE txn_id = ?1 AND kind = 'capture'", id),
      };
    },
  },
  {
    name: "void",
    middle: "transfers", // after the release movements, before the status update
    status: 200,
    async scenario() {
      const m = await memberWith(100);
      const hold = expectOk(await burn(p, m.ref, 30, { capture: false }));
      const id = hold.transaction.id;
      return {
        send: partnerPost(p, `/v1/burns/${id}/void`, {}),
        observe: () => balanceOf(p, m.ref),
        applied: () => count("SELECT COUNT(DISTINCT at) AS n FROM lot_movements WHERE txn_id = ?1 AND kind = 'release'", id),
      };
    },
  },
  {
    name: "earn reversal (points already spent: a debt)",
    middle: "debts", // after the take-back movements, before the transfers and the funding credit
    status: 201,
    async scenario() {
      const m = await memberWith(0);
      const e = expectOk(await earn(p, m.ref, 100));
      expectOk(await burn(p, m.ref, 60));
      const reason = tag("earn-reversal");
      return {
        send: partnerPost(p, `/v1/transactions/${e.transaction.id}/reversals`, { reason }),
        observe: () => balanceOf(p, m.ref),
        applied: () => count(BY_REASON, reason),
      };
    },
  },
  {
    name: "burn reversal",
    middle: "lot_movements", // the restores: after the transaction, before the transfers
    status: 201,
    async scenario() {
      const m = await memberWith(100);
      const b = expectOk(await burn(p, m.ref, 60));
      const reason = tag("burn-reversal");
      return {
        send: partnerPost(p, `/v1/transactions/${b.transaction.id}/reversals`, { points: 60, reason }),
        observe: () => balanceOf(p, m.ref),
        applied: () => count(BY_REASON, reason),
      };
    },
  },
  {
    name: "adjustment credit",
    middle: "lots", // after the transaction, before the transfers and the audit entry
    status: 201,
    async scenario() {
      const m = await memberWith(0);
      const reason = tag("goodwill");
      return {
        send: operatorPost(`/members/${m.memberId}/adjustments`, { points: 50, reason }),
        observe: () => balanceOf(p, m.ref),
        applied: () => count(BY_REASON, reason),
      };
    },
  },
  {
    name: "adjustment debit",
    middle: "lot_movements", // after the transaction, before the transfers and the audit entry
    status: 201,
    async scenario() {
      const m = await memberWith(100);
      const reason = tag("correction");
      return {
        send: operatorPost(`/members/${m.memberId}/adjustments`, { points: -30, reason }),
        observe: () => balanceOf(p, m.ref),
        applied: () => count(BY_REASON, reason),
      };
    },
  },
  {
    name: "link code",
    middle: "link_codes", // between the claim guard and the stored response
    status: 201,
    async scenario() {
      const m = await memberWith(0);
      return {
        send: partnerPost(p, `/v1/members/${m.ref}/link-codes`, {}),
        applied: () => count("SELECT COUNT(*) AS n FROM link_codes WHERE member_id = ?1", m.memberId),
      };
    },
  },
  {
    name: "enrolment",
    middle: "member_links", // after the member row, before the read-back
    status: 201,
    // PUT is idempotent by member_ref: the same request again answers the existing link (200).
    again: (first, again) => {
      expect(again.status, again.text).toBe(200);
      expect(again.json.member.id).toBe(first.json.member.id);
    },
    async scenario() {
      const ref = newRef("enrol");
      return {
        send: async () => fromClient(await p.client.put(`/v1/members/${ref}`, { context: CONTEXT })),
        applied: () =>
          count(
            "SELECT COUNT(*) AS n FROM member_links l JOIN members m ON m.id = l.member_id WHERE l.partner_id = ?1 AND l.member_ref = ?2",
            p.id,
            ref,
          ),
      };
    },
  },
  {
    name: "enrolment with a link code",
    middle: "member_links", // after the code is used up, before the read-back
    status: 201,
    again: (first, again) => {
      expect(again.status, again.text).toBe(200);
      expect(again.json.member.id).toBe(first.json.member.id);
    },
    async scenario() {
      const m = await memberWith(0);
      const code = expectOk(await p.client.post<{ link_code: string }>(`/v1/members/${m.ref}/link-codes`, {}));
      const ref = newRef("linked");
      return {
        send: async () => fromClient(await q.client.put(`/v1/members/${ref}`, { link_code: code.link_code, context: CONTEXT })),
        observe: () => balanceOf(p, m.ref),
        applied: () => count("SELECT COUNT(*) AS n FROM member_links WHERE partner_id = ?1 AND member_id = ?2", q.id, m.memberId),
      };
    },
  },
  {
    name: "payment",
    middle: "audit_log", // after the funding update, before the stored response
    status: 201,
    async scenario() {
      const reference = tag("payment");
      return {
        send: operatorPost(`/partners/${p.id}/payments`, { amount: { value: "10.00", unit: "CNY" }, reference }),
        observe: () => funding(p.id),
        applied: () =>
          count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'partner.payment' AND instr(detail, ?1) > 0", reference),
      };
    },
  },
  {
    name: "rate card",
    middle: "audit_log", // after the rate card row
    status: 201,
    // No Idempotency-Key: each POST is a new version. The retry creates exactly one.
    again: null,
    async scenario() {
      const before = await count("SELECT COUNT(*) AS n FROM rate_cards WHERE partner_id = ?1", cards.id);
      return {
        send: async () => fromOperator(await operator("POST", `/partners/${cards.id}/rate-cards`, DEFAULT_CARD)),
        applied: async () => (await count("SELECT COUNT(*) AS n FROM rate_cards WHERE partner_id = ?1", cards.id)) - before,
      };
    },
  },
  {
    name: "partner",
    middle: "audit_log", // after the partner row
    status: 201,
    again: (_first, again) => {
      expect(again.status, again.text).toBe(409);
      expect(again.json.error.code).toBe("partner_exists");
    },
    async scenario() {
      const id = tag("fp")
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, "-");
      const body = { id, name: "Faulty", funding: { mode: "postpaid", credit_limit: { value: "10.00", unit: "CNY" } } };
      return {
        send: async () => fromOperator(await operator("POST", "/partners", body)),
        applied: async () =>
          (await count("SELECT COUNT(*) AS n FROM partners WHERE id = ?1", id)) *
          (await count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'partner.create' AND target = ?1", id)),
      };
    },
  },
  {
    name: "partner key",
    middle: "audit_log", // after the key row
    status: 201,
    again: (_first, again) => {
      expect(again.status, again.text).toBe(409);
      expect(again.json.error.code).toBe("key_exists");
    },
    async scenario() {
      const kid = tag("kid");
      const { publicJwk } = await newKeyPair();
      return {
        send: async () => fromOperator(await operator("POST", `/partners/${p.id}/keys`, { kid, public_jwk: publicJwk })),
        applied: () => count("SELECT COUNT(*) AS n FROM partner_keys WHERE partner_id = ?1 AND kid = ?2", p.id, kid),
      };
    },
  },
  {
    name: "key revocation",
    middle: "audit_log", // after the key update
    status: 200,
    again: (_first, again) => expect(again.status, again.text).toBe(200),
    async scenario() {
      const kid = tag("revoke");
      await addKey(p.id, kid);
      return {
        send: async () => fromOperator(await operator("DELETE", `/partners/${p.id}/keys/${kid}`)),
        applied: () =>
          count(
            "SELECT COUNT(*) AS n FROM partner_keys WHERE partner_id = ?1 AND kid = ?2 AND revoked_at IS NOT NULL",
            p.id,
            kid,
          ),
      };
    },
  },
  {
    name: "review approval of an earn",
    requires: "post /admin/v1/reviews/{transaction_id}",
    middle: "lots", // after the status change and the funding draw, before the transfers and the audit entry
    status: 200,
    prepare: setReviewRules,
    async scenario() {
      const m = await enrol(reviewed);
      const e = expectOk(await earn(reviewed, m.ref, 500));
      expect(e.transaction.status).toBe("review");
      return {
        send: operatorPost(`/reviews/${e.transaction.id}`, { decision: "approve" }),
        observe: () => balanceOf(reviewed, m.ref),
        applied: () => count("SELECT COUNT(*) AS n FROM lots WHERE txn_id = ?1", e.transaction.id),
      };
    },
  },
  {
    name: "review approval of a burn",
    requires: "post /admin/v1/reviews/{transaction_id}",
    middle: "transfers", // after the capture movements, before the status change and the audit entry
    status: 200,
    prepare: setReviewRules,
    async scenario() {
      const m = await enrol(reviewed);
      expectOk(await earn(reviewed, m.ref, 100));
      expectOk(await earn(reviewed, m.ref, 100));
      const b = expectOk(await burn(reviewed, m.ref, 150));
      expect(b.transaction.status).toBe("review");
      return {
        send: operatorPost(`/reviews/${b.transaction.id}`, { decision: "approve" }),
        observe: () => balanceOf(reviewed, m.ref),
        applied: () => count("SELECT COUNT(*) AS n FROM transactions WHERE id = ?1 AND status <> 'review'", b.transaction.id),
      };
    },
  },
  {
    name: "review rejection of a burn",
    requires: "post /admin/v1/reviews/{transaction_id}",
    middle: "transfers", // after the release movements, before the status change and the audit entry
    status: 200,
    prepare: setReviewRules,
    async scenario() {
      const m = await enrol(reviewed);
      expectOk(await earn(reviewed, m.ref, 100));
      expectOk(await earn(reviewed, m.ref, 100));
      const b = expectOk(await burn(reviewed, m.ref, 150));
      expect(b.transaction.status).toBe("review");
      return {
        send: operatorPost(`/reviews/${b.transaction.id}`, { decision: "reject" }),
        observe: () => balanceOf(reviewed, m.ref),
        applied: () =>
          count("SELECT COUNT(DISTINCT at) AS n FROM lot_movements WHERE txn_id = ?1 AND kind = 'release'", b.transaction.id),
      };
    },
  },
  // Found by this test while settlement was being written: after a fault in the report batch,
  // the retry with the same period_end answered 409 settlement_closed instead of finishing the
  // claimed period (closedThrough() counts the claim, and that branch of POST /settlements/close
  // only looked for a stored report). src/settlement/close.ts (operatorClose) now finalizes the claimed period.
  {
    name: "settlement close",
    requires: "post /admin/v1/settlements/close",
    middle: "settlement_positions", // after the report and the statements, before the funding credit and the audit entry
    status: 200,
    prepare: settleClockAtNoon,
    // The period is claimed (settlement_periods) in its own statement before the report batch;
    // "a claimed period without a report (a close that died midway) is finished by the next
    // close, with the same content" (src/settlement/close.ts). Everything else must be untouched.
    partialByDesign: ["settlement_periods"],
    // A close without period_end finishes claimed periods left without a report (and closes no
    // scheduled period: "now" is near local noon).
    heal: async () => {
      const r = await operator("POST", "/settlements/close", {});
      expect(r.status, r.text).toBe(200);
    },
    // Closing the same period_end again answers the same report, byte for byte (no replay header:
    // the close takes no Idempotency-Key, it is idempotent by period).
    again: (first, again) => {
      expect(again.status, again.text).toBe(200);
      expect(again.text).toBe(first.text);
    },
    async scenario() {
      const m = await memberWith(100);
      expectOk(await burn(p, m.ref, 40));
      // Periods are cut on whole seconds: everything above is before the cut.
      await new Promise((resolve) => setTimeout(resolve, 1005 - (Date.now() % 1000)));
      const periodEnd = Math.floor(Date.now() / 1000) * 1000;
      const body = { period_end: new Date(periodEnd).toISOString() };
      return {
        send: async () => fromOperator(await operator("POST", "/settlements/close", body)),
        observe: () => funding(p.id),
        applied: () => count("SELECT COUNT(*) AS n FROM settlement_reports WHERE end_at = ?1", periodEnd),
      };
    },
  },
];

/** Transactions of this partner over 100 points go to review (partner-scoped: no other partner is affected). */
async function setReviewRules(): Promise<void> {
  const rules = [
    {
      id: "fault-review-earn",
      partner_id: reviewed.id,
      action: "review",
      applies_to: "earn",
      subject: "transaction",
      max_points: 100,
    },
    {
      id: "fault-review-burn",
      partner_id: reviewed.id,
      action: "review",
      applies_to: "burn",
      subject: "transaction",
      max_points: 100,
    },
  ];
  const r = await operator("PUT", "/risk-rules", { rules });
  expect(r.status, r.text).toBe(200);
}

/** Daily periods with "now" near local noon (no scheduled boundary inside the test); closes the first, empty, periods. */
async function settleClockAtNoon(): Promise<void> {
  const minutesOfDay = Math.floor((Date.now() % 86_400_000) / 60_000);
  let offset = 12 * 60 - minutesOfDay;
  if (offset <= -720) offset += 1440;
  if (offset > 720) offset -= 1440;
  offset = Math.round(offset / 15) * 15;
  const config = await operator("PUT", "/settlement-config", { period: "daily", utc_offset_minutes: offset });
  expect(config.status, config.text).toBe(200);
  const closed = await operator("POST", "/settlements/close", { period_end: new Date(Date.now()).toISOString() });
  expect(closed.status, closed.text).toBe(200);
}

/** 1: a 5xx in the contract shape. */
function expectServerError(a: Attempt, where: string): void {
  expect(a.status, `${where}: ${a.text}`).toBeGreaterThanOrEqual(500);
  expect(a.json?.error, `${where}: ${a.text}`).toMatchObject({
    type: "api_error",
    code: expect.stringMatching(/^(internal|unavailable)$/),
  });
  expect(typeof a.json.error.message).toBe("string");
}

/** The tables a successful run of the batch writes (request_nonces aside: the signature check's). */
async function probe(kind: BatchKind): Promise<string[]> {
  const s = await kind.scenario();
  const before = await tableDigests(env.DB, { except: ["request_nonces"] });
  const ok = await s.send();
  expect(ok.status, `probe ${kind.name}: ${ok.text}`).toBe(kind.status);
  return changedTables(before, await tableDigests(env.DB, { except: ["request_nonces"] }));
}

/** Faults the batch on `table`, then checks 1–4 of the header. */
async function faultOn(kind: BatchKind, table: string): Promise<void> {
  const where = `${kind.name}, fault on ${table}`;
  const s = await kind.scenario();
  const observed = await s.observe?.();
  const before = await tableDigests(env.DB, { except: ["request_nonces"] });
  // The response store is an UPDATE; a DELETE there is the claim's release, which must work.
  const ops: WriteOp[] = table === "idempotency_keys" ? ["INSERT", "UPDATE"] : ["INSERT", "UPDATE", "DELETE"];
  await armFault(table, ops);
  // The worker logs each 5xx with its stack (src/http/app.ts): expected here, so kept quiet.
  const quiet = vi.spyOn(console, "error").mockImplementation(() => undefined);
  let failed: Attempt;
  try {
    failed = await s.send();
  } finally {
    quiet.mockRestore();
    await disarmFaults();
  }
  // 1.
  expectServerError(failed, where);
  // 2. Nothing partial.
  const changed = changedTables(before, await tableDigests(env.DB, { except: ["request_nonces"] }));
  expect(
    changed.filter((t) => !kind.partialByDesign?.includes(t)),
    `${where}: tables changed`,
  ).toEqual([]);
  expect(await s.applied(), where).toBe(0);
  if (s.observe) expect(await s.observe(), where).toEqual(observed);
  await checkInvariants();
  // 3. The retry succeeds, once.
  const retried = await s.send();
  expect(retried.status, `${where}, retry: ${retried.text}`).toBe(kind.status);
  expect(retried.replayed, `${where}: the retry replayed the failure`).toBe(false);
  expect(await s.applied(), `${where}: applied after the retry`).toBe(1);
  // 4. A further retry replays it (or its natural equivalent), applying nothing.
  if (kind.again === null) return;
  const again = await s.send();
  if (kind.again) {
    kind.again(retried, again);
  } else {
    expect({ status: again.status, replayed: again.replayed, text: again.text }, `${where}: replay`).toEqual({
      status: retried.status,
      replayed: true,
      text: retried.text,
    });
  }
  expect(await s.applied(), `${where}: applied after the replay`).toBe(1);
  await checkInvariants();
}

describe("fault injection: a statement fails in the middle of each write batch", () => {
  for (const kind of KINDS) {
    it(`${kind.name}: nothing partial, then the retry succeeds once and replays`, async (ctx) => {
      if (kind.requires && !routes.has(kind.requires)) {
        ctx.skip(); // that route does not exist (yet)
        return;
      }
      await kind.prepare?.();
      const tables = await probe(kind);
      expect(tables, `${kind.name} writes its middle table`).toContain(kind.middle);
      const failures: string[] = [];
      for (const table of tables) {
        try {
          await faultOn(kind, table);
        } catch (error) {
          await disarmFaults();
          await kind.heal?.();
          failures.push(`fault on ${table}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      expect(failures, `${kind.name} (tables: ${tables.join(", ")})\n${failures.join("\n\n")}`).toEqual([]);
    });
  }
});
