import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { operator } from "../support/exchange";
import { checkInvariants } from "../support/invariants";
import { link, newRef, partnerWithCard } from "../support/ledger";
import { age, burnAt, earnAt, enrolAt, enrolled, expectDeclined, freshDevice, freshIp, setRules, statusOf } from "./support";

/**
 * Every rule kind and action through the HTTP API. Each test first shows the request passing
 * (or the rule's limit being reached exactly), then the rule tripping; without the rule the
 * tripping request would pass like the ones before it.
 */

beforeEach(async () => {
  await setRules([]);
});

afterEach(async () => {
  await checkInvariants();
});

const HOUR = 3600;

describe("the largest single transaction", () => {
  it("deny: an earn above max_points is declined, one at the limit passes", async () => {
    const p = await partnerWithCard();
    const m = await enrolled(p);
    const ctx = { ip: freshIp() };
    expect(statusOf(await earnAt(p, m.ref, 1001, ctx))).toBe("posted");
    await setRules([{ id: "earn-single-max", action: "deny", applies_to: "earn", subject: "transaction", max_points: 1000 }]);
    expect(statusOf(await earnAt(p, m.ref, 1000, ctx))).toBe("posted");
    expectDeclined(await earnAt(p, m.ref, 1001, ctx), "earn-single-max");
  });

  it("review: a burn above max_points goes to review and holds its points", async () => {
    const p = await partnerWithCard();
    const m = await enrolled(p);
    const ctx = { ip: freshIp() };
    expect(statusOf(await earnAt(p, m.ref, 1000, ctx))).toBe("posted");
    await setRules([{ id: "large-burn", action: "review", applies_to: "burn", subject: "transaction", max_points: 100 }]);
    expect(statusOf(await burnAt(p, m.ref, 100, ctx))).toBe("posted");
    const r = await burnAt(p, m.ref, 101, ctx);
    expect(statusOf(r)).toBe("review");
    if (r.ok) expect(r.data.balance.points).toEqual({ available: 799, pending: 0, held: 101 });
  });
});

