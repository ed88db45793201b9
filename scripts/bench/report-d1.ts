/** The report's D1 part: per-operation calls, rows, SQL time and bytes, budgets, capacity, rarer paths, risk, explain. */
import { OP_NAMES, type OpKind, type OpStats, type OpsAtSize } from "./ops";
import type { PathCalls } from "./paths";
import { int, ratio, rows1, table } from "./table";

export interface RiskRows {
  transactions: number;
  none: { earn: OpStats; burn: OpStats };
  rules: { earn: OpStats; burn: OpStats };
}

/** The issue's budgets (issue 10, "Half the rows" and "Bytes per transaction"). */
const BUDGET = { earnWritten: 12, burnWritten: 13, burnRead: 100, earnBytes: 1200 } as const;
/** D1's cap on one database, in bytes (10 GB). */
export const D1_MAX_BYTES = 10e9;
const RECORD_DAYS = 30;
const NONCE_SECONDS = 900;

const kb = (bytes: number) => (Number.isFinite(bytes) ? `${int(bytes)} B` : "-");
const op = (at: OpsAtSize | undefined, kind: OpKind) => at?.ops.find((o) => o.kind === kind);

/**
 * Bytes one earn leaves for good (its nonce deducted), its idempotency record, its ledger rows:
 * from the larger bytes sample when there is one, else from the per-operation sequence.
 */
export function earnBytes(at: OpsAtSize) {
  const big = at.earnBytes;
  const nonce = big ? big.nonce : (op(at, "whoami")?.bytes ?? Number.NaN);
  const total = big ? big.earn : (op(at, "earn")?.bytes ?? Number.NaN);
  const record = big ? big.record : at.idempotencyBytes.earn;
  const n = big ? big.n : (op(at, "earn")?.count ?? 0);
  return { n, nonce, total, durable: total - nonce, record, ledger: total - nonce - record };
}

function pair(at: OpsAtSize | undefined): OpStats | undefined {
  const h = op(at, "hold");
  const c = op(at, "capture");
  if (!h || !c) return undefined;
  return {
    ...h,
    calls: h.calls + c.calls,
    maxCalls: h.maxCalls + c.maxCalls,
    read: h.read + c.read,
    written: h.written + c.written,
    ms: h.ms + c.ms,
    bytes: h.bytes + c.bytes,
  };
}

export function renderOps(small: OpsAtSize | undefined, large: OpsAtSize | undefined, opsNote: string): string[] {
  const out: string[] = [];
  if (!small) return ["D1 per operation: not measured"];
  const s = int(small.transactions);
  const l = large ? int(large.transactions) : "-";
  out.push(
    `D1 per operation, one request at a time (${opsNote}); sums over every D1 call of the request, from D1's meta;`,
    "bytes: database size (meta.size_after) added per operation, as measured (the request nonce included):",
  );
  const kinds: (OpKind | "pair")[] = ["whoami", "balance", "earn", "burn", "hold", "capture", "pair"];
  const rows = kinds.map((k) => {
    const a = k === "pair" ? pair(small) : op(small, k);
    const b = k === "pair" ? pair(large) : op(large, k);
    return [
      k === "pair" ? "hold + capture (sum)" : OP_NAMES[k],
      a ? `${rows1(a.calls)}${a.maxCalls > Math.round(a.calls) ? ` (max ${a.maxCalls})` : ""}` : "-",
      a ? rows1(a.read) : "-",
      a ? rows1(a.written) : "-",
      b ? rows1(b.read) : "-",
      b ? rows1(b.written) : "-",
      a && b ? `${ratio(b.read, a.read)} / ${ratio(b.written, a.written)}` : "-",
      a && k !== "pair" ? `${rows1(a.firstRead)} → ${rows1(a.lastRead)}` : "-",
      a ? a.ms.toFixed(2) : "-",
      b ? b.ms.toFixed(2) : "-",
      a ? kb(a.bytes) : "-",
      b ? kb(b.bytes) : "-",
    ];
  });
  out.push(
    ...table(
      [
        "operation",
        "D1 calls",
        `read @${s}`,
        `written @${s}`,
        `read @${l}`,
        `written @${l}`,
        "growth r / w",
        "read: member's 1st → last",
        `SQL ms @${s}`,
        `SQL ms @${l}`,
        `bytes @${s}`,
        `bytes @${l}`,
      ],
      rows,
      new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]),
    ),
  );
  out.push(
    "growth: the ratio of the two ledger sizes (read / written); read: member's 1st → last: the mean rows read by each member's",
    `first and last operation of the kind @${s} (its own history grew meanwhile: ${opsNote}).`,
  );
  const failed = [...small.ops, ...(large?.ops ?? [])].filter((o) => o.failed > 0);
  for (const o of failed) out.push(`  ${OP_NAMES[o.kind]}: ${o.failed} responses not 2xx (left out)`);
  out.push(
    "",
    `bytes of one earn (means over n operations on the same members: n signed GETs give the nonce, n earns, n copies of an earn's record):`,
  );
  const sizes = [small, ...(large ? [large] : [])];
  const bytes = sizes.map(earnBytes);
  const burnRecord = sizes.map((a) => a.idempotencyBytes.burn);
  out.push(
    ...table(
      ["", ...sizes.map((a) => `@${int(a.transactions)}`)],
      [
        ["n", ...bytes.map((b) => int(b.n))],
        ["as added (ledger rows + idempotency record + request nonce)", ...bytes.map((b) => kb(b.total))],
        ["request nonce (pruned after ~15 min)", ...bytes.map((b) => kb(b.nonce))],
        ["durable: as added minus the nonce", ...bytes.map((b) => kb(b.durable))],
        ["  of which the idempotency record (kept 30 days)", ...bytes.map((b) => kb(b.record))],
        ["  of which ledger rows (kept for good)", ...bytes.map((b) => kb(b.ledger))],
        ["a burn's idempotency record (n = the burns above)", ...burnRecord.map(kb)],
      ],
      new Set(sizes.map((_, i) => i + 1)),
    ),
  );
  return out;
}

