import { responseText } from "../../src/http/responses";
import { ledgerInvariantViolations, type SqlQueryable } from "../../src/ledger/invariants";
import { type Answer, describeAnswer, fromClientResult, networkFailure, operatorRequest } from "./api";
import type { BankReport, BankTest } from "./bank-test";
import { fundingChecks } from "./funding";
import { balanceOf, type Member, modelHeld, modelPending, modelTotal } from "./model";
import { formatMicros, signedMicros } from "./util";

/**
 * The bank test's final checks, after the workload has stopped, every lost outcome has been
 * resolved and the short holds have expired: from the API (balances, the settlement report)
 * and from the database (invariants, transactions, idempotency records, links, funding).
 */

/** The summary's order; checks made during the run come first. */
const ORDER = [
  "no 5xx or transport failure",
  "allowed outcomes",
  "model-predicted outcomes (solo operations)",
  "concurrent duplicates apply once",
  "one key, one answer",
  "sequential redelivery replays",
  "replayed signatures are refused",
  "concurrent enrolment creates one member",
  "earned points = asked, or amount × rate × campaigns floored",
  "no burn makes available negative",
  "a hold is decided once",
  "capture/void race: exactly one wins",
  "reversals never exceed the original",
  "balance = model (mid-run)",
  "expired holds show voided",
  "invariants 1-4 of economics.md (DB, shared SQL)",
  "successes in the ledger exactly once",
  "failures left nothing",
  "no transaction nobody observed",
  "idempotency records = observed answers",
  "transaction states = model",
  "member links",
  "balances = model (API)",
  "negative available only from earn-reversal debt",
  "funding follows payable (DB)",
  "settlement report = ledger",
];

async function rows<T>(db: SqlQueryable, sql: string, ...binds: unknown[]): Promise<T[]> {
  return (
    await db
      .prepare(sql)
      .bind(...binds)
      .all<T>()
  ).results;
}

export async function runChecks(bt: BankTest): Promise<BankReport["checks"]> {
  const notes = new Map<string, string>();
  const db = await bt.opts.openDb();
  const now = Date.now();

  // Invariants 1-4, the same SQL the tests run after every write.
  const invariants = await ledgerInvariantViolations(db, now);
  bt.tally("invariants 1-4 of economics.md (DB, shared SQL)", 9);
  for (const v of invariants) {
    bt.violation(
      "invariants 1-4 of economics.md (DB, shared SQL)",
      `invariant ${v.invariant}: ${v.check}: ${JSON.stringify(v.detail)}`,
    );
  }

  await ledgerChecks(bt, db);
  await idempotencyChecks(bt, db);
  await linkChecks(bt, db);
  const debtors = new Set(
    (await rows<{ member_id: string }>(db, "SELECT DISTINCT member_id FROM debts")).map((r) => r.member_id),
  );
  await balanceChecks(bt, db, debtors, notes);
  await settlementChecks(bt, db, notes);
  await fundingChecks(bt, db);

  const names = [...ORDER, ...[...bt.tallies.keys(), ...bt.violations.map((v) => v.check)].filter((n) => !ORDER.includes(n))];
  const seen = new Set<string>();
  const out: BankReport["checks"] = [];
  for (const name of names) {
    if (seen.has(name)) continue;
    seen.add(name);
    const checked = bt.tallies.get(name) ?? 0;
    const violations = bt.violations.filter((v) => v.check === name).length;
    const note = notes.get(name);
    if (checked === 0 && violations === 0 && !note) continue;
    out.push({ name, checked, violations, ...(note ? { note } : {}) });
  }
  return out;
}

interface TxnRow {
  id: string;
  type: string;
  status: string;
  partner_id: string;
  member_id: string;
  points: number;
  captured_points: number | null;
  order_ref: string | null;
  reason: string | null;
  original_id: string | null;
  direction: number;
}

/**
 * Every success the clients saw is in `transactions` exactly once, as the model says it ends;
 * every failure left nothing (no transaction carries its order_ref / reason); and nothing is
 * there that no client saw succeed.
 */