describe("counts and points per subject over a window", () => {
  it("count per member (deny): max_count 3 lets the third burn through and stops the fourth; other members are not counted", async () => {
    const p = await partnerWithCard();
    const ctx = { ip: freshIp() };
    const a = await enrolled(p);
    const b = await enrolled(p);
    for (const m of [a, b]) expect(statusOf(await earnAt(p, m.ref, 100, ctx))).toBe("posted");
    await setRules([
      { id: "member-burn-hourly", action: "deny", applies_to: "burn", subject: "member", window_seconds: HOUR, max_count: 3 },
    ]);
    for (let i = 0; i < 3; i++) expect(statusOf(await burnAt(p, a.ref, 1, ctx))).toBe("posted");
    expectDeclined(await burnAt(p, a.ref, 1, ctx), "member-burn-hourly");
    expect(statusOf(await burnAt(p, b.ref, 1, ctx))).toBe("posted");
  });

  it("count per device (deny), across members; a request without a device id is not counted", async () => {
    const p = await partnerWithCard();
    const device = freshDevice();
    const ip = freshIp();
    const [a, b, c] = [await enrolled(p), await enrolled(p), await enrolled(p)];
    await setRules([
      { id: "device-earn", action: "deny", applies_to: "earn", subject: "device", window_seconds: HOUR, max_count: 2 },
    ]);
    expect(statusOf(await earnAt(p, a.ref, 10, { ip, device_id: device }))).toBe("posted");
    expect(statusOf(await earnAt(p, b.ref, 10, { ip, device_id: device }))).toBe("posted");
    expectDeclined(await earnAt(p, c.ref, 10, { ip, device_id: device }), "device-earn");
    expect(statusOf(await earnAt(p, c.ref, 10, { ip }))).toBe("posted");
    expect(statusOf(await earnAt(p, c.ref, 10, { ip, device_id: freshDevice() }))).toBe("posted");
  });

  it("count per IP (review): the third burn from one IP goes to review", async () => {
    const p = await partnerWithCard();
    const ip = freshIp();
    const m = await enrolled(p);
    expect(statusOf(await earnAt(p, m.ref, 100, { ip: freshIp() }))).toBe("posted");
    await setRules([{ id: "ip-burn", action: "review", applies_to: "burn", subject: "ip", window_seconds: HOUR, max_count: 2 }]);
    expect(statusOf(await burnAt(p, m.ref, 5, { ip }))).toBe("posted");
    expect(statusOf(await burnAt(p, m.ref, 5, { ip }))).toBe("posted");
    expect(statusOf(await burnAt(p, m.ref, 5, { ip }))).toBe("review");
    expect(statusOf(await burnAt(p, m.ref, 5, { ip: freshIp() }))).toBe("posted");
  });

  it("points per member (deny): inclusive limit on the window's sum", async () => {
    const p = await partnerWithCard();
    const m = await enrolled(p);
    const ctx = { ip: freshIp() };
    await setRules([
      { id: "member-earn-points", action: "deny", applies_to: "earn", subject: "member", window_seconds: HOUR, max_points: 1000 },
    ]);
    expect(statusOf(await earnAt(p, m.ref, 600, ctx))).toBe("posted");
    expect(statusOf(await earnAt(p, m.ref, 400, ctx))).toBe("posted");
    expectDeclined(await earnAt(p, m.ref, 1, ctx), "member-earn-points");
  });

  it("points per device (review)", async () => {
    const p = await partnerWithCard();
    const device = freshDevice();
    const [a, b] = [await enrolled(p), await enrolled(p)];
    await setRules([
      { id: "device-points", action: "review", applies_to: "earn", subject: "device", window_seconds: HOUR, max_points: 500 },
    ]);
    expect(statusOf(await earnAt(p, a.ref, 300, { ip: freshIp(), device_id: device }))).toBe("posted");
    expect(statusOf(await earnAt(p, b.ref, 300, { ip: freshIp(), device_id: device }))).toBe("review");
  });
});

