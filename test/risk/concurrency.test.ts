import { afterEach, describe, expect, it } from "vitest";
import { operator } from "../support/exchange";
import { checkInvariants } from "../support/invariants";
import { balance, partnerWithCard } from "../support/ledger";
import { burnAt, earnAt, enrolAt, enrolled, freshDevice, freshIp, setRules } from "./support";

/** Limits are exact under concurrency: the counters are checked and updated in each request's own batch. */

afterEach(async () => {
  await checkInvariants();
});

describe("limits under concurrency", () => {
  it("N = 5 burns per member per hour: of 25 simultaneous burns exactly 5 pass", async () => {
    const p = await partnerWithCard();
    const m = await enrolled(p);
    expect((await earnAt(p, m.ref, 1000, { ip: freshIp() })).status).toBe(201);
    await setRules([
      { id: "member-burn-hourly", action: "deny", applies_to: "burn", subject: "member", window_seconds: 3600, max_count: 5 },
    ]);
    const ip = freshIp();
    const results = await Promise.all(Array.from({ length: 25 }, () => burnAt(p, m.ref, 10, { ip })));
    const passed = results.filter((r) => r.status === 201);
    const declined = results.filter((r) => r.status === 422 && JSON.parse(r.text).error.code === "member-burn-hourly");
    expect({ passed: passed.length, declined: declined.length }).toEqual({ passed: 5, declined: 20 });
    expect((await balance(p, m.ref)).points.available).toBe(950);
    const events = await operator("GET", "/risk-events?rule_id=member-burn-hourly&limit=100");
    expect(events.body.data).toHaveLength(20);
  });

  it("at most 3 distinct members per device at enrolment: of 15 simultaneous enrolments exactly 3 pass", async () => {
    const p = await partnerWithCard();
    const device = freshDevice();
    await setRules([
      {
        id: "device-enroll-distinct",
        action: "deny",
        applies_to: "enroll",
        subject: "device",
        window_seconds: 86_400,
        max_distinct_members: 3,
      },
    ]);
    const results = await Promise.all(Array.from({ length: 15 }, () => enrolAt(p, { ip: freshIp(), device_id: device })));
    const created = results.filter((r) => r.status === 201);
    const declined = results.filter((r) => r.status === 422 && JSON.parse(r.text).error.code === "device-enroll-distinct");
    expect({ created: created.length, declined: declined.length }).toEqual({ created: 3, declined: 12 });
  });
});
