import { describe, expect, it } from "vitest";
import { bucketOf, bucketOfMemberId, parseMemberIdBucket } from "../../src/shards/buckets";
import { operator } from "../support/exchange";
import { CONTEXT, enrol, expectOk, link, newRef, partnerWithCard } from "../support/ledger";

/**
 * Through the HTTP API: a new member's id names the bucket of the enrolling partner and its
 * member_ref (docs/design/shards.md), and keeps it, whoever links to it later. Would fail if
 * enrolment minted ids another way (a legacy `newId("mbr")`, a constant bucket, the bucket of
 * another partner or ref), or if a link or a repeated enrolment changed the id.
 */
describe("PUT /v1/members/{member_ref}: the member id names its bucket", () => {
  it("carries bucketOf(enrolling partner, member_ref)", async () => {
    const a = await partnerWithCard();
    const refs = [newRef(), newRef("x"), "M.000:42-z", ...Array.from({ length: 9 }, () => newRef())];
    const seen = new Set<number>();
    for (const ref of refs) {
      const { memberId } = await enrol(a, ref);
      const bucket = await bucketOf(a.id, ref);
      expect(memberId, ref).toMatch(/^mbr_[0-9a-f]{3}_[0-9a-hjkmnp-tv-z]{16}$/);
      expect(parseMemberIdBucket(memberId), ref).toBe(bucket);
      expect(await bucketOfMemberId(memberId)).toBe(bucket);
      seen.add(bucket);
    }
    expect(seen.size).toBeGreaterThan(1); // each ref its own bucket, not one for all
  });

  it("depends on the partner: the same ref at two partners lands in the two partners' buckets", async () => {
    const a = await partnerWithCard();
    const b = await partnerWithCard();
    const ref = newRef();
    const atA = await enrol(a, ref);
    const atB = await enrol(b, ref);
    expect(parseMemberIdBucket(atA.memberId)).toBe(await bucketOf(a.id, ref));
    expect(parseMemberIdBucket(atB.memberId)).toBe(await bucketOf(b.id, ref));
  });

  it("keeps the id through a repeated enrolment and a link from another partner's ref", async () => {
    const a = await partnerWithCard();
    const b = await partnerWithCard();
    const { ref, memberId } = await enrol(a, newRef());
    const again = expectOk(await a.client.put<{ member: { id: string } }>(`/v1/members/${ref}`, { context: CONTEXT }), 200);
    expect(again.member.id).toBe(memberId);
    const refAtB = await link(a, ref, b);
    const linked = expectOk(await b.client.put<{ member: { id: string } }>(`/v1/members/${refAtB}`, { context: CONTEXT }), 200);
    // The bucket is the enrolling partner's, not the linking partner's.
    expect(linked.member.id).toBe(memberId);
    expect(parseMemberIdBucket(linked.member.id)).toBe(await bucketOf(a.id, ref));
    // And the id is an ordinary opaque id for the operator API.
    const view = await operator("GET", `/members/${memberId}`);
    expect(view.status, view.text).toBe(200);
    expect(view.body.member.links).toHaveLength(2);
  });
});