describe("distinct members per device or IP", () => {
  it("at enrolment, per device: the third member is declined; a retried PUT and a link of a counted member still pass", async () => {
    const [p1, p2] = [await partnerWithCard(), await partnerWithCard()];
    const device = freshDevice();
    const ctx = () => ({ ip: freshIp(), device_id: device });
    await setRules([
      {
        id: "device-enroll-distinct",
        action: "deny",
        applies_to: "enroll",
        subject: "device",
        window_seconds: 86_400,
        max_distinct_members: 2,
      },
    ]);
    const a = await enrolAt(p1, ctx());
    expect(a.status).toBe(201);
    const bRef = newRef();
    expect((await enrolAt(p1, ctx(), bRef)).status).toBe(201);
    // The same ref again: nothing is created, nothing counted.
    expect((await enrolAt(p1, ctx(), bRef)).status).toBe(200);
    const third = await enrolAt(p1, ctx());
    expectDeclined(third, "device-enroll-distinct");
    // Linking a member this device already counted is not a new distinct member.
    const code = await p1.client.post<{ link_code: string }>(`/v1/members/${bRef}/link-codes`, {});
    if (!code.ok) throw new Error(code.text);
    const linked = await p2.client.put(`/v1/members/${newRef()}`, { link_code: code.data.link_code, context: ctx() });
    expect(linked.status, linked.text).toBe(201);
    // Another device is not affected.
    expect((await enrolAt(p1, { ip: freshIp(), device_id: freshDevice() })).status).toBe(201);
  });

  it("at enrolment, per IP: IPv6 addresses of one /64 count as one IP", async () => {
    const p = await partnerWithCard();
    await setRules([
      {
        id: "ip-enroll-distinct",
        action: "deny",
        applies_to: "enroll",
        subject: "ip",
        window_seconds: HOUR,
        max_distinct_members: 1,
      },
    ]);
    expect((await enrolAt(p, { ip: "2001:db8:aa:1::1" })).status).toBe(201);
    expectDeclined(await enrolAt(p, { ip: "2001:db8:aa:1:ffff:eeee:dddd:cccc" }), "ip-enroll-distinct");
    expect((await enrolAt(p, { ip: "2001:db8:aa:2::1" })).status).toBe(201);
  });

  it("at earn, per device: a member already counted passes again, a new one beyond the limit is declined", async () => {
    const p = await partnerWithCard();
    const device = freshDevice();
    const [a, b, c] = [await enrolled(p), await enrolled(p), await enrolled(p)];
    await setRules([
      {
        id: "device-members",
        action: "deny",
        applies_to: "earn",
        subject: "device",
        window_seconds: HOUR,
        max_distinct_members: 2,
      },
    ]);
    const ctx = { ip: freshIp(), device_id: device };
    expect(statusOf(await earnAt(p, a.ref, 1, ctx))).toBe("posted");
    expect(statusOf(await earnAt(p, b.ref, 1, ctx))).toBe("posted");
    expect(statusOf(await earnAt(p, a.ref, 1, ctx))).toBe("posted");
    expectDeclined(await earnAt(p, c.ref, 1, ctx), "device-members");
    expect(statusOf(await earnAt(p, b.ref, 1, ctx))).toBe("posted");
  });

  it("at earn, per IP: an IPv4-mapped IPv6 address is the same IP", async () => {
    const p = await partnerWithCard();
    const [a, b] = [await enrolled(p), await enrolled(p)];
    const ip = freshIp();
    await setRules([
      { id: "ip-members", action: "review", applies_to: "earn", subject: "ip", window_seconds: HOUR, max_distinct_members: 1 },
    ]);
    expect(statusOf(await earnAt(p, a.ref, 1, { ip }))).toBe("posted");
    expect(statusOf(await earnAt(p, b.ref, 1, { ip: `::ffff:${ip}` }))).toBe("review");
  });
});

describe("IP normalisation in counts", () => {
  it("an IPv4-mapped IPv6 address is counted as its IPv4 address", async () => {
    const p = await partnerWithCard();
    const m = await enrolled(p);
    const ip = freshIp();
    await setRules([{ id: "ip-earn", action: "deny", applies_to: "earn", subject: "ip", window_seconds: HOUR, max_count: 1 }]);
    expect(statusOf(await earnAt(p, m.ref, 1, { ip }))).toBe("posted");
    expectDeclined(await earnAt(p, m.ref, 1, { ip: `::ffff:${ip}` }), "ip-earn");
  });

  it("two IPv6 addresses in one /64 are counted together, another /64 apart", async () => {
    const p = await partnerWithCard();
    const m = await enrolled(p);
    await setRules([{ id: "ip-earn", action: "deny", applies_to: "earn", subject: "ip", window_seconds: HOUR, max_count: 1 }]);
    expect(statusOf(await earnAt(p, m.ref, 1, { ip: "2001:db8:5:6::1" }))).toBe("posted");
    expectDeclined(await earnAt(p, m.ref, 1, { ip: "2001:0db8:0005:0006:abcd::42" }), "ip-earn");
    expect(statusOf(await earnAt(p, m.ref, 1, { ip: "2001:db8:5:7::1" }))).toBe("posted");
  });
});

