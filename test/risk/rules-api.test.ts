import { describe, expect, it } from "vitest";
import { DEMO_RISK_RULES } from "../../scripts/seed/demo-coalition";
import { BASE_URL, createPartner, operator, workerFetch } from "../support/exchange";

/** PUT/GET /admin/v1/risk-rules: strict validation, the whole set replaced, audited. */

describe("risk rules API", () => {
  it("starts empty; PUT replaces the whole set and GET returns it in the same shape, in order", async () => {
    const empty = await operator("GET", "/risk-rules");
    expect(empty.status).toBe(200);
    expect(empty.body.rules).toEqual([]);

    const p = await createPartner();
    const rules = [
      { id: "member-burn-hourly", action: "deny", applies_to: "burn", subject: "member", window_seconds: 3600, max_count: 10 },
      { id: "p-earn", partner_id: p.id, action: "review", applies_to: "earn", subject: "transaction", max_points: 1000 },
      { id: "blocked-ips", action: "deny", applies_to: "earn", subject: "ip", block: ["203.0.113.0/24", "2001:db8::/32"] },
      { id: "blocked-devices", action: "deny", applies_to: "burn", subject: "device", block: ["d-123"] },
    ];
    const put = await operator("PUT", "/risk-rules", { rules }, { tokenOptions: { sub: "risk-officer" } });
    expect(put.status, put.text).toBe(200);
    expect(put.body.rules).toEqual(rules);
    expect(put.body.updated_by).toBe("risk-officer");
    const got = await operator("GET", "/risk-rules", undefined, { tokenOptions: { scope: "read" } });
    expect(got.body.rules).toEqual(rules);
    expect(got.body.version).toBe(put.body.version);

    const replaced = await operator("PUT", "/risk-rules", { rules: [rules[2]] });
    expect(replaced.body.rules).toEqual([rules[2]]);
    expect(replaced.body.version).toBe(put.body.version + 1);

    const audit = await operator("GET", "/audit?action=risk_rules.replace");
    expect(audit.body.data[0]).toMatchObject({ actor: "ops@coalition.test", target: "risk-rules" });
    expect(audit.body.data[0].detail.after).toEqual([rules[2]]);
    expect(audit.body.data[1]).toMatchObject({ actor: "risk-officer" });
  });

  it("refuses an invalid set with the field that is wrong, and keeps the old one", async () => {
    await operator("PUT", "/risk-rules", { rules: [] });
    const base = { id: "r", action: "deny", applies_to: "earn", subject: "member", window_seconds: 60, max_count: 1 };
    const cases: [unknown, string, string][] = [
      [{ ...base, window_seconds: undefined }, "invalid_body", "rules.0.window_seconds"],
      [{ ...base, max_count: 0 }, "invalid_body", "rules.0.max_count"],
      [{ ...base, id: "Bad_Id" }, "invalid_body", "rules.0.id"],
      [{ ...base, action: "block" }, "invalid_body", "rules.0.action"],
      [{ ...base, max_distinct_members: 3 }, "invalid_body", "rules.0.max_distinct_members"],
      [
        { ...base, subject: "ip", max_count: undefined, window_seconds: undefined, block: ["10.0.0.1/8"] },
        "invalid_body",
        "rules.0.block.0",
      ],
      [{ ...base, partner_id: "no-such-partner" }, "invalid_body", "rules.0.partner_id"],
      [{ ...base, colour: "red" }, "unknown_field", "rules.0.colour"],
    ];
    for (const [rule, code, param] of cases) {
      const r = await operator("PUT", "/risk-rules", { rules: [JSON.parse(JSON.stringify(rule))] });
      expect({ status: r.status, code: r.body.error.code, param: r.body.error.param }, r.text).toEqual({
        status: 400,
        code,
        param,
      });
    }
    const dup = await operator("PUT", "/risk-rules", { rules: [base, base] });
    expect({ status: dup.status, param: dup.body.error.param }).toEqual({ status: 400, param: "rules.1.id" });
    const many = Array.from({ length: 101 }, (_, i) => ({ ...base, id: `r-${i}` }));
    expect((await operator("PUT", "/risk-rules", { rules: many })).status).toBe(400);
    expect((await operator("PUT", "/risk-rules", { rules: many.slice(0, 100) })).status).toBe(200);
    expect((await operator("GET", "/risk-rules")).body.rules).toHaveLength(100);
    expect((await operator("PUT", "/risk-rules", {})).status).toBe(400);
  });

  it("needs the admin scope to change the rules", async () => {
    const r = await operator("PUT", "/risk-rules", { rules: [] }, { tokenOptions: { scope: "read" } });
    expect({ status: r.status, code: r.body.error.code }).toEqual({ status: 403, code: "scope_missing" });
  });

  it("accepts the demo coalition's default rules", async () => {
    const r = await operator("PUT", "/risk-rules", { rules: DEMO_RISK_RULES });
    expect(r.status, r.text).toBe(200);
    expect(r.body.rules).toEqual(DEMO_RISK_RULES);
  });

  it("documents the rule shape, block lists included, in the OpenAPI document", async () => {
    const doc = (await (await workerFetch(new Request(`${BASE_URL}/openapi.json`))).json()) as any;
    expect(Object.keys(doc.components.schemas.RiskRule.properties)).toEqual(
      expect.arrayContaining([
        "id",
        "partner_id",
        "action",
        "applies_to",
        "subject",
        "window_seconds",
        "max_count",
        "max_points",
        "max_distinct_members",
        "member_age_below_seconds",
        "block",
      ]),
    );
    for (const path of [
      "/admin/v1/risk-rules",
      "/admin/v1/risk-events",
      "/admin/v1/reviews",
      "/admin/v1/reviews/{transaction_id}",
    ]) {
      expect(doc.paths[path], path).toBeDefined();
    }
  });
});