async function ledgerChecks(bt: BankTest, db: SqlQueryable): Promise<void> {
  const now = Date.now();
  const memberIds = new Set(bt.members.map((m) => m.id));
  const all = await rows<TxnRow>(
    db,
    `SELECT id, type, status, partner_id, member_id, points, captured_points, order_ref, reason, original_id, direction
       FROM transactions`,
  );
  const byId = new Map(all.map((t) => [t.id, t]));
  const byMarker = new Map<string, TxnRow[]>();
  const prefix = `${bt.runId}-`;
  for (const t of all) {
    for (const [column, value] of [
      ["order_ref", t.order_ref],
      ["reason", t.reason],
    ] as const) {
      if (value?.startsWith(prefix)) {
        const k = `${t.partner_id}\n${column}\n${value}`;
        byMarker.set(k, [...(byMarker.get(k) ?? []), t]);
      }
    }
  }
  const markerKey = (m: { partnerId: string; column: string; value: string }) => `${m.partnerId}\n${m.column}\n${m.value}`;

  // Successes present exactly once; failures absent.
  for (const g of bt.groups) {
    if (!g.final || !g.marker) continue;
    const found = byMarker.get(markerKey(g.marker)) ?? [];
    if (g.final.ok) {
      bt.tally("successes in the ledger exactly once");
      const id = g.final.json?.transaction?.id;
      if (found.length !== 1 || found[0]?.id !== id) {
        bt.violation(
          "successes in the ledger exactly once",
          `${g.kind} key ${g.key} answered ${id}: transactions with ${g.marker.column} ${g.marker.value}: ${found.map((t) => t.id).join(", ") || "none"}`,
        );
      }
    } else {
      bt.tally("failures left nothing");
      if (found.length > 0) {
        bt.violation(
          "failures left nothing",
          `${g.kind} key ${g.key} answered ${describeAnswer(g.final)}, yet ${found.map((t) => `${t.id} (${t.type} ${t.status})`).join(", ")} carries its ${g.marker.column}`,
        );
      }
    }
  }
  for (const m of bt.absentMarkers) {
    bt.tally("failures left nothing");
    const found = byMarker.get(markerKey(m)) ?? [];
    if (found.length > 0)
      bt.violation(
        "failures left nothing",
        `a refused request's ${m.column} ${m.value} is on ${found.map((t) => t.id).join(", ")}`,
      );
  }

  // The model's transactions, as they must end.
  const expected = new Map<string, (t: TxnRow) => string | undefined>();
  const want = (cond: boolean, what: string) => (cond ? undefined : what);
  for (const e of bt.earns) {
    expected.set(e.id, (t) =>
      want(
        t.type === "earn" &&
          t.partner_id === e.partner.id &&
          t.member_id === e.member.id &&
          t.points === e.points &&
          t.status === e.status,
        `earn of ${e.points} at ${e.partner.id}, ${e.status}`,
      ),
    );
  }
  for (const m of bt.members) {
    for (const b of m.burns) {
      // An undecided hold is held until its expiry, voided after (by a batch or the job); near it, either.
      const expiry = (b.expiresLower ?? 0) + 1000;
      const undecided = b.hold && b.captured === undefined && !b.voided;
      const status = !b.hold
        ? "posted"
        : b.captured !== undefined
          ? "posted"
          : b.voided || expiry < now - 5000
            ? "voided"
            : "held";
      const statusOk = (s: string) =>
        s === status || (undecided && Math.abs(expiry - now) <= 5000 && (s === "held" || s === "voided"));
      expected.set(b.id, (t) =>
        want(
          t.type === "burn" &&
            t.partner_id === b.partner.id &&
            t.member_id === m.id &&
            t.points === b.points &&
            statusOk(t.status) &&
            (b.captured === undefined || t.captured_points === b.captured),
          `burn of ${b.points} at ${b.partner.id}, ${status}${b.captured !== undefined ? ` (captured ${b.captured})` : ""}`,
        ),
      );
    }
  }
  for (const r of bt.reversals) {
    expected.set(r.id, (t) =>
      want(
        t.type === "reversal" && t.original_id === r.originalId && t.points === r.points && t.partner_id === r.partnerId,
        `reversal of ${r.points} of ${r.originalId}`,
      ),
    );
  }
  for (const a of bt.adjustments) {
    expected.set(a.id, (t) =>
      want(
        t.type === "adjustment" &&
          t.points === Math.abs(a.points) &&
          t.direction === Math.sign(a.points) &&
          t.member_id === a.member.id,
        `adjustment of ${a.points}`,
      ),
    );
  }
  for (const [id, check] of expected) {
    bt.tally("transaction states = model");
    const t = byId.get(id);
    const problem = t ? check(t) : "a transaction a client saw succeed";
    if (problem !== undefined) {
      bt.violation(
        "transaction states = model",
        `${id}: expected ${problem}; database: ${t ? `${t.type} ${t.status} ${t.points} pts (captured ${t.captured_points}) at ${t.partner_id}` : "missing"}`,
      );
    }
  }
  for (const t of all) {
    if (!memberIds.has(t.member_id) || t.type === "expiry") continue;
    bt.tally("no transaction nobody observed");
    if (!expected.has(t.id)) {
      bt.violation(
        "no transaction nobody observed",
        `${t.id}: ${t.type} ${t.status} ${t.points} pts at ${t.partner_id} (order_ref ${t.order_ref}, reason ${t.reason}): no client saw it succeed`,
      );
    }
  }
}