describe("member_age_below_seconds", () => {
  it("applies to members younger than the age only", async () => {
    const p = await partnerWithCard();
    const young = await enrolled(p);
    const old = await enrolled(p);
    await age(old.memberId, 2 * 86_400);
    const ctx = { ip: freshIp() };
    for (const m of [young, old]) expect(statusOf(await earnAt(p, m.ref, 100, ctx))).toBe("posted");
    await setRules([
      {
        id: "new-member-burns",
        action: "deny",
        applies_to: "burn",
        subject: "member",
        window_seconds: HOUR,
        max_count: 1,
        member_age_below_seconds: 86_400,
      },
    ]);
    expect(statusOf(await burnAt(p, young.ref, 1, ctx))).toBe("posted");
    expectDeclined(await burnAt(p, young.ref, 1, ctx), "new-member-burns");
    for (let i = 0; i < 3; i++) expect(statusOf(await burnAt(p, old.ref, 1, ctx))).toBe("posted");
  });

  it("an enrolling member is new: an enroll rule with an age condition applies", async () => {
    const p = await partnerWithCard();
    const ip = freshIp();
    await setRules([
      {
        id: "young-signups",
        action: "deny",
        applies_to: "enroll",
        subject: "ip",
        window_seconds: HOUR,
        max_count: 1,
        member_age_below_seconds: 1,
      },
    ]);
    expect((await enrolAt(p, { ip })).status).toBe(201);
    expectDeclined(await enrolAt(p, { ip }), "young-signups");
  });
});

describe("block lists", () => {
  it("IPv4 CIDR (deny), IPv4-mapped addresses included", async () => {
    const p = await partnerWithCard();
    const m = await enrolled(p);
    await setRules([
      { id: "blocked-v4", action: "deny", applies_to: "earn", subject: "ip", block: ["192.0.2.0/24", "198.51.100.99"] },
    ]);
    expectDeclined(await earnAt(p, m.ref, 1, { ip: "192.0.2.77" }), "blocked-v4");
    expectDeclined(await earnAt(p, m.ref, 1, { ip: "::ffff:192.0.2.5" }), "blocked-v4");
    expectDeclined(await earnAt(p, m.ref, 1, { ip: "198.51.100.99" }), "blocked-v4");
    expect(statusOf(await earnAt(p, m.ref, 1, { ip: "192.0.3.1" }))).toBe("posted");
    expect(statusOf(await earnAt(p, m.ref, 1, { ip: "198.51.100.98" }))).toBe("posted");
  });

  it("IPv6 CIDR (deny)", async () => {
    const p = await partnerWithCard();
    const m = await enrolled(p);
    await setRules([{ id: "blocked-v6", action: "deny", applies_to: "earn", subject: "ip", block: ["2001:db8:abcd::/48"] }]);
    expectDeclined(await earnAt(p, m.ref, 1, { ip: "2001:db8:abcd:12::5" }), "blocked-v6");
    expect(statusOf(await earnAt(p, m.ref, 1, { ip: "2001:db8:abce::1" }))).toBe("posted");
  });

  it("devices (deny at enrolment, review at burn)", async () => {
    const p = await partnerWithCard();
    const m = await enrolled(p);
    expect(statusOf(await earnAt(p, m.ref, 100, { ip: freshIp() }))).toBe("posted");
    await setRules([
      { id: "blocked-device-enroll", action: "deny", applies_to: "enroll", subject: "device", block: ["d-stolen"] },
      { id: "blocked-device-burn", action: "review", applies_to: "burn", subject: "device", block: ["d-stolen"] },
    ]);
    expectDeclined(await enrolAt(p, { ip: freshIp(), device_id: "d-stolen" }), "blocked-device-enroll");
    expect((await enrolAt(p, { ip: freshIp(), device_id: "d-fine" })).status).toBe(201);
    expect(statusOf(await burnAt(p, m.ref, 1, { ip: freshIp(), device_id: "d-stolen" }))).toBe("review");
    expect(statusOf(await burnAt(p, m.ref, 1, { ip: freshIp(), device_id: "d-fine" }))).toBe("posted");
  });
});

