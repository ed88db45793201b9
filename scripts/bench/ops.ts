/**
 * What each operation costs in D1, one request at a time on fresh members: D1 calls, rows read and
 * written and SQL time (the bench worker's D1-* headers: sums over every D1 call of the request,
 * from D1's meta; scripts/bench/worker/meter.ts), and the database bytes it adds: the database
 * size after it (D1-Size-After, meta.size_after) minus the size after the request before it.
 * Requests go one at a time and nothing else writes, so these deltas add up to the database's
 * growth; SQLite grows by 4 KiB pages, so a mean over n operations resolves 4096 / n bytes.
 *
 * The sequence, on `members` members enrolled just before (so their own history is the same at
 * every ledger size), each kind `perMember` times round the members: signed GET /v1/partner,
 * balance reads, earns, copies of the last earn's idempotency record, burns (capture), copies of
 * the last burn's record, then holds each captured right away. A signed GET writes only its
 * request nonce (`jti`, pruned ~15 minutes later), so its bytes are a nonce's; the copies
 * (POST /__bench/copies/idempotency) give an idempotency record's own bytes.
 */
import type { PartnerClient } from "../../packages/partner-sdk/src/index";
import { BURN_POINTS, EARN_AMOUNT } from "./scenarios";
import { type BenchMember, enrol, freshMember, pool } from "./setup";
import { newJti } from "./sign";
import type { CallMeter } from "./worker/meter";

export type OpKind = "whoami" | "balance" | "earn" | "burn" | "hold" | "capture";

export const OP_NAMES: Record<OpKind, string> = {
  whoami: "signed GET /v1/partner",
  balance: "signed balance read",
  earn: "earn",
  burn: "burn (capture: true)",
  hold: "hold",
  capture: "capture",
};

export interface D1Sample {
  status: number;
  calls: number;
  read: number;
  written: number;
  ms: number;
  sizeAfter?: number;
  /** Database bytes added since the request before it (set by the measurement). */
  bytes?: number;
  explain?: CallMeter[];
}

export interface OpStats {
  kind: OpKind;
  /** 2xx responses measured; `failed` the others. */
  count: number;
  failed: number;
  calls: number;
  maxCalls: number;
  read: number;
  written: number;
  maxRead: number;
  maxWritten: number;
  ms: number;
  /** Database bytes added per operation. */
  bytes: number;
  /** Mean rows read by each member's first and by its last operation of this kind (its own history grew meanwhile). */
  firstRead: number;
  lastRead: number;
  samples: D1Sample[];
}

export interface OpsAtSize {
  transactions: number;
  ops: OpStats[];
  /** Bytes one idempotency record adds (copies of an earn's, of a burn's). */
  idempotencyBytes: { earn: number; burn: number };
  /** One run of the scheduled jobs, each job's D1 totals. */
  jobs?: JobCost[];
  /** Bytes per operation from a larger sample of `n`: a signed GET's nonce, an earn, an earn's idempotency record. */
  earnBytes?: { n: number; nonce: number; earn: number; record: number };
}

export interface JobCost {
  name: string;
  calls: number;
  read: number;
  written: number;
  ms: number;
  result: Record<string, number> | string;
}

/** One run of the scheduled handler's jobs (POST /__bench/jobs), metered job by job. */
export async function measureJobs(baseUrl: string): Promise<JobCost[]> {
  const r = await fetch(`${baseUrl}/__bench/jobs`, { method: "POST" });
  if (!r.ok) throw new Error(`POST /__bench/jobs answered ${r.status}: ${(await r.text()).slice(0, 200)}`);
  return ((await r.json()) as { jobs: JobCost[] }).jobs;
}

const header = (r: Response, name: string) => r.headers.get(name);

