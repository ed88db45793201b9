import { describe, expect, it } from "vitest";
import {
  InvalidRequestError,
  PartnerApiError,
  PartnerClient,
  type PartnerCredentials,
} from "../../packages/partner-sdk/src/index";
import { BASE_URL, workerFetch } from "../support/exchange";
import { CONTEXT, newRef, partnerWithCard } from "../support/ledger";

/** The SDK's typed methods against the real worker: every partner endpoint, typed errors, cursors. */

function sdk(credentials: PartnerCredentials, fetch: (r: Request) => Promise<Response> = workerFetch): PartnerClient {
  return new PartnerClient({ baseUrl: BASE_URL, credentials, fetch, maxRetries: 0 });
}

describe("partner SDK: typed methods", () => {
  it("enrols, links, earns, burns, holds, captures, voids, reverses and reads, as the contract says", async () => {
    const a = sdk((await partnerWithCard()).credentials);
    const b = sdk((await partnerWithCard()).credentials);
    const ref = newRef();
    const first = await a.enrol(ref, { context: CONTEXT });
    expect(first.created).toBe(true);
    const again = await a.enrol(ref, { context: CONTEXT });
    expect(again).toEqual({ member: first.member, created: false });

    const code = await a.createLinkCode(ref);
    expect(code.link_code.length).toBeGreaterThanOrEqual(10);
    const linked = await b.enrol(newRef("b"), { link_code: code.link_code, context: CONTEXT });
    expect(linked.member.id).toBe(first.member.id);

    const session = await a.createMemberSession(ref, { ttl_seconds: 120 });
    expect(session.token).toMatch(/^mst_/);
    expect(Date.parse(session.expires_at)).toBeLessThanOrEqual(Date.now() + 120_000);

    const quote = await a.quote({ unit: "CNY", value: "58.00" });
    expect(quote.quote.earn?.points).toBe(58);
    const earned = await a.earn({ member_ref: ref, amount: { value: "58.00", unit: "CNY" }, context: CONTEXT });
    expect(earned.transaction).toMatchObject({ type: "earn", status: "posted", points: 58 });
    expect(earned.balance.points.available).toBe(58);

    const burned = await a.burn({ member_ref: ref, points: 8, context: CONTEXT });
    expect(burned.transaction).toMatchObject({ type: "burn", status: "posted", points: 8 });
    const hold = await a.burn({ member_ref: ref, points: 10, capture: false, context: CONTEXT });
    expect(hold.transaction.status).toBe("held");
    const captured = await a.capture(hold.transaction.id, { points: 4 });
    expect(captured.transaction).toMatchObject({ id: hold.transaction.id, status: "posted" });
    const hold2 = await a.burn({ member_ref: ref, points: 5, capture: false, context: CONTEXT });
    expect((await a.void(hold2.transaction.id)).transaction.status).toBe("voided");
    const reversal = await a.reverse(burned.transaction.id, { points: 3, reason: "refund" });
    expect(reversal.transaction).toMatchObject({ type: "reversal", points: 3 });
    expect(reversal.balance.points.available).toBe(58 - 8 - 4 + 3);
    expect((await a.transaction(earned.transaction.id)).transaction.id).toBe(earned.transaction.id);
    expect((await a.balance(ref)).points.available).toBe(49);
    expect((await a.whoami()).partner.id).toBe(a.partnerId);
  });

  it("iterates a list across its cursors, one page at a time, and stops when the caller does", async () => {
    const partner = await partnerWithCard();
    let requests = 0;
    const a = sdk(partner.credentials, (r) => {
      requests++;
      return workerFetch(r);
    });
    const ref = newRef();
    await a.enrol(ref, { context: CONTEXT });
    for (const points of [1, 2, 3]) await a.earn({ member_ref: ref, points, context: CONTEXT });
    requests = 0;
    const all = [];
    for await (const entry of a.activity(ref, { limit: 1 })) all.push(entry.points);
    expect(all).toEqual([3, 2, 1]); // newest first
    expect(requests).toBe(3); // one page each; the third says next_cursor null
    requests = 0;
    for await (const _ of a.activity(ref, { limit: 1 })) break;
    expect(requests).toBe(1);
    const page = await a.activityPage(ref, { limit: 2 });
    expect(page.data).toHaveLength(2);
    expect(page.next_cursor).toEqual(expect.any(String));
  });

  it("throws typed errors carrying type, code, param and request_id", async () => {
    const a = sdk((await partnerWithCard()).credentials);
    const ref = newRef();
    await a.enrol(ref, { context: CONTEXT });
    const burn = a.burn({ member_ref: ref, points: 5, context: CONTEXT }, { idempotencyKey: `k-${ref}` });
    const error = await burn.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error).toMatchObject({ status: 422, type: "invalid_request", code: "insufficient_points", replayed: false });
    expect((error as PartnerApiError).requestId).toEqual(expect.any(String));
    // The stored business outcome replays under the same key (§3), and says so.
    const replay = await a.burn({ member_ref: ref, points: 5, context: CONTEXT }, { idempotencyKey: `k-${ref}` }).catch((e) => e);
    expect(replay).toMatchObject({ code: "insufficient_points", replayed: true });

    const invalid = await a.earn({ member_ref: ref, points: 0, context: CONTEXT }).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(PartnerApiError);
    expect(invalid).toMatchObject({ status: 400, type: "invalid_request", param: "points" });
    const missing = await a.balance("nobody-here").catch((e: unknown) => e);
    expect(missing).toMatchObject({ status: 404, code: "member_not_found" });
  });
});