describe("scope and precedence", () => {
  it("a partner's rule counts only its traffic; a global rule counts everyone's", async () => {
    const [p1, p2] = [await partnerWithCard(), await partnerWithCard()];
    const m = await enrolled(p1);
    const ref2 = await link(p1, m.ref, p2);
    const ctx = { ip: freshIp() };
    await setRules([
      {
        id: "p1-member-earn",
        partner_id: p1.id,
        action: "deny",
        applies_to: "earn",
        subject: "member",
        window_seconds: HOUR,
        max_count: 1,
      },
      { id: "member-earn", action: "deny", applies_to: "earn", subject: "member", window_seconds: HOUR, max_count: 2 },
    ]);
    expect(statusOf(await earnAt(p1, m.ref, 1, ctx))).toBe("posted");
    expectDeclined(await earnAt(p1, m.ref, 1, ctx), "p1-member-earn");
    expect(statusOf(await earnAt(p2, ref2, 1, ctx))).toBe("posted");
    expectDeclined(await earnAt(p2, ref2, 1, ctx), "member-earn");
  });

  it("deny wins over review, even when the review rule comes first", async () => {
    const p = await partnerWithCard();
    const m = await enrolled(p);
    await setRules([
      { id: "review-large", action: "review", applies_to: "earn", subject: "transaction", max_points: 10 },
      { id: "deny-large", action: "deny", applies_to: "earn", subject: "transaction", max_points: 10 },
    ]);
    expectDeclined(await earnAt(p, m.ref, 11, { ip: freshIp() }), "deny-large");
  });

  it("among tripped deny rules, the first in the rule set's order names the code", async () => {
    const p = await partnerWithCard();
    const ctx = { ip: freshIp() };
    const windowed = {
      id: "member-once",
      action: "deny",
      applies_to: "earn",
      subject: "member",
      window_seconds: HOUR,
      max_count: 1,
    };
    const single = { id: "earn-max-10", action: "deny", applies_to: "earn", subject: "transaction", max_points: 10 };
    const a = await enrolled(p);
    await setRules([windowed, single]);
    expect(statusOf(await earnAt(p, a.ref, 5, ctx))).toBe("posted");
    expectDeclined(await earnAt(p, a.ref, 50, ctx), "member-once");
    await setRules([single, windowed]);
    expectDeclined(await earnAt(p, a.ref, 50, ctx), "earn-max-10");
  });

  it("risk runs before the balance check", async () => {
    const p = await partnerWithCard();
    const m = await enrolled(p);
    await setRules([{ id: "burn-max", action: "deny", applies_to: "burn", subject: "transaction", max_points: 10 }]);
    expectDeclined(await burnAt(p, m.ref, 11, { ip: freshIp() }), "burn-max");
    const r = await burnAt(p, m.ref, 5, { ip: freshIp() });
    expect(statusOf(r)).toBe("422 insufficient_points");
  });
});

describe("what a window counts", () => {
  it("declined requests are not counted (risk declines and insufficient points alike); reviews are", async () => {
    const p = await partnerWithCard();
    const m = await enrolled(p);
    const ctx = { ip: freshIp() };
    expect(statusOf(await earnAt(p, m.ref, 60, ctx))).toBe("posted");
    await setRules([
      { id: "burn-max-50", action: "deny", applies_to: "burn", subject: "transaction", max_points: 50 },
      { id: "burn-review-40", action: "review", applies_to: "burn", subject: "transaction", max_points: 40 },
      { id: "member-burns", action: "deny", applies_to: "burn", subject: "member", window_seconds: HOUR, max_count: 3 },
    ]);
    for (let i = 0; i < 4; i++) expectDeclined(await burnAt(p, m.ref, 60, ctx), "burn-max-50");
    expect(statusOf(await burnAt(p, m.ref, 10, ctx))).toBe("posted");
    expect(statusOf(await burnAt(p, m.ref, 45, ctx))).toBe("review");
    for (let i = 0; i < 3; i++) expect(statusOf(await burnAt(p, m.ref, 30, ctx))).toBe("422 insufficient_points");
    expect(statusOf(await burnAt(p, m.ref, 5, ctx))).toBe("posted");
    // Counted: the posted burns and the review (3); not counted: 4 risk declines, 3 insufficient_points.
    expectDeclined(await burnAt(p, m.ref, 1, ctx), "member-burns");
  });
});