/** The D1-* headers of a bench worker response. */
export function d1Sample(response: Response): D1Sample {
  const num = (name: string) => Number(header(response, name) ?? Number.NaN);
  const explained = header(response, "D1-Explain");
  const size = header(response, "D1-Size-After");
  return {
    status: response.status,
    calls: num("D1-Calls"),
    read: num("D1-Rows-Read"),
    written: num("D1-Rows-Written"),
    ms: num("D1-Duration-Ms"),
    ...(size === null ? {} : { sizeAfter: Number(size) }),
    ...(explained ? { explain: JSON.parse(Buffer.from(explained, "base64").toString("utf8")) as CallMeter[] } : {}),
  };
}

export async function databaseBytes(baseUrl: string): Promise<number> {
  const r = await fetch(`${baseUrl}/__bench/size`);
  if (!r.ok) throw new Error(`GET /__bench/size answered ${r.status}`);
  const { bytes } = (await r.json()) as { bytes: number | null };
  if (typeof bytes !== "number") throw new Error("D1 reports no size_after");
  return bytes;
}

function stats(kind: OpKind, samples: D1Sample[], members = 1): OpStats {
  const ok = samples.filter((s) => s.status >= 200 && s.status < 300);
  const n = Math.max(ok.length, 1);
  const mean = (f: (s: D1Sample) => number) => ok.reduce((a, s) => a + f(s), 0) / n;
  const meanOf = (part: D1Sample[]) => part.reduce((a, s) => a + s.read, 0) / Math.max(part.length, 1);
  const max = (f: (s: D1Sample) => number) => ok.reduce((a, s) => Math.max(a, f(s)), 0);
  return {
    kind,
    count: ok.length,
    failed: samples.length - ok.length,
    calls: mean((s) => s.calls),
    maxCalls: max((s) => s.calls),
    read: mean((s) => s.read),
    written: mean((s) => s.written),
    maxRead: max((s) => s.read),
    maxWritten: max((s) => s.written),
    ms: mean((s) => s.ms),
    bytes: mean((s) => s.bytes ?? 0),
    firstRead: meanOf(ok.slice(0, members)),
    lastRead: meanOf(ok.slice(-members)),
    samples: ok,
  };
}

async function copyRecord(baseUrl: string, scope: string, key: string, count: number): Promise<Response> {
  const r = await fetch(`${baseUrl}/__bench/copies/idempotency`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ scope, key, count }),
  });
  if (!r.ok) throw new Error(`POST /__bench/copies/idempotency answered ${r.status}: ${(await r.text()).slice(0, 200)}`);
  await r.arrayBuffer();
  return r;
}

export interface OpsOptions {
  members: number;
  perMember: number;
  explain: boolean;
  /** Signed GETs, earns and record copies of the larger bytes sample (0: none). */
  bytesOps: number;
}

