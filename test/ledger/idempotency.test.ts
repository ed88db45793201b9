import { afterEach, describe, expect, it } from "vitest";
import { operator } from "../support/exchange";
import { checkInvariants } from "../support/invariants";
import { balance, burn, CONTEXT, earn, enrol, expectOk, partnerWithCard, sql } from "../support/ledger";
import { capture, countTransactions, expectError, hold } from "../support/ledger-flows";
import { armFault, disarmFaults } from "../support/row-counts";

afterEach(async () => {
  await checkInvariants();
});

let n = 0;
const newKey = (label: string) => `${label}-${Date.now().toString(36)}-${n++}`;

describe("idempotency (partner-api.md §3)", () => {
  it("replays the first response byte for byte, with Idempotent-Replayed, and applies nothing twice", async () => {
    const p = await partnerWithCard();
    const { ref, memberId } = await enrol(p);
    const key = newKey("earn");
    const body = { member_ref: ref, points: 70, order_ref: "R-1", context: CONTEXT };
    const first = await p.client.post("/v1/earn", body, { idempotencyKey: key });
    expect(first.status).toBe(201);
    expect(first.response.headers.get("Idempotent-Replayed")).toBeNull();
    const second = await p.client.post("/v1/earn", body, { idempotencyKey: key });
    expect(second.status).toBe(201);
    expect(second.response.headers.get("Idempotent-Replayed")).toBe("true");
    expect(second.text).toBe(first.text);
    expect(await sql("SELECT COUNT(*) AS n FROM transactions WHERE member_id = ? AND order_ref = 'R-1'", memberId)).toEqual([
      { n: 1 },
    ]);
    expect((await balance(p, ref)).points.available).toBe(70);
  });

  it("answers 409 idempotency_key_reused for the same key with another body or path", async () => {
    const p = await partnerWithCard();
    const { ref, memberId } = await enrol(p);
    const key = newKey("reuse");
    expectOk(await earn(p, ref, 10, {}), 201);
    expectOk(await p.client.post("/v1/earn", { member_ref: ref, points: 10, context: CONTEXT }, { idempotencyKey: key }), 201);
    const otherBody = await p.client.post("/v1/earn", { member_ref: ref, points: 11, context: CONTEXT }, { idempotencyKey: key });
    expectError(otherBody, 409, "idempotency_key_reused");
    const otherPath = await p.client.post(
      "/v1/burns",
      { member_ref: ref, points: 10, context: CONTEXT },
      { idempotencyKey: key },
    );
    expectError(otherPath, 409, "idempotency_key_reused");
    expect(await countTransactions(memberId)).toBe(2);
    expect((await balance(p, ref)).points.available).toBe(20);
  });

  it("scopes keys to the partner", async () => {
    const a = await partnerWithCard();
    const b = await partnerWithCard();
    const { ref: refA } = await enrol(a);
    const { ref: refB } = await enrol(b);
    const key = newKey("shared");
    expectOk(await a.client.post("/v1/earn", { member_ref: refA, points: 5, context: CONTEXT }, { idempotencyKey: key }), 201);
    const other = await b.client.post("/v1/earn", { member_ref: refB, points: 6, context: CONTEXT }, { idempotencyKey: key });
    expect(other.status).toBe(201);
    expect(other.replayed).toBe(false);
  });

  it("answers 400 idempotency_key_missing to a POST without the header", async () => {
    const p = await partnerWithCard();
    const { ref, memberId } = await enrol(p);
    const r = await p.client.request("POST", "/v1/earn", { member_ref: ref, points: 10, context: CONTEXT });
    expectError(r, 400, "idempotency_key_missing");
    const b = await p.client.request("POST", "/v1/burns", { member_ref: ref, points: 1, context: CONTEXT });
    expectError(b, 400, "idempotency_key_missing");
    expect(await countTransactions(memberId)).toBe(0);
  });

  it("says where the key is required: on every partner POST, and on the operator POST at hand", async () => {
    const p = await partnerWithCard();
    const { ref } = await enrol(p);
    const partnerPost = await p.client.request("POST", "/v1/earn", { member_ref: ref, points: 10, context: CONTEXT });
    expectError(partnerPost, 400, "idempotency_key_missing");
    expect(partnerPost.ok ? undefined : partnerPost.error.message).toBe(
      "the Idempotency-Key header is required on every POST under /v1/",
    );

    // Only some operator POSTs take a key (creating a partner does not), so the message names the route.
    const path = `/partners/${p.id}/payments`;
    const operatorPost = await operator("POST", path, { amount: { value: "1.00", unit: "CNY" }, reference: "r-1" });
    expect({ status: operatorPost.status, code: operatorPost.body.error.code }).toEqual({
      status: 400,
      code: "idempotency_key_missing",
    });
    expect(operatorPost.body.error.message).toBe(`the Idempotency-Key header is required on POST /admin/v1${path}`);
    const withoutKey = await operator("POST", "/partners", {
      id: `${p.id}-x`,
      name: "No key needed",
      funding: { mode: "postpaid", credit_limit: { value: "10.00", unit: "CNY" } },
    });
    expect(withoutKey.status, withoutKey.text).toBe(201);
  });

  it("stores a business failure and replays it even after the member has enough points", async () => {
    const p = await partnerWithCard();
    const { ref, memberId } = await enrol(p);
    const key = newKey("burn");
    const body = { member_ref: ref, points: 100, context: CONTEXT };
    const first = await p.client.post("/v1/burns", body, { idempotencyKey: key });
    expectError(first, 422, "insufficient_points");
    expectOk(await earn(p, ref, 200), 201);
    const again = await p.client.post("/v1/burns", body, { idempotencyKey: key });
    expectError(again, 422, "insufficient_points");
    expect(again.text).toBe(first.text);
    expect(again.replayed).toBe(true);
    expect(await sql("SELECT COUNT(*) AS n FROM transactions WHERE member_id = ? AND type = 'burn'", memberId)).toEqual([
      { n: 0 },
    ]);
    // A new key is a new request.
    expectOk(await burn(p, ref, 100), 201);
  });

  it("stores neither validation nor authentication failures: a corrected retry reuses the key", async () => {
    const p = await partnerWithCard();
    const { ref } = await enrol(p);
    const key = newKey("fix");
    const typo = await p.client.post("/v1/earn", { member_ref: ref, pointz: 10, context: CONTEXT }, { idempotencyKey: key });
    expect(typo.status).toBe(400);
    const invalid = await p.client.post("/v1/earn", { member_ref: ref, points: -5, context: CONTEXT }, { idempotencyKey: key });
    expect(invalid.status).toBe(400);
    const body = { member_ref: ref, points: 10, context: CONTEXT };
    const unsigned = await p.client.post("/v1/earn", body, {
      idempotencyKey: key,
      headers: { "Coalition-Signature": "not.a.jws" },
    });
    expect(unsigned.status).toBe(401);
    const fixed = await p.client.post("/v1/earn", body, { idempotencyKey: key });
    expect(fixed.status).toBe(201);
    expect(fixed.replayed).toBe(false);
    expect((await balance(p, ref)).points.available).toBe(10);
  });

  it("replays a capture instead of answering hold_not_open", async () => {
    const p = await partnerWithCard();
    const { ref } = await enrol(p);
    expectOk(await earn(p, ref, 100), 201);
    const h = expectOk(await hold(p, ref, 30), 201).transaction.id;
    const key = newKey("capture");
    const first = await capture(p, h, undefined, key);
    expect(first.status).toBe(200);
    const again = await capture(p, h, undefined, key);
    expect(again.status).toBe(200);
    expect(again.replayed).toBe(true);
    expect(again.text).toBe(first.text);
    expectError(await capture(p, h), 409, "hold_not_open");
    expect((await balance(p, ref)).points.available).toBe(70);
  });

  it("a key whose first request died mid-flight is usable again at once: its one batch left nothing, no claim either", async () => {
    const p = await partnerWithCard();
    const { ref, memberId } = await enrol(p);
    const key = newKey("dead");
    const body = { member_ref: ref, points: 25, context: CONTEXT };
    await armFault("lots", ["INSERT"]);
    try {
      const died = await p.client.post("/v1/earn", body, { idempotencyKey: key });
      expect(died.status).toBeGreaterThanOrEqual(500);
    } finally {
      await disarmFaults();
    }
    expect(await sql("SELECT 1 FROM idempotency_keys WHERE scope = ? AND key = ?", p.id, key)).toEqual([]);
    expect(await countTransactions(memberId)).toBe(0);
    const revived = await p.client.post("/v1/earn", body, { idempotencyKey: key });
    expect(revived.status).toBe(201);
    const replay = await p.client.post("/v1/earn", body, { idempotencyKey: key });
    expect(replay.replayed).toBe(true);
    expect(replay.text).toBe(revived.text);
    expect(await countTransactions(memberId)).toBe(1);
  });
});