/** Each Idempotency-Key has one stored record, whose status and bytes are what its clients saw. */
async function idempotencyChecks(bt: BankTest, db: SqlQueryable): Promise<void> {
  const stored = await rows<{
    scope: string;
    key: string;
    response_status: number;
    format: number | null;
    response_body: string;
  }>(db, "SELECT scope, key, response_status, format, response_body FROM idempotency_keys WHERE key LIKE ?1", `k-${bt.runId}-%`);
  // A write's record holds the values its answer was rendered from: render them as the server does.
  const byKey = new Map(stored.map((r) => [`${r.scope}\n${r.key}`, { ...r, response_body: responseText(r) }]));
  for (const g of bt.groups) {
    if (!g.final) continue;
    bt.tally("idempotency records = observed answers");
    const r = byKey.get(`${g.scope}\n${g.key}`);
    if (!r || r.response_status !== g.final.status || r.response_body !== g.final.text) {
      bt.violation(
        "idempotency records = observed answers",
        `${g.kind} ${g.scope} key ${g.key}: observed ${g.final.status}, stored ${r ? `${r.response_status}${r.response_body === g.final.text ? "" : " with other bytes"}` : "nothing"}`,
      );
    }
    if (g.createsTxn && g.final.ok && typeof g.final.json?.transaction?.id !== "string") {
      bt.violation("idempotency records = observed answers", `${g.kind} key ${g.key}: a success without a transaction id`);
    }
  }
}

/** Every ref the model linked maps to its member; refused links left no row. */
async function linkChecks(bt: BankTest, db: SqlQueryable): Promise<void> {
  const links = await rows<{ partner_id: string; member_ref: string; member_id: string }>(
    db,
    "SELECT partner_id, member_ref, member_id FROM member_links WHERE member_ref LIKE ?1",
    `${bt.runId}-%`,
  );
  const byRef = new Map(links.map((l) => [`${l.partner_id}\n${l.member_ref}`, l.member_id]));
  let modelLinks = 0;
  for (const m of bt.members) {
    for (const [partnerId, ref] of m.refs) {
      modelLinks++;
      bt.tally("member links");
      const id = byRef.get(`${partnerId}\n${ref}`);
      if (id !== m.id) bt.violation("member links", `${partnerId}/${ref}: linked to ${id ?? "nothing"}, expected ${m.id}`);
    }
  }
  for (const l of bt.absentLinks) {
    bt.tally("member links");
    if (byRef.has(`${l.partnerId}\n${l.ref}`)) bt.violation("member links", `${l.partnerId}/${l.ref}: a refused link exists`);
  }
  const linkedMembers = new Set(links.map((l) => l.member_id));
  for (const id of linkedMembers) {
    if (!bt.members.some((m) => m.id === id))
      bt.violation("member links", `member ${id} is linked but no client saw it enrolled`);
  }
  if (links.length !== modelLinks)
    bt.violation("member links", `${links.length} links in the database, ${modelLinks} seen by clients`);
}

/**
 * Every member's balance from the API against the model: available + pending + held exactly (no
 * lot expires during a run); held exactly (holds within 1.5 s of their expiry excepted); pending
 * and available exactly for members who never had debt. With debt, a pending earn repays it out
 * of its lot, in an order the clients cannot see, so only the total is exact there.
 */