export function renderBudgets(small: OpsAtSize | undefined, large: OpsAtSize | undefined): string[] {
  if (!small) return [];
  const out = ["", "budgets (issue 10), at every ledger size measured:"];
  const sizes = [small, ...(large ? [large] : [])];
  const worst = (kind: OpKind, f: (o: OpStats) => number) =>
    Math.max(...sizes.map((a) => (op(a, kind) ? f(op(a, kind) as OpStats) : Number.NaN)));
  const line = (what: string, value: number, limit: number, unit = "") =>
    out.push(`  ${value <= limit ? "met    " : "NOT met"}  ${what}: ${rows1(value)}${unit} (budget ≤ ${int(limit)}${unit})`);
  line(
    "earn rows written",
    worst("earn", (o) => o.written),
    BUDGET.earnWritten,
  );
  line(
    "burn rows written",
    worst("burn", (o) => o.written),
    BUDGET.burnWritten,
  );
  line(
    "burn rows read",
    worst("burn", (o) => o.read),
    BUDGET.burnRead,
  );
  line("earn bytes, durable (nonce deducted)", Math.max(...sizes.map((a) => earnBytes(a).durable)), BUDGET.earnBytes, " B");
  const calls = Math.max(...sizes.flatMap((a) => a.ops.map((o) => o.maxCalls)));
  out.push(`  ${calls <= 1 ? "met    " : "NOT met"}  D1 calls per request on the happy path: at most ${calls} (limit 1)`);
  return out;
}

/** How many earns one 10 GB database holds, from the measured bytes (largest ledger measured). */
export function renderCapacity(at: OpsAtSize | undefined): string[] {
  if (!at) return [];
  const b = earnBytes(at);
  if (!(b.ledger > 0 && b.record > 0)) return ["", "capacity: not computed (bytes not measured)"];
  const days = RECORD_DAYS * 86_400;
  const maxRate = D1_MAX_BYTES / (days * b.record);
  const out = [
    "",
    `capacity of one D1 database (${int(D1_MAX_BYTES)} bytes), with the earn's bytes @${int(at.transactions)}: ledger ${int(b.ledger)} B kept for good,`,
    `idempotency record ${int(b.record)} B kept ${RECORD_DAYS} days, nonce ${int(b.nonce)} B kept ~${NONCE_SECONDS / 60} min:`,
    `  every transaction inside its ${RECORD_DAYS} days (a young database): ${int(D1_MAX_BYTES)} / (${int(b.ledger)} + ${int(b.record)}) = ${int(D1_MAX_BYTES / (b.ledger + b.record))} transactions`,
    `  ledger rows alone (every record pruned): ${int(D1_MAX_BYTES)} / ${int(b.ledger)} = ${int(D1_MAX_BYTES / b.ledger)} transactions`,
    `  ${RECORD_DAYS} days of records alone fill it at ${int(D1_MAX_BYTES)} / (${int(days)} s x ${int(b.record)} B) = ${maxRate.toFixed(1)} writes/s sustained`,
  ];
  for (const rate of [0.1, 1, Math.floor(maxRate / 2)]) {
    const records = rate * days * b.record;
    const nonces = rate * NONCE_SECONDS * b.nonce;
    const left = D1_MAX_BYTES - records - nonces;
    const fullDays = left > 0 ? left / b.ledger / rate / 86_400 : 0;
    const after = fullDays >= 365 ? `${(fullDays / 365).toFixed(1)} years` : `${Math.round(fullDays)} days`;
    out.push(
      `  at ${rate} writes/s for good: (${int(D1_MAX_BYTES)} - ${int(records)} of records - ${int(nonces)} of nonces) / ${int(b.ledger)} = ` +
        `${left > 0 ? int(left / b.ledger) : "0"} transactions, full after ${after}`,
    );
  }
  return out;
}

