import { auditStatement } from "../audit/log";
import { all, join, list, prepare, raw, runBatch, type Sql, sql } from "../db/sql-template";
import { toRfc3339 } from "../db/time";
import { ApiError } from "../http/errors";
import { type RiskRule, type RuleSet, ruleSetFromText } from "./rules";

/** The rule set in D1 (table risk_rule_set, one row) and the risk event log (risk_events). */

/** The one-row read of the rule set; requests put it in the batch of their other reads. */
export const RULE_SET_SQL = "SELECT rules FROM risk_rule_set WHERE id = 1";

export function ruleSetFromRow(row: unknown): RuleSet {
  return ruleSetFromText((row as { rules?: string } | undefined)?.rules);
}

export async function loadRuleSet(db: D1Database): Promise<RuleSet> {
  return ruleSetFromRow(await db.prepare(RULE_SET_SQL).first());
}

export interface StoredRuleSet {
  rules: RiskRule[];
  version: number;
  updatedAt: number | null;
  updatedBy: string | null;
}

export async function readRuleSet(db: D1Database): Promise<StoredRuleSet> {
  const row = await db
    .prepare("SELECT rules, version, updated_at, updated_by FROM risk_rule_set WHERE id = 1")
    .first<{ rules: string; version: number; updated_at: number | null; updated_by: string | null }>();
  return {
    rules: row ? (JSON.parse(row.rules) as RiskRule[]) : [],
    version: row?.version ?? 0,
    updatedAt: row?.updated_at ?? null,
    updatedBy: row?.updated_by ?? null,
  };
}

/** The rule set as `GET /admin/v1/risk-rules` answers it. */
export function renderRuleSet(set: StoredRuleSet) {
  return {
    rules: set.rules,
    version: set.version,
    updated_at: set.updatedAt === null ? null : toRfc3339(set.updatedAt),
    updated_by: set.updatedBy,
  };
}

/** A rule of one partner must name a partner that exists; the first that does not is refused. */
export async function requireRulePartners(db: D1Database, rules: readonly RiskRule[]): Promise<void> {
  const partnerIds = [...new Set(rules.flatMap((rule) => (rule.partner_id === undefined ? [] : [rule.partner_id])))];
  if (partnerIds.length === 0) return;
  const known = new Set(
    (await all<{ id: string }>(db, sql`SELECT id FROM partners WHERE id IN ${list(partnerIds)}`)).map((row) => row.id),
  );
  const i = rules.findIndex((rule) => rule.partner_id !== undefined && !known.has(rule.partner_id));
  if (i >= 0) {
    throw new ApiError("invalid_body", `rules.${i}.partner_id: no partner ${rules[i]?.partner_id}`, `rules.${i}.partner_id`);
  }
}

/** Replaces the whole set, audited in the same batch. */
export async function replaceRuleSet(db: D1Database, rules: RiskRule[], actor: string, now: number): Promise<void> {
  const before = await readRuleSet(db);
  await runBatch(db, [
    sql`UPDATE risk_rule_set SET rules = ${JSON.stringify(rules)}, version = version + 1, updated_at = ${now}, updated_by = ${actor}
         WHERE id = 1`,
    auditStatement({
      at: now,
      actor,
      action: "risk_rules.replace",
      target: "risk-rules",
      detail: { before: before.rules, after: rules },
    }),
  ]);
}

export interface RiskEventRow {
  id: number;
  at: number;
  rule_id: string;
  action: "deny" | "review";
  applies_to: "earn" | "burn" | "enroll";
  partner_id: string;
  member_id: string | null;
  member_ref: string | null;
  transaction_id: string | null;
  points: number | null;
  ip: string;
  device_id: string | null;
  request_id: string | null;
}

/** Newest first, keyset by id; filters use their own index. */
export async function listRiskEvents(
  db: D1Database,
  opts: { limit: number; beforeId?: number; ruleId?: string; partnerId?: string; memberId?: string },
): Promise<RiskEventRow[]> {
  const where: Sql[] = [raw("1")];
  if (opts.ruleId !== undefined) where.push(sql`rule_id = ${opts.ruleId}`);
  if (opts.partnerId !== undefined) where.push(sql`partner_id = ${opts.partnerId}`);
  if (opts.memberId !== undefined) where.push(sql`member_id = ${opts.memberId}`);
  if (opts.beforeId !== undefined) where.push(sql`id < ${opts.beforeId}`);
  return all<RiskEventRow>(db, sql`SELECT * FROM risk_events WHERE ${join(where, " AND ")} ORDER BY id DESC LIMIT ${opts.limit}`);
}

/** An event as the operator's log shows it; an event of shard k ≥ 1 (its own row ids) is `rsk_<k>_<id>`. */
export function renderRiskEvent(e: RiskEventRow, shard = 0) {
  return {
    id: shard === 0 ? `rsk_${e.id}` : `rsk_${shard}_${e.id}`,
    at: toRfc3339(e.at),
    rule_id: e.rule_id,
    action: e.action,
    applies_to: e.applies_to,
    partner_id: e.partner_id,
    member_id: e.member_id,
    member_ref: e.member_ref,
    transaction_id: e.transaction_id,
    points: e.points,
    context: { ip: e.ip, ...(e.device_id === null ? {} : { device_id: e.device_id }) },
    request_id: e.request_id,
  };
}

/**
 * Counter buckets and distinct-member records that are in no window any more (their
 * `expires_at` passed), at most `chunk` rows a statement and `maxChunks` statements a table per run.
 */
export async function pruneRiskCounters(
  db: D1Database,
  now: number,
  chunk = 500,
  maxChunks = 20,
): Promise<{ counters: number; members: number }> {
  const prune = async (statement: Sql) => {
    let deleted = 0;
    for (let i = 0; i < maxChunks; i++) {
      const r = await prepare(db, statement).run();
      deleted += r.meta.changes;
      if (r.meta.changes < chunk) break;
    }
    return deleted;
  };
  const counters = await prune(
    sql`DELETE FROM risk_counters WHERE (counter, subject, bucket) IN (
          SELECT counter, subject, bucket FROM risk_counters WHERE expires_at <= ${now} ORDER BY expires_at LIMIT ${chunk})`,
  );
  const members = await prune(
    sql`DELETE FROM risk_members WHERE (counter, subject, member_id) IN (
          SELECT counter, subject, member_id FROM risk_members WHERE expires_at <= ${now} ORDER BY expires_at LIMIT ${chunk})`,
  );
  return { counters, members };
}