async function balanceChecks(bt: BankTest, db: SqlQueryable, debtors: Set<string>, notes: Map<string, string>): Promise<void> {
  const debt = new Map(
    (await rows<{ id: string; debt_points: number }>(db, "SELECT id, debt_points FROM members WHERE debt_points > 0")).map(
      (r) => [r.id, r.debt_points],
    ),
  );
  let splitSkipped = 0;
  let heldSkipped = 0;
  let negative = 0;
  await bt.each(bt.members, async (m: Member) => {
    const [partnerId, ref] = [...m.refs.entries()][0]!;
    const partner = bt.coalition.partners.find((p) => p.id === partnerId)!;
    const started = Date.now();
    let a: Answer;
    try {
      a = fromClientResult(await partner.client.get(`/v1/members/${ref}/balance`), Date.now() - started);
    } catch (error) {
      a = networkFailure(error, Date.now() - started);
    }
    bt.observations.push({
      kind: "final_balance",
      request: "GET /v1/members/{ref}/balance",
      outcome: String(a.status),
      latencyMs: a.latencyMs,
      replayed: false,
    });
    bt.tally("balances = model (API)");
    const b = balanceOf(a);
    if (!b || a.json?.member_id !== m.id) {
      bt.violation("balances = model (API)", `${m.id}: ${describeAnswer(a)}`);
      return;
    }
    const total = modelTotal(m);
    const held = modelHeld(m, Date.now());
    const problems: string[] = [];
    if (b.available + b.pending + b.held !== total)
      problems.push(`available+pending+held ${b.available + b.pending + b.held} ≠ model ${total}`);
    if (held === undefined) heldSkipped++;
    else if (b.held !== held) problems.push(`held ${b.held} ≠ model ${held}`);
    if (debtors.has(m.id)) splitSkipped++;
    else if (held !== undefined) {
      const pending = modelPending(m);
      if (b.pending !== pending) problems.push(`pending ${b.pending} ≠ model ${pending}`);
      if (b.available !== total - held - pending) problems.push(`available ${b.available} ≠ model ${total - held - pending}`);
    }
    if (problems.length > 0)
      bt.violation("balances = model (API)", `${m.id} (${ref}): ${problems.join("; ")}; API ${JSON.stringify(b)}`);

    // No burn drives available below zero: only an earn reversal's debt may.
    if (b.available < 0) {
      negative++;
      bt.tally("negative available only from earn-reversal debt");
      const d = debt.get(m.id) ?? 0;
      if (m.earnReversals === 0 || d <= 0 || b.available < -d) {
        bt.violation(
          "negative available only from earn-reversal debt",
          `${m.id}: available ${b.available}, debt ${d}, earn reversals seen ${m.earnReversals}`,
        );
      }
    }
  });
  // Every debt was created by a reversal of an earn.
  const debts = await rows<{ id: number; created_by_txn: string; type: string | null; original_type: string | null }>(
    db,
    `SELECT d.id, d.created_by_txn, r.type, e.type AS original_type FROM debts d
       LEFT JOIN transactions r ON r.id = d.created_by_txn LEFT JOIN transactions e ON e.id = r.original_id`,
  );
  for (const d of debts) {
    bt.tally("negative available only from earn-reversal debt");
    if (d.type !== "reversal" || d.original_type !== "earn") {
      bt.violation(
        "negative available only from earn-reversal debt",
        `debt ${d.id} created by ${d.created_by_txn} (${d.type} of ${d.original_type})`,
      );
    }
  }
  notes.set(
    "balances = model (API)",
    `total exact for all; held, pending, available exact for ${bt.members.length - splitSkipped} members without debt` +
      (heldSkipped ? `, held not compared for ${heldSkipped} with a hold at its expiry` : ""),
  );
  notes.set("negative available only from earn-reversal debt", `${negative} members end below zero, ${debts.length} debts`);
}

type SettledKind = "issued" | "issue_reversed" | "taken_back" | "returned" | "debt_repaid" | "redeemed" | "redeem_reversed";

interface SettledRow {
  kind: SettledKind;
  partner: string;
  points: number;
  micros: number;
  /** When the ledger booked it (the batch clock). */
  t: number;
  /** When settlement counts it (its settlement entry), null when it has none. */
  at: number | null;
  entry_points: number | null;
}