/** One run of the scheduled jobs at each ledger size (a job's rows should not grow with the ledger either). */
export function renderJobs(small: OpsAtSize | undefined, large: OpsAtSize | undefined): string[] {
  if (!small?.jobs) return [];
  const names = small.jobs.map((j) => j.name);
  const at = (a: OpsAtSize | undefined, name: string) => a?.jobs?.find((j) => j.name === name);
  return [
    "",
    "the scheduled jobs, one run each (POST /__bench/jobs, as the Cron Trigger runs them; nothing was due):",
    ...table(
      [
        "job",
        "D1 calls",
        `read @${int(small.transactions)}`,
        `written @${int(small.transactions)}`,
        `read @${large ? int(large.transactions) : "-"}`,
        `written @${large ? int(large.transactions) : "-"}`,
        "read growth",
      ],
      names.map((name) => {
        const a = at(small, name);
        const b = at(large, name);
        return [
          `${name}${typeof a?.result === "string" ? ` (failed: ${a.result.slice(0, 60)})` : ""}`,
          a ? String(a.calls) : "-",
          a ? int(a.read) : "-",
          a ? int(a.written) : "-",
          b ? int(b.read) : "-",
          b ? int(b.written) : "-",
          a && b ? ratio(b.read, Math.max(a.read, 1)) : "-",
        ];
      }),
      new Set([1, 2, 3, 4, 5, 6]),
    ),
  ];
}

export function renderPaths(paths: PathCalls[] | undefined, error?: string): string[] {
  if (!paths) return ["", `rarer paths: not measured${error ? `: ${error}` : ""}`];
  return [
    "",
    "D1 calls of the rarer paths (one request each, in this order, on a fresh member; D1-Calls header):",
    ...table(
      ["request", "status", "D1 calls", "expected", "read", "written"],
      paths.map((p) => [
        p.path,
        `${p.status}${p.code ? ` ${p.code}` : ""}`,
        String(p.calls),
        p.expected === undefined ? "-" : String(p.expected),
        rows1(p.read),
        rows1(p.written),
      ]),
      new Set([2, 3, 4, 5]),
    ),
    "(rows: of the calls that succeeded; D1 reports no meta for a batch a guard aborted)",
  ];
}

export function renderRisk(risk: RiskRows[], error?: string): string[] {
  if (risk.length === 0) return error ? ["", `rows with the default risk rules: not measured: ${error}`] : [];
  const lines: string[][] = [];
  for (const r of risk) {
    for (const k of ["earn", "burn"] as const) {
      lines.push([
        `${k} (n=${r.rules[k].count})`,
        int(r.transactions),
        rows1(r.none[k].read),
        rows1(r.rules[k].read),
        rows1(r.none[k].written),
        rows1(r.rules[k].written),
      ]);
    }
  }
  return [
    "",
    "the same with the default risk rules (two fresh members, one without rules, one with; the same earns then burns):",
    ...table(
      ["operation", "ledger txns", "read, no rules", "read, default rules", "written, no rules", "written, default rules"],
      lines,
      new Set([1, 2, 3, 4, 5]),
    ),
  ];
}

/** Each statement's mean rows over an operation's samples (BENCH_EXPLAIN=1), in batch order. */
export function renderExplain(at: OpsAtSize | undefined): string[] {
  if (!at?.ops.some((o) => o.samples.some((s) => s.explain))) return [];
  const out = [
    "",
    `per statement (BENCH_EXPLAIN=1), mean rows and SQL ms over the operations @${int(at.transactions)}, in batch order:`,
  ];
  for (const o of at.ops) {
    const byStatement = new Map<string, { sql: string; read: number; written: number; ms: number; n: number }>();
    for (const s of o.samples) {
      s.explain?.forEach((call, ci) => {
        call.statements.forEach((st, si) => {
          const key = `${ci + 1}.${String(si + 1).padStart(2, "0")}`;
          const e = byStatement.get(key) ?? { sql: st.sql, read: 0, written: 0, ms: 0, n: 0 };
          e.read += st.read;
          e.written += st.written;
          e.ms += st.ms;
          e.n++;
          byStatement.set(key, e);
        });
      });
    }
    const n = Math.max(o.samples.length, 1);
    out.push("", `${OP_NAMES[o.kind]} (n=${o.samples.length}):`);
    out.push(
      ...table(
        ["call.stmt", "read", "written", "SQL ms", "statement"],
        [...byStatement.entries()]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([key, e]) => [key, rows1(e.read / n), rows1(e.written / n), (e.ms / n).toFixed(3), e.sql]),
        new Set([1, 2, 3]),
      ),
    );
  }
  return out;
}
