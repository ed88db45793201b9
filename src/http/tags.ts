/**
 * The OpenAPI document's tags: the partner API and the operator API grouped as their contracts'
 * sections are (partner-api.md §2, §4, §5, §7; operator-api.md "Partners and keys", "Rates",
 * "Risk rules", "Adjustments", "Settlement"), plus the operator's additions (audit, shards, seeds).
 * Each route names its tag from here; the document lists them, in this order, with these words.
 */
const PARTNER_AUTH = "Signed requests: a `Coalition-Signature` header (CoalitionSignature), partner-api.md §2.";
const MEMBER_AUTH =
  "A member session: `Authorization: Bearer mst_…` (MemberSession) from POST /v1/members/{member_ref}/sessions, read-only, one member, at most 15 minutes; CORS per partner (docs/member-sessions.md).";
const OPERATOR_AUTH =
  "Bearer operator tokens: `Authorization: Bearer <JWT>` (OperatorToken), scope `read` for GETs, `admin` for everything.";

export const TAGS = {
  partnerSigned: {
    name: "Partner · Signed requests",
    description: `Who the signature says the partner is (partner-api.md §2). ${PARTNER_AUTH}`,
  },
  partnerMembers: {
    name: "Partner · Members",
    description: `Enrolment, link codes, balances and activity (partner-api.md §4). ${PARTNER_AUTH}`,
  },
  partnerEarnBurn: {
    name: "Partner · Earn and burn",
    description: `Quotes, earns, burns and holds, reversals, transactions (partner-api.md §5); every POST takes an Idempotency-Key (§3). ${PARTNER_AUTH}`,
  },
  partnerSettlement: {
    name: "Partner · Settlement",
    description: `The partner's statements and their lines (partner-api.md §7). ${PARTNER_AUTH} The JWK set that verifies statements is public (no authentication).`,
  },
  member: {
    name: "Member · Balance and activity",
    description: `What a member's browser reads with a session its partner asked for (docs/member-sessions.md, an addition to partner-api.md). ${MEMBER_AUTH}`,
  },
  operatorPartners: {
    name: "Operator · Partners and keys",
    description: `Partners, their keys, payments and payouts (operator-api.md "Partners and keys"). ${OPERATOR_AUTH}`,
  },
  operatorRates: {
    name: "Operator · Rates",
    description: `Rate-card versions per partner (operator-api.md "Rates"). ${OPERATOR_AUTH}`,
  },
  operatorRisk: {
    name: "Operator · Risk rules",
    description: `The rule set, its events and the review queue (operator-api.md "Risk rules"). ${OPERATOR_AUTH}`,
  },
  operatorAdjustments: {
    name: "Operator · Adjustments",
    description: `Goodwill credits and corrections to a member's points, with an Idempotency-Key (operator-api.md "Adjustments"). ${OPERATOR_AUTH}`,
  },
  operatorSettlement: {
    name: "Operator · Settlement",
    description: `Closing periods, reports and their CSV, the period configuration, metrics (operator-api.md "Settlement"). ${OPERATOR_AUTH}`,
  },
  operatorAudit: {
    name: "Operator · Audit",
    description: `Every change the operator made, with its sub (operator-api.md "Authentication"). ${OPERATOR_AUTH}`,
  },
  operatorShards: {
    name: "Operator · Shards",
    description: `The ledger's databases: each shard's buckets, members, transactions, size and reachability (docs/design/shards.md, an addition to operator-api.md). ${OPERATOR_AUTH}`,
  },
  operatorSeeds: {
    name: "Operator · Seeds",
    description: `Records of what \`npm start\` seeded into this database (the demo coalition, once). ${OPERATOR_AUTH}`,
  },
} as const;

export type TagKey = keyof typeof TAGS;

/** A route's `tags`. */
export const tag = (key: TagKey): string[] => [TAGS[key].name];

/** For the document: every tag, in order, with its description. */
export const DOC_TAGS = Object.values(TAGS).map((t) => ({ name: t.name, description: t.description }));

export const DOC_DESCRIPTION = [
  "The coalition points exchange: the partner API under `/v1/` and the operator API under `/admin/v1/`.",
  `Partner API (tags "Partner · …"): ${PARTNER_AUTH} A key is registered per partner by the operator; with \`npm start\`, \`.dev/local.json\` holds the demo partners' keys.`,
  `Member API (tag "Member · …", under \`/v1/me\`): ${MEMBER_AUTH}`,
  `Operator API (tags "Operator · …"): ${OPERATOR_AUTH}`,
  "Public, no authentication: `/.well-known/jwks.json` (the keys that verify settlement statements), `/health`, this document and `/docs`.",
  "Examples name the demo coalition `npm start` seeds (partner brew-coffee, member c-1001).",
].join("\n\n");