/**
 * Every ledger row that moves settlement money, with the settlement time its entry carries: the
 * batch clock, or the end of a period closed while the batch was in flight (a batch whose clock
 * reading falls in a period closed meanwhile settles in the next one). Values come from the
 * ledger (lots, lot movements, debt repayments, reversals), not from the entries.
 */
const SETTLED_SQL = [
  `SELECT 'issued' AS kind, l.issuer_id AS partner, l.points AS points, l.points * l.issue_price_micros AS micros,
          l.created_at AS t, 'lot:' || l.id AS entry
     FROM lots l JOIN transactions x ON x.id = l.txn_id
    WHERE x.type = 'earn'`,
  `SELECT 'issue_reversed' AS kind, o.partner_id AS partner, r.points AS points, 0 AS micros, r.booked_at AS t,
          'reversal:' || r.id AS entry
     FROM transactions r JOIN transactions o ON o.id = r.original_id
    WHERE r.type = 'reversal' AND o.type = 'earn'`,
  `SELECT 'taken_back' AS kind, mv.issuer_id AS partner, mv.points AS points, mv.points * mv.issue_price_micros AS micros,
          mv.at AS t, 'movement:' || mv.txn_id || ':' || mv.n AS entry
     FROM lot_movements mv WHERE mv.kind IN ('take_back', 'unexpire')`,
  `SELECT 'returned' AS kind, o.partner_id AS partner, -dr.points AS points, -dr.points * o.issue_price_micros AS micros,
          dr.at AS t, 'returned:' || dr.id AS entry
     FROM debt_repayments dr JOIN transactions r ON r.id = dr.txn_id JOIN transactions o ON o.id = r.original_id
    WHERE dr.points < 0 AND r.type = 'reversal'`,
  `SELECT 'debt_repaid' AS kind, d.issuer_id AS partner, dr.points AS points, dr.points * d.issue_price_micros AS micros,
          dr.at AS t, 'repayment:' || dr.id AS entry
     FROM debt_repayments dr JOIN debts d ON d.id = dr.debt_id`,
  `SELECT CASE mv.kind WHEN 'restore' THEN 'redeem_reversed' ELSE 'redeemed' END AS kind, mv.redeemer_id AS partner,
          mv.points AS points, mv.points * COALESCE(mv.redeem_price_micros, 0) AS micros, mv.at AS t, 'movement:' || mv.txn_id || ':' || mv.n AS entry
     FROM lot_movements mv WHERE mv.kind IN ('consume', 'capture', 'restore')`,
];

/** Every settlement entry, by the ledger row it settles ("lot:12", "movement:txn_…:2", "reversal:txn_…"). */
const ENTRIES_SQL = `SELECT CASE src WHEN 'reversal' THEN 'reversal:' || txn_id WHEN 'movement' THEN 'movement:' || txn_id || ':' || src_id
  ELSE src || ':' || src_id END AS entry, at, points
  FROM settlement_entries`;

/**
 * Every closed settlement report (the one closed in the middle of the run, and any the scheduled
 * job closed) against the ledger: per partner, the points issued, issue-reversed, redeemed and
 * redeem-reversed, and the exact payable and receivable, summed from the ledger's own rows over
 * the period. Also: every such ledger row has its settlement entry, with the same points, at its
 * booking time or moved forward to the end of a closed period.
 */
