import { z } from "@hono/zod-openapi";
import { type Cidr, parseCidr } from "./ip";

/**
 * The operator's risk rules (operator-api.md "Risk rules"): their wire shape, strict validation
 * (pure, tested directly), and the compiled form requests evaluate.
 *
 * Two kinds of rule share one shape:
 * - a limit: `max_count`, `max_points` and/or `max_distinct_members` per `subject` over
 *   `window_seconds` (or `max_points` of one transaction, `subject: "transaction"`);
 * - a block list: `block` lists IPs and CIDR ranges (`subject: "ip"`) or device ids
 *   (`subject: "device"`); a request from any of them trips the rule.
 */

export const MAX_RULES = 100;
export const MAX_BLOCK_ENTRIES = 1000;
export const MAX_WINDOW_SECONDS = 2_592_000;
/** Ten years: a longer "young member" is every member. */
export const MAX_MEMBER_AGE_SECONDS = 315_360_000;
export const RULE_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;

export type RiskAction = "deny" | "review";
export type RiskAppliesTo = "earn" | "burn" | "enroll";
export type RiskSubject = "member" | "device" | "ip" | "transaction";

export interface RiskRule {
  id: string;
  partner_id?: string;
  action: RiskAction;
  applies_to: RiskAppliesTo;
  subject: RiskSubject;
  window_seconds?: number;
  max_count?: number;
  max_points?: number;
  max_distinct_members?: number;
  member_age_below_seconds?: number;
  block?: string[];
}

export interface RuleProblem {
  /** Field path inside the rule. */
  path: (string | number)[];
  message: string;
}

/** What is wrong with one rule (beyond the field types the schema checks); empty when it is valid. */
export function ruleProblems(rule: RiskRule): RuleProblem[] {
  const problems: RuleProblem[] = [];
  const add = (field: string | (string | number)[], message: string) =>
    problems.push({ path: Array.isArray(field) ? field : [field], message });
  const limits = (["max_count", "max_points", "max_distinct_members"] as const).filter((k) => rule[k] !== undefined);

  if (rule.applies_to === "enroll") {
    if (rule.action === "review") add("action", "an enrolment cannot be sent to review; enroll rules deny");
    if (rule.subject !== "device" && rule.subject !== "ip") add("subject", 'enroll rules count per "device" or "ip"');
  }

  if (rule.block !== undefined) {
    if (rule.subject !== "ip" && rule.subject !== "device")
      add("subject", 'a block list is of "ip" addresses and ranges or "device" ids');
    for (const k of [...limits, ...(rule.window_seconds === undefined ? [] : ["window_seconds" as const])]) {
      add(k, "a block-list rule has no limits or window");
    }
    const seen = new Set<string>();
    rule.block.forEach((entry, i) => {
      if (rule.subject === "ip" && parseCidr(entry) === undefined) {
        add(
          ["block", i],
          "must be an IPv4 or IPv6 address or CIDR range with its host bits zero, like 203.0.113.0/24 or 2001:db8::/32",
        );
      }
      if (seen.has(entry)) add(["block", i], `${entry} is listed twice`);
      seen.add(entry);
    });
    return problems;
  }

  if (limits.length === 0 && rule.subject !== "transaction")
    add("max_count", "give at least one limit: max_count, max_points or max_distinct_members (or a block list)");
  if (rule.max_points !== undefined && rule.applies_to === "enroll")
    add("max_points", "max_points applies to earn and burn only");
  if (rule.max_distinct_members !== undefined && rule.subject !== "device" && rule.subject !== "ip") {
    add("max_distinct_members", 'max_distinct_members counts the members one "device" or "ip" touched');
  }
  if (rule.subject === "transaction") {
    if (rule.max_count !== undefined) add("max_count", "a transaction rule limits max_points of one transaction");
    if (rule.max_points === undefined) add("max_points", "a transaction rule needs max_points");
    if (rule.window_seconds !== undefined) add("window_seconds", "a transaction rule has no window");
  } else if (limits.length > 0 && rule.window_seconds === undefined) {
    add("window_seconds", "a limit per member, device or IP needs window_seconds");
  }
  return problems;
}

/** The problems of a whole set: each rule's, and duplicate ids. Paths start at the rule's index. */
export function ruleSetProblems(rules: readonly RiskRule[]): RuleProblem[] {
  const problems: RuleProblem[] = [];
  const ids = new Set<string>();
  rules.forEach((rule, i) => {
    for (const p of ruleProblems(rule)) problems.push({ path: [i, ...p.path], message: p.message });
    if (ids.has(rule.id)) problems.push({ path: [i, "id"], message: `rule id ${rule.id} appears twice` });
    ids.add(rule.id);
  });
  return problems;
}

const Count = (max: number) => z.number().int().min(1).max(max);

