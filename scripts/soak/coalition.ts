import { exportJWK, generateKeyPair } from "jose";
import type { PartnerCredentials } from "../../packages/partner-sdk/src/index";
import { PartnerClient } from "../../packages/partner-sdk/src/index";
import { describeAnswer, missingRoute, operatorRequest, type Transport } from "./api";
import { micros, rfc3339 } from "./util";

/**
 * The bank test's own coalition, created through the operator API only: five partners that
 * cover every funding and timing case of economics.md, each with its own key and rate card.
 *
 *  cafe     prepaid, earns CNY and STAR, two overlapping campaigns in the last days (×2, ×1.5 → ×3)
 *  mart     postpaid with a large credit limit (ES256 key), same campaigns
 *  air      postpaid, pending_days 7 (earns stay pending: not spendable, reversible), burns MILE
 *  cinema   prepaid, hold_ttl_seconds 60 (the minimum): its holds expire during the run; a close
 *           tops its deposit up with its receivable ("receivables": "top_up")
 *  kiosk    prepaid with a tiny balance: earns run into partner_funds_exhausted; the operator tops it up
 */
export type PartnerRole = "cafe" | "mart" | "air" | "cinema" | "kiosk";

export interface CampaignDef {
  name: string;
  multiplier: string;
  from: string;
  to: string;
}

export interface SoakPartner {
  id: string;
  role: PartnerRole;
  credentials: PartnerCredentials;
  client: PartnerClient;
  fundingMode: "prepaid" | "postpaid";
  /** Prepaid balance or credit limit at creation, in micros of the settlement currency. */
  initialMicros: number;
  pendingDays: number;
  holdTtlSeconds: number;
  earn: { unit: string; points_per_unit: string }[];
  burn: { unit: string; value_per_point: string }[];
  issuePrice: string;
  redeemPrice: string;
  campaigns: CampaignDef[];
}

export interface Coalition {
  runId: string;
  currency: string;
  partners: SoakPartner[];
  /** Whether the risk-rule endpoint exists and took the bank test's (permissive) rule set. */
  riskRules: boolean;
  /** The rule the `earn_over_limit` operation trips, when riskRules. */
  earnLimitRule: { id: string; maxPoints: number };
  notices: string[];
}

interface PartnerDef {
  role: PartnerRole;
  funding: { mode: "prepaid"; balance: string; receivables?: "top_up" } | { mode: "postpaid"; credit_limit: string };
  pendingDays: number;
  holdTtlSeconds?: number;
  alg: "EdDSA" | "ES256";
  earn: { unit: string; points_per_unit: string }[];
  burn: { unit: string; value_per_point: string }[];
  issuePrice: string;
  redeemPrice: string;
  campaigns: boolean;
}

function definitions(operations: number, shortHoldTtlSeconds: number): PartnerDef[] {
  // Prepaid floats sized to the run so that only the kiosk runs dry (an earn draws at most ~10 CNY).
  const float = String(Math.max(20_000, operations * 3));
  return [
    {
      role: "cafe",
      funding: { mode: "prepaid", balance: `${float}.00` },
      pendingDays: 0,
      alg: "EdDSA",
      earn: [
        { unit: "CNY", points_per_unit: "1" },
        { unit: "STAR", points_per_unit: "0.5" },
      ],
      burn: [{ unit: "CNY", value_per_point: "0.01" }],
      issuePrice: "0.010",
      redeemPrice: "0.008",
      campaigns: true,
    },
    {
      role: "mart",
      funding: { mode: "postpaid", credit_limit: "10000000.00" },
      pendingDays: 0,
      alg: "ES256",
      earn: [{ unit: "CNY", points_per_unit: "1" }],
      burn: [{ unit: "CNY", value_per_point: "0.01" }],
      issuePrice: "0.009",
      redeemPrice: "0.007",
      campaigns: true,
    },
    {
      role: "air",
      funding: { mode: "postpaid", credit_limit: "10000000.00" },
      pendingDays: 7,
      alg: "EdDSA",
      earn: [
        { unit: "CNY", points_per_unit: "0.5" },
        { unit: "MILE", points_per_unit: "1" },
      ],
      burn: [{ unit: "MILE", value_per_point: "0.8" }],
      issuePrice: "0.012",
      redeemPrice: "0.009",
      campaigns: false,
    },
    {
      role: "cinema",
      funding: { mode: "prepaid", balance: `${float}.00`, receivables: "top_up" },
      pendingDays: 0,
      holdTtlSeconds: shortHoldTtlSeconds,
      alg: "EdDSA",
      earn: [{ unit: "CNY", points_per_unit: "2" }],
      burn: [{ unit: "CNY", value_per_point: "0.01" }],
      issuePrice: "0.010",
      redeemPrice: "0.009",
      campaigns: false,
    },
    {
      role: "kiosk",
      funding: { mode: "prepaid", balance: "5.00" },
      pendingDays: 0,
      alg: "EdDSA",
      earn: [{ unit: "CNY", points_per_unit: "1" }],
      burn: [{ unit: "CNY", value_per_point: "0.01" }],
      issuePrice: "0.010",
      redeemPrice: "0.008",
      campaigns: false,
    },
  ];
}

