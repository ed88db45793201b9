import type { Sql } from "../../src/db/sql-template";
import { memberAgeMs, memberOfRef } from "../../src/ledger/member";
import { ledgerRiskCheck } from "../../src/risk/check";
import { planEnrolment } from "../../src/risk/enrol";
import type { RiskRequest } from "../../src/risk/evaluate";
import { compileRuleSet, type RiskRule } from "../../src/risk/rules";
import { planRisk } from "../../src/risk/sql";

/**
 * The unsplit (N = 1) risk statements of a rule set that exercises every part of a plan (member,
 * device, IP and transaction subjects, block lists, age conditions, distinct members, deny and
 * review), as text and binds. `fixtures/unsplit-plan.json` holds them as the code produced them
 * before the split plan existed; test/risk/risk-across-shards.test.ts checks they are unchanged.
 */

const RULES: RiskRule[] = [
  { id: "m-count", action: "deny", applies_to: "earn", subject: "member", window_seconds: 3600, max_count: 5, max_points: 900 },
  {
    id: "m-young",
    action: "review",
    applies_to: "earn",
    subject: "member",
    window_seconds: 600,
    max_count: 2,
    member_age_below_seconds: 86400,
  },
  {
    id: "d-count",
    action: "deny",
    applies_to: "earn",
    subject: "device",
    window_seconds: 3600,
    max_count: 4,
    max_distinct_members: 2,
  },
  {
    id: "d-young",
    action: "deny",
    applies_to: "earn",
    subject: "device",
    window_seconds: 60,
    max_points: 70,
    member_age_below_seconds: 3600,
  },
  { id: "ip-review", action: "review", applies_to: "earn", subject: "ip", window_seconds: 86400, max_count: 9 },
  { id: "ip-block", action: "deny", applies_to: "earn", subject: "ip", block: ["198.51.100.0/24"] },
  { id: "t-max", action: "deny", applies_to: "earn", subject: "transaction", max_points: 500 },
  {
    id: "b-ip",
    action: "deny",
    applies_to: "burn",
    subject: "ip",
    window_seconds: 120,
    max_points: 300,
    max_distinct_members: 3,
  },
  {
    id: "e-device",
    action: "deny",
    applies_to: "enroll",
    subject: "device",
    window_seconds: 3600,
    max_count: 3,
    max_distinct_members: 3,
  },
  { id: "e-ip", action: "deny", applies_to: "enroll", subject: "ip", window_seconds: 600, max_count: 10 },
];

const NOW = 1_800_000_000_123;

type Statement = { text: string; params: readonly (string | number | null)[] };
const plain = (s: Sql): Statement => ({ text: s.text, params: [...s.params] });

/** Every case's statements, by name. */
export function unsplitStatements(): Record<string, Statement[]> {
  const set = compileRuleSet(RULES);
  const member = memberOfRef("p-one", "ref-1");
  const req = (kind: RiskRequest["kind"], points: number, ip: string): RiskRequest => ({
    kind,
    partnerId: "p-one",
    hasMember: true,
    points,
    ip,
    deviceId: "dev-1",
    now: NOW,
  });
  const out: Record<string, Statement[]> = {};
  const plan = planRisk(set, req("earn", 600, "198.51.100.7"), { member, memberAge: memberAgeMs(member, NOW) });
  const event = {
    at: NOW,
    appliesTo: "earn" as const,
    partnerId: "p-one",
    member,
    memberRef: "ref-1",
    points: 600,
    ip: "198.51.100.7",
  };
  const status = plan.status("posted");
  out["planRisk earn"] = [...plan.before, ...(status ? [status] : []), ...plan.after("txn_1", event)].map(plain);
  for (const kind of ["earn", "burn"] as const) {
    const check = ledgerRiskCheck(set, {
      kind,
      partnerId: "p-one",
      txnId: "txn_2",
      member,
      memberRef: "ref-1",
      points: 40,
      context: { ip: "2001:db8:1:2::9", device_id: "dev-2" },
      now: NOW,
      requestId: "req_1",
    });
    const s = check.status("pending");
    out[`ledgerRiskCheck ${kind}`] = [...check.wrap([]), ...(s ? [s] : [])].map(plain);
  }
  const ctx = { catalogue: { rules: set } } as unknown as Parameters<typeof planEnrolment>[2];
  const base = { partnerId: "p-one", memberRef: "ref-9", context: { ip: "203.0.113.9", deviceId: "dev-3" }, now: NOW };
  out["planEnrolment new"] = planEnrolment({ ...base, newMemberId: "mbr_abc_0123456789abcdef" }, "req_2", ctx).statements.map(
    plain,
  );
  out["planEnrolment link"] = planEnrolment({ ...base, linkCode: "CODE1234" }, "req_3", ctx).statements.map(plain);
  return out;
}
