/**
 * The demo coalition that `npm start` seeds through the operator and partner APIs (scripts/lib/seed.ts).
 * Edit freely: existing partners, keys and rate cards are left as they are, and a partner added
 * here gets a key pair, and is created, on the next start. The risk rules and the demo member are
 * seeded once per database (the seed records itself: GET /admin/v1/seeds/demo-coalition). Money
 * is in the settlement currency (CNY, wrangler.toml); rates and prices are decimal strings, never floats.
 */

export interface DemoPartner {
  id: string;
  name: string;
  /** What kind of business it is (shown in the README table and the start-up summary). */
  kind: string;
  /** POST /admin/v1/partners `funding`. */
  funding:
    | { mode: "prepaid"; balance: { value: string; unit: string } }
    | { mode: "postpaid"; credit_limit: { value: string; unit: string } };
  pending_days: number;
  hold_ttl_seconds?: number;
  /** POST /admin/v1/partners/{id}/rate-cards body (effective_from omitted: in force now). */
  rate_card: {
    earn: { unit: string; points_per_unit: string }[];
    burn: { unit: string; value_per_point: string }[];
    issue_price: string;
    redeem_price: string;
  };
}

export const DEMO_PARTNERS: readonly DemoPartner[] = [
  {
    id: "brew-coffee",
    name: "Brew Coffee",
    kind: "coffee chain with its own STAR stamps",
    // Prepaid: deposits a float; each point it issues draws it down at the issue price.
    funding: { mode: "prepaid", balance: { value: "5000.00", unit: "CNY" } },
    pending_days: 0,
    rate_card: {
      earn: [
        { unit: "CNY", points_per_unit: "1" },
        { unit: "STAR", points_per_unit: "0.5" },
      ],
      burn: [{ unit: "CNY", value_per_point: "0.01" }],
      issue_price: "0.010",
      redeem_price: "0.008",
    },
  },
  {
    id: "sky-air",
    name: "Sky Air",
    kind: "airline with its own MILE unit",
    // Postpaid with a credit limit; earns stay pending for a week (tickets can be refunded).
    funding: { mode: "postpaid", credit_limit: { value: "200000.00", unit: "CNY" } },
    pending_days: 7,
    rate_card: {
      earn: [
        { unit: "CNY", points_per_unit: "0.5" },
        { unit: "MILE", points_per_unit: "1" },
      ],
      burn: [{ unit: "MILE", value_per_point: "0.8" }],
      issue_price: "0.012",
      redeem_price: "0.009",
    },
  },
  {
    id: "fresh-mart",
    name: "Fresh Mart",
    kind: "supermarket",
    funding: { mode: "postpaid", credit_limit: { value: "100000.00", unit: "CNY" } },
    pending_days: 0,
    rate_card: {
      earn: [{ unit: "CNY", points_per_unit: "1" }],
      burn: [{ unit: "CNY", value_per_point: "0.01" }],
      issue_price: "0.009",
      redeem_price: "0.007",
    },
  },
  {
    id: "star-cinema",
    name: "Star Cinema",
    kind: "cinema chain",
    funding: { mode: "prepaid", balance: { value: "2000.00", unit: "CNY" } },
    pending_days: 0,
    // Tickets are booked ahead: holds stay open for an hour before they expire.
    hold_ttl_seconds: 3600,
    rate_card: {
      earn: [{ unit: "CNY", points_per_unit: "2" }],
      burn: [{ unit: "CNY", value_per_point: "0.01" }],
      issue_price: "0.010",
      redeem_price: "0.009",
    },
  },
];

/** Default global risk rules (PUT /admin/v1/risk-rules), set by a database's first seed when its rule set is empty. */
export const DEMO_RISK_RULES = [
  // A member may burn at most 10 times an hour across the coalition (card-testing, scripted drains).
  {
    id: "member-burn-hourly",
    action: "deny",
    applies_to: "burn",
    subject: "member",
    window_seconds: 3600,
    max_count: 10,
  },
  // No single earn above 50,000 points (a typo'd amount or a compromised till).
  { id: "earn-single-max", action: "deny", applies_to: "earn", subject: "transaction", max_points: 50_000 },
  // One device may enrol at most 3 distinct members a day (bulk sign-ups farming welcome offers).
  {
    id: "device-enroll-distinct",
    action: "deny",
    applies_to: "enroll",
    subject: "device",
    window_seconds: 86_400,
    max_distinct_members: 3,
  },
  // One IP may enrol at most 20 distinct members an hour (a shop's Wi-Fi is shared, a bot farm is not).
  {
    id: "ip-enroll-distinct",
    action: "deny",
    applies_to: "enroll",
    subject: "ip",
    window_seconds: 3600,
    max_distinct_members: 20,
  },
  // A burn above 5,000 points by a member younger than a day goes to operator review (account takeover, mules).
  {
    id: "new-member-large-burn",
    action: "review",
    applies_to: "burn",
    subject: "transaction",
    max_points: 5000,
    member_age_below_seconds: 86_400,
  },
] as const;

/**
 * One demo member, enrolled at the first partner and linked (with a link code) to the second, with
 * an earn at each. Each earn has a fixed Idempotency-Key, so a restart replays instead of earning again.
 */
export const DEMO_MEMBER = {
  context: { ip: "203.0.113.7", device_id: "demo-phone-1" },
  refs: [
    { partner: "brew-coffee", member_ref: "c-1001" },
    { partner: "sky-air", member_ref: "FF-880001" },
  ],
  earns: [
    {
      partner: "brew-coffee",
      member_ref: "c-1001",
      amount: { value: "58.00", unit: "CNY" },
      order_ref: "A-1001",
      idempotency_key: "seed-earn-brew-coffee-A-1001",
    },
    {
      partner: "sky-air",
      member_ref: "FF-880001",
      amount: { value: "1200", unit: "MILE" },
      order_ref: "PNR-7XK2QL",
      idempotency_key: "seed-earn-sky-air-PNR-7XK2QL",
    },
  ],
} as const;

export function earnUnits(p: DemoPartner): string[] {
  return p.rate_card.earn.map((e) => e.unit);
}

export function burnUnits(p: DemoPartner): string[] {
  return p.rate_card.burn.map((b) => b.unit);
}