describe("declines: stored, replayed, logged", () => {
  it("the same Idempotency-Key replays the 422 byte for byte; the risk event log lists it once, filterable", async () => {
    const p = await partnerWithCard();
    const m = await enrolled(p);
    const ip = freshIp();
    await setRules([
      { id: "earn-max-100", action: "deny", applies_to: "earn", subject: "transaction", max_points: 100 },
      { id: "earn-review-50", action: "review", applies_to: "earn", subject: "transaction", max_points: 50 },
    ]);
    const first = await earnAt(p, m.ref, 101, { ip: `::ffff:${ip}`, device_id: "d-log" }, "risk-replay-1");
    expectDeclined(first, "earn-max-100");
    const again = await earnAt(p, m.ref, 101, { ip: `::ffff:${ip}`, device_id: "d-log" }, "risk-replay-1");
    expect(again.status).toBe(422);
    expect(again.text).toBe(first.text);
    expect(again.response.headers.get("Idempotent-Replayed")).toBe("true");
    // Lifting the rule does not change a stored answer.
    await setRules([]);
    expect((await earnAt(p, m.ref, 101, { ip: `::ffff:${ip}`, device_id: "d-log" }, "risk-replay-1")).text).toBe(first.text);

    await setRules([{ id: "earn-review-50", action: "review", applies_to: "earn", subject: "transaction", max_points: 50 }]);
    const review = await earnAt(p, m.ref, 60, { ip });
    expect(statusOf(review)).toBe("review");

    const events = await operator("GET", `/risk-events?partner_id=${p.id}`, undefined, { tokenOptions: { scope: "read" } });
    expect(events.status, events.text).toBe(200);
    expect(events.body.data).toHaveLength(2);
    const [reviewEvent, declineEvent] = events.body.data;
    expect(declineEvent).toMatchObject({
      rule_id: "earn-max-100",
      action: "deny",
      applies_to: "earn",
      partner_id: p.id,
      member_id: m.memberId,
      member_ref: m.ref,
      transaction_id: null,
      points: 101,
      context: { ip, device_id: "d-log" },
      request_id: JSON.parse(first.text).error.request_id,
    });
    expect(reviewEvent).toMatchObject({
      rule_id: "earn-review-50",
      action: "review",
      member_id: m.memberId,
      transaction_id: review.ok ? review.data.transaction.id : "?",
    });
    const byRule = await operator("GET", "/risk-events?rule_id=earn-max-100");
    expect(byRule.body.data.map((e: any) => e.id)).toEqual([declineEvent.id]);
    const byMember = await operator("GET", `/risk-events?member_id=${m.memberId}&limit=1`);
    expect(byMember.body.data.map((e: any) => e.id)).toEqual([reviewEvent.id]);
    const next = await operator("GET", `/risk-events?member_id=${m.memberId}&limit=1&cursor=${byMember.body.next_cursor}`);
    expect(next.body.data.map((e: any) => e.id)).toEqual([declineEvent.id]);
    expect(next.body.next_cursor).toBeNull();
  });

  it("an enrolment decline is logged too", async () => {
    const p = await partnerWithCard();
    await setRules([{ id: "blocked-range", action: "deny", applies_to: "enroll", subject: "ip", block: ["203.0.113.128/25"] }]);
    const ref = newRef();
    expectDeclined(await enrolAt(p, { ip: "203.0.113.200" }, ref), "blocked-range");
    const events = await operator("GET", "/risk-events?rule_id=blocked-range");
    expect(events.body.data).toEqual([
      expect.objectContaining({
        applies_to: "enroll",
        partner_id: p.id,
        member_id: null,
        member_ref: ref,
        context: { ip: "203.0.113.200" },
      }),
    ]);
  });
});
