import { describe, expect, it } from "vitest";
import { operator } from "../support/exchange";
import { balance, earn, enrol, expectOk, link, partnerWithCard } from "../support/ledger";

/**
 * The operator's view of a member (additive; the console's Members screen): by id or by a
 * partner's member_ref, with its links and the same balance the partners see, and its activity
 * at every partner in full. Would fail if: a lookup answered another member, a link were left
 * out, the balance disagreed with the partner API's, another partner's transaction were cut to
 * its summary, or a read token could not read it.
 */
describe("GET /admin/v1/members", () => {
  it("finds a member by id and by partner + member_ref, with links, balance and full activity", async () => {
    const a = await partnerWithCard();
    const b = await partnerWithCard();
    // Another member first, with another balance: each lookup must show its own member's.
    const other = await enrol(a);
    expectOk(await earn(a, other.ref, 7), 201);
    const { ref, memberId } = await enrol(a);
    const refAtB = await link(a, ref, b);
    expectOk(await earn(a, ref, 40), 201);
    expectOk(await earn(b, refAtB, 2), 201);

    const byId = await operator("GET", `/members/${memberId}`, undefined, { tokenOptions: { scope: "read" } });
    expect(byId.status, byId.text).toBe(200);
    expect(byId.body.member.id).toBe(memberId);
    expect(byId.body.member.links.map((l: { partner_id: string; member_ref: string }) => [l.partner_id, l.member_ref])).toEqual([
      [a.id, ref],
      [b.id, refAtB],
    ]);
    const partnerSees = await balance(a, ref);
    expect(byId.body.balance.points).toEqual(partnerSees.points);
    expect(byId.body.balance.expiring).toEqual(partnerSees.expiring);

    const byRef = await operator("GET", `/members?partner_id=${b.id}&member_ref=${refAtB}`);
    expect(byRef.status, byRef.text).toBe(200);
    expect(byRef.body.member.id).toBe(memberId);
    expect(byRef.body.balance.points).toEqual(partnerSees.points);
    const otherView = await operator("GET", `/members/${other.memberId}`);
    expect(otherView.body.balance.points).toEqual((await balance(a, other.ref)).points);
    expect(otherView.body.balance.points.available).toBe(7);

    const page1 = await operator("GET", `/members/${memberId}/activity?limit=1`);
    expect(page1.status, page1.text).toBe(200);
    expect(page1.body.data).toHaveLength(1);
    // The newest is b's earn, in full (amount/order_ref fields of the full object), not a summary.
    expect(page1.body.data[0]).toMatchObject({ type: "earn", points: 2, partner: { id: b.id }, member_id: memberId });
    const page2 = await operator("GET", `/members/${memberId}/activity?limit=1&cursor=${page1.body.next_cursor}`);
    expect(page2.body.data[0]).toMatchObject({ type: "earn", points: 40, partner: { id: a.id }, member_id: memberId });
  });

  it("answers 404 member_not_found for an unknown id or ref, naming the param", async () => {
    const a = await partnerWithCard();
    const r = await operator("GET", "/members/mbr_nope");
    expect(r.status).toBe(404);
    expect(r.body.error).toMatchObject({ code: "member_not_found", param: "member_id" });
    const byRef = await operator("GET", `/members?partner_id=${a.id}&member_ref=nobody`);
    expect(byRef.status).toBe(404);
    expect(byRef.body.error).toMatchObject({ code: "member_not_found", param: "member_ref" });
    const activity = await operator("GET", "/members/mbr_nope/activity");
    expect(activity.status).toBe(404);
  });
});