const DAY = 86_400_000;

/** Two overlapping campaigns in the days before `t0` (earns choose occurred_at in them): ×2, ×1.5, ×3 where both apply. */
export function campaignsAround(t0: number): CampaignDef[] {
  return [
    { name: "Bank double days", multiplier: "2", from: rfc3339(t0 - 3 * DAY), to: rfc3339(t0 - DAY) },
    { name: "Bank bonus", multiplier: "1.5", from: rfc3339(t0 - 2 * DAY), to: rfc3339(t0 - DAY / 2) },
  ];
}

export async function setupCoalition(
  t: Transport,
  opts: { runId: string; operations: number; shortHoldTtlSeconds: number; maxRetries: number; log: (m: string) => void },
): Promise<Coalition> {
  const notices: string[] = [];
  const t0 = Date.now();
  const partners: SoakPartner[] = [];
  let currency = "CNY";
  for (const def of definitions(opts.operations, opts.shortHoldTtlSeconds)) {
    const id = `${opts.runId}-${def.role}`;
    const amount = def.funding.mode === "prepaid" ? def.funding.balance : def.funding.credit_limit;
    const funding =
      def.funding.mode === "prepaid"
        ? {
            mode: "prepaid",
            balance: { value: amount, unit: currency },
            ...(def.funding.receivables ? { receivables: def.funding.receivables } : {}),
          }
        : { mode: "postpaid", credit_limit: { value: amount, unit: currency } };
    const created = await operatorRequest(t, "POST", "/partners", {
      id,
      name: `Bank ${def.role}`,
      funding,
      pending_days: def.pendingDays,
      ...(def.holdTtlSeconds === undefined ? {} : { hold_ttl_seconds: def.holdTtlSeconds }),
    });
    if (created.status !== 201) throw new Error(`creating partner ${id} failed: ${describeAnswer(created)}`);
    const unit = created.json?.partner?.funding?.balance?.unit ?? created.json?.partner?.funding?.credit_limit?.unit;
    if (typeof unit === "string") currency = unit;

    const pair = await generateKeyPair(def.alg, { extractable: true });
    const kid = `${id}-k1`;
    const publicJwk = await exportJWK(pair.publicKey);
    const privateJwk = await exportJWK(pair.privateKey);
    const key = await operatorRequest(t, "POST", `/partners/${id}/keys`, { kid, public_jwk: publicJwk });
    if (key.status !== 201) throw new Error(`registering the key of ${id} failed: ${describeAnswer(key)}`);

    const campaigns = def.campaigns ? campaignsAround(t0) : [];
    const card = await operatorRequest(t, "POST", `/partners/${id}/rate-cards`, {
      earn: def.earn,
      burn: def.burn,
      issue_price: def.issuePrice,
      redeem_price: def.redeemPrice,
      campaigns,
    });
    if (card.status !== 201) throw new Error(`the rate card of ${id} failed: ${describeAnswer(card)}`);

    const credentials: PartnerCredentials = { partnerId: id, kid, alg: def.alg, privateJwk };
    partners.push({
      id,
      role: def.role,
      credentials,
      client: new PartnerClient({ baseUrl: t.baseUrl, credentials, fetch: t.fetch, maxRetries: opts.maxRetries, backoffMs: 50 }),
      fundingMode: def.funding.mode,
      initialMicros: micros(amount),
      pendingDays: def.pendingDays,
      holdTtlSeconds: def.holdTtlSeconds ?? 900,
      earn: def.earn,
      burn: def.burn,
      issuePrice: def.issuePrice,
      redeemPrice: def.redeemPrice,
      campaigns,
    });
  }
  opts.log(
    `partners: ${partners.map((p) => `${p.id} (${p.fundingMode}${p.pendingDays ? `, pending ${p.pendingDays} d` : ""}${p.holdTtlSeconds !== 900 ? `, holds ${p.holdTtlSeconds} s` : ""})`).join(", ")}`,
  );

  // Risk rules (operator-api.md), when the endpoint exists: one permissive rule the workload trips
  // on purpose (a single earn above the limit); nothing else can decline or send to review.
  const earnLimitRule = { id: "bank-earn-single-max", maxPoints: 100_000 };
  let riskRules = false;
  const current = await operatorRequest(t, "GET", "/risk-rules");
  if (missingRoute(current)) {
    notices.push(
      "risk rules: GET /admin/v1/risk-rules answers 404 not_found (not built yet): no rules set, risk declines not exercised",
    );
  } else {
    const put = await operatorRequest(t, "PUT", "/risk-rules", {
      rules: [
        {
          id: earnLimitRule.id,
          action: "deny",
          applies_to: "earn",
          subject: "transaction",
          max_points: earnLimitRule.maxPoints,
        },
      ],
    });
    if (put.ok) {
      riskRules = true;
      opts.log(`risk rules: ${earnLimitRule.id} (deny an earn above ${earnLimitRule.maxPoints} points)`);
    } else {
      notices.push(`risk rules: PUT /admin/v1/risk-rules failed (${describeAnswer(put)}): risk declines not exercised`);
    }
  }
  return { runId: opts.runId, currency, partners, riskRules, earnLimitRule, notices };
}