async function settlementChecks(bt: BankTest, db: SqlQueryable, notes: Map<string, string>): Promise<void> {
  const name = "settlement report = ledger";
  if (bt.settlementNote.startsWith("skipped")) {
    notes.set(name, "skipped: no settlement endpoint");
    return;
  }
  // Every closed report: the one closed mid-run, and any the scheduled job closed.
  const ids = new Set(bt.settlementReports.map((r) => r.id));
  let cursor: string | null = null;
  for (let page = 0; page < 20; page++) {
    const list = await operatorRequest(
      bt.t,
      "GET",
      `/settlements?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
    );
    if (!list.ok) {
      bt.violation(name, `GET /admin/v1/settlements: ${describeAnswer(list)}`);
      break;
    }
    for (const r of (list.json?.data ?? []) as any[]) if (typeof r?.id === "string") ids.add(r.id);
    cursor = list.json?.next_cursor ?? null;
    if (!cursor) break;
  }
  if (ids.size === 0) {
    notes.set(name, bt.settlementNote);
    return;
  }
  const reports: { id: string; start: number; end: number; body: any }[] = [];
  for (const id of ids) {
    const a = await operatorRequest(bt.t, "GET", `/settlements/${id}`);
    const start = Date.parse(a.json?.period?.start ?? "");
    const end = Date.parse(a.json?.period?.end ?? "");
    if (!a.ok || Number.isNaN(start) || Number.isNaN(end)) {
      bt.violation(name, `GET /admin/v1/settlements/${id}: ${describeAnswer(a)}`);
      continue;
    }
    reports.push({ id, start, end, body: a.json });
  }
  const closedEnds = new Set(reports.map((r) => r.end));

  const entries = new Map((await rows<{ entry: string; at: number; points: number }>(db, ENTRIES_SQL)).map((e) => [e.entry, e]));
  const settled: SettledRow[] = [];
  for (const sql of SETTLED_SQL) {
    for (const r of await rows<Omit<SettledRow, "at" | "entry_points"> & { entry: string }>(db, sql)) {
      const e = entries.get(r.entry);
      settled.push({ ...r, at: e?.at ?? null, entry_points: e?.points ?? null });
    }
  }
  const ours = new Set(bt.coalition.partners.map((p) => p.id));
  let moved = 0;
  for (const r of settled) {
    if (!ours.has(r.partner)) continue;
    bt.tally(name);
    if (r.at === null || r.entry_points !== r.points) {
      bt.violation(
        name,
        `a ${r.kind} of ${r.points} points at ${r.partner} (${rfc(r.t)}) has ${r.at === null ? "no settlement entry" : `an entry of ${r.entry_points} points`}`,
      );
    } else if (r.at !== r.t) {
      moved++;
      if (r.at < r.t || !closedEnds.has(r.at)) {
        bt.violation(
          name,
          `a ${r.kind} of ${r.points} points at ${r.partner} booked ${rfc(r.t)} settles at ${rfc(r.at)}, not at its booking nor at the end of a closed period`,
        );
      }
    }
  }

  for (const report of reports) {
    const statements: any[] = Array.isArray(report.body?.statements) ? report.body.statements : [];
    for (const p of bt.coalition.partners) {
      const sum = { issued: 0, issue_reversed: 0, redeemed: 0, redeem_reversed: 0, payable: 0, receivable: 0 };
      for (const r of settled) {
        if (r.partner !== p.id || r.at === null || r.at < report.start || r.at >= report.end) continue;
        if (r.kind === "issued" || r.kind === "issue_reversed" || r.kind === "redeemed" || r.kind === "redeem_reversed")
          sum[r.kind] += r.points;
        if (r.kind === "issued") sum.payable += r.micros;
        if (r.kind === "taken_back" || r.kind === "returned" || r.kind === "debt_repaid") sum.payable -= r.micros;
        if (r.kind === "redeemed") sum.receivable += r.micros;
        if (r.kind === "redeem_reversed") sum.receivable -= r.micros;
      }
      const st = statements.find((x) => x?.partner_id === p.id);
      const active = sum.issued + sum.issue_reversed + sum.redeemed + sum.redeem_reversed !== 0 || sum.payable !== 0;
      if (!st) {
        if (active) bt.violation(name, `${report.id}: no statement for ${p.id}, which has ${JSON.stringify(sum)} in the period`);
        continue;
      }
      const got = {
        issued: st.points?.issued,
        issue_reversed: st.points?.issue_reversed,
        redeemed: st.points?.redeemed,
        redeem_reversed: st.points?.redeem_reversed,
        payable: signedMicros(st.exact?.payable),
        receivable: signedMicros(st.exact?.receivable),
      };
      const wrong = (Object.keys(sum) as (keyof typeof sum)[]).filter((k) => got[k] !== sum[k]);
      if (wrong.length > 0) {
        bt.violation(
          name,
          `${report.id} ${p.id}: ${wrong.map((k) => `${k} ${got[k]} ≠ ledger ${k === "payable" || k === "receivable" ? formatMicros(sum[k]) : sum[k]}`).join("; ")}`,
        );
      }
    }
  }
  notes.set(
    name,
    `${reports.length} closed report(s); every settled ledger row has its entry` +
      (moved ? `, ${moved} moved past a close while in flight` : ""),
  );
}

function rfc(ms: number): string {
  return new Date(ms).toISOString();
}
