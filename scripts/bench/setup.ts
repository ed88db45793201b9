/**
 * The bench's minimal coalition, through the operator and partner APIs only: one postpaid partner
 * with a credit limit no bench run can reach, its key (made per run), one rate card, and pools of
 * enrolled members (earn and balance reads; burns; holds — the last two funded with one large earn).
 */
import { readFile } from "node:fs/promises";
import type { PartnerCredentials } from "../../packages/partner-sdk/src/index";
import { PartnerClient } from "../../packages/partner-sdk/src/index";
import { type HttpResult, operatorCall } from "../lib/http";
import { newKeyPair } from "../lib/keys";
import { mintOperatorToken } from "../lib/operator-token";
import { WRANGLER_TOML } from "../lib/paths";
import type { BenchServer } from "./server";

export const BENCH_PARTNER = "bench-partner";
/** Issue price 0.010, redeem 0.008 per point; 1 point per currency unit earned, 0.01 per point burned. */
export function benchRateCard(currency: string) {
  return {
    earn: [{ unit: currency, points_per_unit: "1" }],
    burn: [{ unit: currency, value_per_point: "0.01" }],
    issue_price: "0.010",
    redeem_price: "0.008",
    campaigns: [],
  };
}

export interface BenchMember {
  ref: string;
  context: { ip: string; device_id: string };
}

export interface BenchCoalition {
  currency: string;
  credentials: PartnerCredentials;
  client: PartnerClient;
  op: (method: string, path: string, body?: unknown) => Promise<HttpResult>;
  pools: { earn: BenchMember[]; burn: BenchMember[]; hold: BenchMember[] };
}

/** SETTLEMENT_CURRENCY from wrangler.toml's [vars]. */
async function settlementCurrency(): Promise<string> {
  const toml = await readFile(WRANGLER_TOML, "utf8");
  return /^\s*SETTLEMENT_CURRENCY\s*=\s*"([A-Z0-9]+)"/m.exec(toml)?.[1] ?? "CNY";
}

export function describe(r: { status: number; text: string; json?: any }): string {
  const e = r.json?.error;
  return e ? `${r.status} ${e.code}: ${e.message}` : `${r.status} ${r.text.slice(0, 200)}`;
}

let memberCounter = 0;
/** A member no earlier run or pool used: a distinct ref, IP and device (no risk rule ties them together). */
export function freshMember(prefix: string): BenchMember {
  const n = memberCounter++;
  const run = Date.now().toString(36);
  return {
    ref: `${prefix}-${run}-${n}`,
    context: { ip: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`, device_id: `bench-dev-${run}-${n}` },
  };
}

/** Runs `task` over `items`, at most `concurrency` at a time. */
export async function pool<T>(items: readonly T[], concurrency: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

export async function enrol(client: PartnerClient, member: BenchMember): Promise<void> {
  const r = await client.put(`/v1/members/${member.ref}`, { context: member.context });
  if (!r.ok) throw new Error(`enrolling ${member.ref} failed: ${r.status} ${r.error.code}: ${r.error.message}`);
}

export async function setupCoalition(
  server: BenchServer,
  options: { poolSize: number; fundPoints: number; log: (m: string) => void },
): Promise<BenchCoalition> {
  const currency = await settlementCurrency();
  const op = async (method: string, path: string, body?: unknown) =>
    operatorCall(
      server.baseUrl,
      await mintOperatorToken(server.keys.operator, { sub: "npm-bench", scope: "admin" }),
      method,
      `/admin/v1${path}`,
      body,
    );
  const must = async (what: string, r: Promise<HttpResult>, ok = [200, 201]) => {
    const result = await r;
    if (!ok.includes(result.status)) throw new Error(`${what} failed: ${describe(result)}`);
    return result;
  };

  await must(
    `creating partner ${BENCH_PARTNER}`,
    op("POST", "/partners", {
      id: BENCH_PARTNER,
      name: "Bench Partner",
      // Postpaid with a limit far above anything a run issues: funding never refuses a bench earn.
      funding: { mode: "postpaid", credit_limit: { value: "1000000000.00", unit: currency } },
      pending_days: 0,
      hold_ttl_seconds: 3600,
    }),
  );
  const key = await newKeyPair(BENCH_PARTNER);
  await must(
    "registering the bench key",
    op("POST", `/partners/${BENCH_PARTNER}/keys`, {
      kid: key.kid,
      public_jwk: { kty: key.public_jwk.kty, crv: key.public_jwk.crv, x: key.public_jwk.x },
    }),
  );
  await must("creating the rate card", op("POST", `/partners/${BENCH_PARTNER}/rate-cards`, benchRateCard(currency)));
  const credentials: PartnerCredentials = { partnerId: BENCH_PARTNER, kid: key.kid, alg: "EdDSA", privateJwk: key.private_jwk };
  const client = new PartnerClient({ baseUrl: server.baseUrl, credentials, maxRetries: 3 });
  const who = await client.get("/v1/partner");
  if (!who.ok) throw new Error(`signed GET /v1/partner failed: ${who.status} ${who.error.code}`);

  // No risk rules while the pools enrol (a rule set seeded elsewhere could refuse bulk sign-ups).
  const rules = await op("PUT", "/risk-rules", { rules: [] });
  if (!rules.ok && !(rules.status === 404 && rules.json?.error?.code === "not_found")) {
    options.log(`warning: clearing the risk rules failed: ${describe(rules)}`);
  }

  const make = (prefix: string) => Array.from({ length: options.poolSize }, () => freshMember(prefix));
  const pools = { earn: make("e"), burn: make("b"), hold: make("h") };
  const all = [...pools.earn, ...pools.burn, ...pools.hold];
  await pool(all, 8, (m) => enrol(client, m));
  const funded = [...pools.burn, ...pools.hold];
  await pool(funded, 8, async (m) => {
    const r = await client.post("/v1/earn", { member_ref: m.ref, points: options.fundPoints, context: m.context });
    if (!r.ok) throw new Error(`funding ${m.ref} failed: ${r.status} ${r.error.code}: ${r.error.message}`);
  });
  options.log(
    `seeded ${BENCH_PARTNER} (postpaid, rate card), ${all.length} members; ${funded.length} funded with ${options.fundPoints} points each`,
  );
  return { currency, credentials, client, op, pools };
}