export const RiskRuleSchema = z
  .strictObject({
    id: z
      .string()
      .regex(RULE_ID_PATTERN, "must be 1 to 64 of [a-z0-9-], starting with a letter or digit")
      .openapi({ example: "member-burn-hourly", description: "The code a decline answers with (`risk_declined`)" }),
    partner_id: z
      .string()
      .regex(/^[a-z0-9-]{2,40}$/, "must be a partner id")
      .optional()
      .openapi({ description: "Only this partner's traffic, counted apart; absent: a global rule, counting everyone's" }),
    action: z
      .enum(["deny", "review"])
      .openapi({ description: "deny: 422 risk_declined; review: the transaction waits for the operator" }),
    applies_to: z.enum(["earn", "burn", "enroll"]),
    subject: z.enum(["member", "device", "ip", "transaction"]).openapi({
      description:
        "What is counted or matched: per member, per device id, per IP (IPv6 per /64; IPv4-mapped IPv6 as IPv4), or one transaction (max_points only). enroll rules: device or ip.",
    }),
    window_seconds: Count(MAX_WINDOW_SECONDS)
      .optional()
      .openapi({ description: "The sliding window of max_count, max_points and max_distinct_members (1 to 2592000)" }),
    max_count: Count(1_000_000_000)
      .optional()
      .openapi({ description: "At most this many transactions (enrolments) in the window; inclusive" }),
    max_points: Count(1_000_000_000_000)
      .optional()
      .openapi({ description: "earn/burn: at most this many points in the window, or in one transaction (subject transaction)" }),
    max_distinct_members: Count(1_000_000)
      .optional()
      .openapi({ description: "device/ip: at most this many distinct members in the window" }),
    member_age_below_seconds: Count(MAX_MEMBER_AGE_SECONDS)
      .optional()
      .openapi({ description: "The rule applies only to members younger than this (an enrolling member is 0 s old)" }),
    block: z
      .array(z.string().min(1).max(128))
      .min(1)
      .max(MAX_BLOCK_ENTRIES)
      .optional()
      .openapi({
        description:
          'A block list instead of limits: IPs and CIDR ranges (subject "ip", e.g. "203.0.113.0/24", "2001:db8::/32") or device ids (subject "device"). A request from any of them trips the rule.',
        example: ["203.0.113.0/24", "2001:db8::/32"],
      }),
  })
  .superRefine((rule, ctx) => {
    for (const p of ruleProblems(rule)) ctx.addIssue({ code: "custom", message: p.message, path: p.path });
  })
  .openapi("RiskRule", {
    description:
      "A limit (max_count / max_points / max_distinct_members over window_seconds, or max_points of one transaction) or a block list (block). Limits are inclusive and exact under concurrency.",
  });

export const RiskRuleSetSchema = z
  .strictObject({ rules: z.array(RiskRuleSchema).max(MAX_RULES) })
  .superRefine((body, ctx) => {
    const ids = new Set<string>();
    body.rules.forEach((rule, i) => {
      if (ids.has(rule.id))
        ctx.addIssue({ code: "custom", message: `rule id ${rule.id} appears twice`, path: ["rules", i, "id"] });
      ids.add(rule.id);
    });
  })
  .openapi("RiskRuleSet", {
    example: {
      rules: [
        { id: "member-burn-hourly", action: "deny", applies_to: "burn", subject: "member", window_seconds: 3600, max_count: 10 },
        { id: "earn-single-max", action: "deny", applies_to: "earn", subject: "transaction", max_points: 50000 },
      ],
    },
  });

// ---- The compiled form a request evaluates ----

export interface CompiledRule {
  /** The rule's place in the set (0-based): the deny guard's slot, and the order that names the code. */
  position: number;
  rule: RiskRule;
  /** A block list of IPs, compiled. */
  cidrs?: Cidr[];
  /** A block list of devices. */
  devices?: ReadonlySet<string>;
}

export interface RuleSet {
  rules: readonly CompiledRule[];
}

export const EMPTY_RULE_SET: RuleSet = { rules: [] };

export function compileRuleSet(rules: readonly RiskRule[]): RuleSet {
  return {
    rules: rules.map((rule, position) => {
      const compiled: CompiledRule = { position, rule };
      if (rule.block && rule.subject === "ip")
        compiled.cidrs = rule.block.map((b) => parseCidr(b)).filter((c) => c !== undefined);
      if (rule.block && rule.subject === "device") compiled.devices = new Set(rule.block);
      return compiled;
    }),
  };
}

let memo: { text: string; set: RuleSet } | undefined;

/** The stored rule set (JSON text, validated when it was PUT), compiled; memoised per isolate by its text. */
export function ruleSetFromText(text: string | null | undefined): RuleSet {
  if (!text) return EMPTY_RULE_SET;
  if (memo?.text === text) return memo.set;
  const set = compileRuleSet(JSON.parse(text) as RiskRule[]);
  memo = { text, set };
  return set;
}