export async function measureOps(
  baseUrl: string,
  client: PartnerClient,
  currency: string,
  options: OpsOptions,
): Promise<Omit<OpsAtSize, "transactions">> {
  const members: BenchMember[] = Array.from({ length: options.members }, () => freshMember("ops"));
  await pool(members, 8, (m) => enrol(client, m));
  const headers: Record<string, string> = options.explain ? { "Bench-Explain": "1" } : {};
  const n = options.members * options.perMember;
  let size = 0;
  /** The request's D1 figures, and the bytes it added since the request before it. */
  const take = (response: Response): D1Sample => {
    const s = d1Sample(response);
    const after = s.sizeAfter ?? size;
    s.bytes = after - size;
    size = after;
    return s;
  };
  const round = async (op: (m: BenchMember) => Promise<D1Sample[]>): Promise<D1Sample[][]> => {
    const samples: D1Sample[][] = [];
    for (let k = 0; k < options.perMember; k++) for (const m of members) samples.push(await op(m));
    return samples;
  };
  const one = (op: (m: BenchMember) => Promise<Response>) => async (m: BenchMember) => [take(await op(m))];
  let lastKey = "";
  const keyed = () => {
    lastKey = `bench_${newJti()}`;
    return { idempotencyKey: lastKey, headers };
  };
  const copies = async () => take(await copyRecord(baseUrl, client.partnerId, lastKey, n)).bytes ?? 0;

  // The catalogue is loaded now, not by the first measured request.
  await client.get("/v1/partner");
  size = await databaseBytes(baseUrl);
  const whoami = await round(one(async () => (await client.get("/v1/partner", { headers })).response));
  const balance = await round(one(async (m) => (await client.get(`/v1/members/${m.ref}/balance`, { headers })).response));
  const earnBody = (m: BenchMember) => ({
    member_ref: m.ref,
    amount: { value: EARN_AMOUNT, unit: currency },
    context: m.context,
  });
  const earn = await round(one(async (m) => (await client.post("/v1/earn", earnBody(m), keyed())).response));
  const earnRecord = (await copies()) / n;
  const burnBody = (m: BenchMember, capture: boolean) => ({
    member_ref: m.ref,
    points: BURN_POINTS,
    capture,
    context: m.context,
  });
  const burn = await round(one(async (m) => (await client.post("/v1/burns", burnBody(m, true), keyed())).response));
  const burnRecord = (await copies()) / n;
  const pairs = await round(async (m) => {
    const h = await client.post<{ transaction: { id: string } }>("/v1/burns", burnBody(m, false), keyed());
    const hold = take(h.response);
    if (!h.ok) return [hold];
    return [hold, take((await client.post(`/v1/burns/${h.data.transaction.id}/capture`, {}, keyed())).response)];
  });
  // An earn's bytes from a larger sample, on the same members: SQLite allocates whole pages in a
  // dozen b-trees, so 400 operations still leave about ±100 B of noise from run to run.
  let earnBytes: OpsAtSize["earnBytes"];
  if (options.bytesOps > 0) {
    const many = async (op: (m: BenchMember) => Promise<Response>) => {
      let added = 0;
      for (let i = 0; i < options.bytesOps; i++) added += take(await op(members[i % members.length] as BenchMember)).bytes ?? 0;
      return added / options.bytesOps;
    };
    const nonce = await many(async () => (await client.get("/v1/partner")).response);
    const earned = await many(
      async (m) => (await client.post("/v1/earn", earnBody(m), { idempotencyKey: keyed().idempotencyKey })).response,
    );
    const copied = take(await copyRecord(baseUrl, client.partnerId, lastKey, options.bytesOps)).bytes ?? 0;
    earnBytes = { n: options.bytesOps, nonce, earn: earned, record: copied / options.bytesOps };
  }
  const first = (rows: D1Sample[][]) => rows.map((r) => r[0] as D1Sample);
  return {
    ...(earnBytes ? { earnBytes } : {}),
    ops: [
      stats("whoami", first(whoami), options.members),
      stats("balance", first(balance), options.members),
      stats("earn", first(earn), options.members),
      stats("burn", first(burn), options.members),
      stats("hold", first(pairs), options.members),
      stats(
        "capture",
        pairs.flatMap((p) => p.slice(1)),
        options.members,
      ),
    ],
    idempotencyBytes: { earn: earnRecord, burn: burnRecord },
  };
}

/** Rows of earns then burns on one fresh member (the risk rules' cost: the caller sets the rules). */
export async function measureEarnBurn(
  client: PartnerClient,
  currency: string,
  counts: { earns: number; burns: number },
): Promise<{ earn: OpStats; burn: OpStats }> {
  const m = freshMember("risk");
  await enrol(client, m);
  const earns: D1Sample[] = [];
  const burns: D1Sample[] = [];
  for (let i = 0; i < counts.earns; i++) {
    const body = { member_ref: m.ref, amount: { value: EARN_AMOUNT, unit: currency }, context: m.context };
    earns.push(d1Sample((await client.post("/v1/earn", body)).response));
  }
  for (let i = 0; i < counts.burns; i++) {
    burns.push(
      d1Sample((await client.post("/v1/burns", { member_ref: m.ref, points: BURN_POINTS, context: m.context })).response),
    );
  }
  return { earn: stats("earn", earns), burn: stats("burn", burns) };
}
