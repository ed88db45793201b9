import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ApiResult } from "../../packages/partner-sdk/src/index";
import { isIpAddress } from "../../src/members/schemas";
import { enrolMember, resolveMember } from "../../src/members/store";
import { newMemberId } from "../../src/shards/buckets";
import { createPartner, type TestPartner } from "../support/exchange";

interface MemberBody {
  member: { id: string; member_ref: string; created_at: string; linked_at: string };
}
interface LinkCodeBody {
  link_code: string;
  expires_at: string;
}

const ctx = { ip: "203.0.113.7", device_id: "d-9f2" };
let refCounter = 0;
const newRef = (prefix = "c") => `${prefix}-${Date.now().toString(36)}-${refCounter++}`;

async function enrol(p: TestPartner, ref: string, body: Record<string, unknown> = { context: ctx }) {
  return p.client.put<MemberBody>(`/v1/members/${encodeURIComponent(ref)}`, body);
}

async function enrolled(p: TestPartner, ref: string): Promise<string> {
  const r = await enrol(p, ref);
  if (!r.ok) throw new Error(`enrol failed: ${r.text}`);
  return r.data.member.id;
}

async function linkCode(p: TestPartner, ref: string): Promise<string> {
  const r = await p.client.post<LinkCodeBody>(`/v1/members/${encodeURIComponent(ref)}/link-codes`, {});
  if (!r.ok) throw new Error(`link code failed: ${r.text}`);
  return r.data.link_code;
}

async function codeRow(code: string) {
  return env.DB.prepare("SELECT * FROM link_codes WHERE code = ?").bind(code).first<{
    member_id: string;
    issued_by: string;
    expires_at: number;
    used_at: number | null;
    used_by: string | null;
  }>();
}

describe("PUT /v1/members/{member_ref}", () => {
  it("creates a member (201), then returns the existing link (200)", async () => {
    const p = await createPartner();
    const ref = newRef();
    const first = await enrol(p, ref);
    expect(first.status).toBe(201);
    if (!first.ok) throw new Error(first.text);
    const { member } = first.data;
    expect(member.id).toMatch(/^mbr_[0-9a-f]{3}_[0-9a-z]{16}$/);
    expect(member.member_ref).toBe(ref);
    expect(member.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(member.linked_at).toBe(member.created_at);

    const again = await enrol(p, ref, { context: { ip: "2001:db8::1" } });
    expect(again.status).toBe(200);
    if (again.ok) expect(again.data.member).toEqual(member);

    expect(await resolveMember(env.DB, p.id, ref)).toEqual({ memberId: member.id, createdAt: expect.any(Number) });
    expect(await resolveMember(env.DB, p.id, "nobody")).toBeUndefined();
  });

  it("creates exactly one member for 10 simultaneous PUTs of a new ref", async () => {
    const p = await createPartner();
    const ref = newRef("race");
    const results = await Promise.all(Array.from({ length: 10 }, () => enrol(p, ref)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    const ids = new Set(results.map((r) => (r.ok ? r.data.member.id : r.text)));
    expect(ids.size).toBe(1);
    const members = await env.DB.prepare("SELECT COUNT(*) AS n FROM members WHERE created_by = ?")
      .bind(p.id)
      .first<{ n: number }>();
    expect(members?.n).toBe(1);
  });

  it("creates exactly one member when the enrolment batch itself races (no HTTP in between)", async () => {
    const p = await createPartner();
    const ref = newRef("store-race");
    const now = Date.now();
    const results = await Promise.all(
      Array.from({ length: 10 }, async () =>
        enrolMember(env.DB, {
          partnerId: p.id,
          memberRef: ref,
          newMemberId: await newMemberId(p.id, ref), // each racer its own candidate id, as over HTTP
          context: { ip: "203.0.113.7" },
          now,
        }),
      ),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.memberId)).size).toBe(1);
    const members = await env.DB.prepare("SELECT COUNT(*) AS n FROM members WHERE created_by = ?")
      .bind(p.id)
      .first<{ n: number }>();
    expect(members?.n).toBe(1);
  });

  it("refuses bad member_refs with 400 invalid_param", async () => {
    const p = await createPartner();
    for (const ref of ["mbr_123", "a b", "a/b", "x".repeat(129), "é"]) {
      const r = await enrol(p, ref);
      expect(r.status, ref).toBe(400);
      if (!r.ok) expect(r.error, ref).toMatchObject({ type: "invalid_request", code: "invalid_param", param: "member_ref" });
    }
    const ok = await enrol(p, `A.b_c:d-${"9".repeat(100)}`);
    expect(ok.status).toBe(201);
  });

  it("refuses unknown fields and bad bodies", async () => {
    const p = await createPartner();
    const ref = newRef();
    const cases: [unknown, string, string | undefined][] = [
      [{ context: ctx, extra: 1 }, "unknown_field", "extra"],
      [{ context: { ...ctx, user_agent: "x" } }, "unknown_field", "context.user_agent"],
      [{}, "invalid_body", "context"],
      [{ context: {} }, "invalid_body", "context.ip"],
      [{ context: { ip: "203.0.113.7", device_id: "" } }, "invalid_body", "context.device_id"],
      [{ context: { ip: "203.0.113.7", device_id: "d".repeat(129) } }, "invalid_body", "context.device_id"],
      [{ context: ctx, link_code: "" }, "invalid_body", "link_code"],
      [{ context: ctx, link_code: "X".repeat(65) }, "invalid_body", "link_code"],
      [{ context: ctx, link_code: 12345678901 }, "invalid_body", "link_code"],
    ];
    for (const [body, code, param] of cases) {
      const r = await enrol(p, ref, body as Record<string, unknown>);
      expect(r.status, JSON.stringify(body)).toBe(400);
      if (!r.ok) expect(r.error, JSON.stringify(body)).toMatchObject({ code, ...(param ? { param } : {}) });
    }
    expect(await resolveMember(env.DB, p.id, ref)).toBeUndefined();
  });

  it("refuses an IP that is not IPv4 or IPv6", async () => {
    const p = await createPartner();
    for (const ip of [
      "999.1.1.1",
      "1.2.3",
      "1.2.3.4.5",
      "01.2.3.4",
      "::g",
      "1:2:3:4:5:6:7:8:9",
      "1::2::3",
      "fe80::1%eth0",
      "",
      "localhost",
    ]) {
      const r = await enrol(p, newRef(), { context: { ip } });
      expect(r.status, ip).toBe(400);
      if (!r.ok) expect(r.error, ip).toMatchObject({ code: "invalid_body", param: "context.ip" });
    }
  });

  it("validates IP addresses", () => {
    const valid = [
      "0.0.0.0",
      "255.255.255.255",
      "203.0.113.7",
      "::",
      "::1",
      "2001:db8::1",
      "2001:0db8:0000:0000:0000:ff00:0042:8329",
      "::ffff:203.0.113.7",
      "64:ff9b::192.0.2.33",
      "1:2:3:4:5:6:7::",
      "1:2:3:4:5:6:1.2.3.4",
      "FE80::A",
    ];
    const invalid = [
      "256.0.0.1",
      "1.2.3.04",
      " 1.2.3.4",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8::",
      "1.2.3.4::",
      "::1.2.3.4:1",
      ":1::",
      "1:::2",
      "12345::",
      "[::1]",
      "1:2:3:4:5:6:7:1.2.3.4",
    ];
    for (const ip of valid) expect(isIpAddress(ip), ip).toBe(true);
    for (const ip of invalid) expect(isIpAddress(ip), ip).toBe(false);
  });
});

describe("link codes", () => {
  it("issues a 12-character single-use code valid 10 minutes, idempotently", async () => {
    const a = await createPartner();
    const ref = newRef();
    const memberId = await enrolled(a, ref);
    const before = Date.now();
    const key = `idk_link_${newRef()}`;
    const r = await a.client.post<LinkCodeBody>(`/v1/members/${ref}/link-codes`, {}, { idempotencyKey: key });
    expect(r.status).toBe(201);
    if (!r.ok) throw new Error(r.text);
    expect(r.data.link_code).toMatch(/^[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{12}$/);
    const expires = Date.parse(r.data.expires_at);
    expect(expires).toBeGreaterThanOrEqual(Math.floor((before + 600_000) / 1000) * 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 600_000);
    expect(await codeRow(r.data.link_code)).toMatchObject({ member_id: memberId, issued_by: a.id, used_at: null });

    const replay = await a.client.post<LinkCodeBody>(`/v1/members/${ref}/link-codes`, {}, { idempotencyKey: key });
    expect(replay.status).toBe(201);
    expect(replay.replayed).toBe(true);
    expect(replay.text).toBe(r.text);

    const other = await linkCode(a, ref);
    expect(other).not.toBe(r.data.link_code);

    // The body is optional.
    const bodiless = await a.client.request<LinkCodeBody>("POST", `/v1/members/${ref}/link-codes`, undefined, {
      idempotencyKey: `idk_nobody_${newRef()}`,
    });
    expect(bodiless.status).toBe(201);
  });

  it("refuses an unknown field in the link-code body", async () => {
    const a = await createPartner();
    const ref = newRef();
    await enrolled(a, ref);
    const r = await a.client.post(`/v1/members/${ref}/link-codes`, { ttl: 60 });
    expect(r.status).toBe(400);
    if (!r.ok) expect(r.error).toMatchObject({ code: "unknown_field", param: "ttl" });
  });

  it("answers 404 member_not_found for a ref this partner does not know (stored and replayed)", async () => {
    const a = await createPartner();
    const b = await createPartner();
    const ref = newRef();
    await enrolled(a, ref);
    const key = `idk_nf_${newRef()}`;
    const r = await b.client.post(`/v1/members/${ref}/link-codes`, {}, { idempotencyKey: key });
    expect(r.status).toBe(404);
    if (!r.ok) expect(r.error).toMatchObject({ type: "invalid_request", code: "member_not_found" });
    const replay = await b.client.post(`/v1/members/${ref}/link-codes`, {}, { idempotencyKey: key });
    expect(replay.status).toBe(404);
    expect(replay.replayed).toBe(true);
  });

  it("links another partner's ref to the member (201), then answers 200 for the same link, and uses the code up", async () => {
    const a = await createPartner();
    const b = await createPartner();
    const refA = newRef("a");
    const refB = newRef("b");
    const memberId = await enrolled(a, refA);
    const code = await linkCode(a, refA);

    const linked = await enrol(b, refB, { link_code: code, context: ctx });
    expect(linked.status).toBe(201);
    if (!linked.ok) throw new Error(linked.text);
    expect(linked.data.member.id).toBe(memberId);
    expect(linked.data.member.member_ref).toBe(refB);
    expect(await codeRow(code)).toMatchObject({ used_by: b.id, used_at: expect.any(Number) });
    expect(await resolveMember(env.DB, b.id, refB)).toMatchObject({ memberId });

    // A retry of the same PUT: the link exists, nothing changes.
    const retry = await enrol(b, refB, { link_code: code, context: ctx });
    expect(retry.status).toBe(200);
    if (retry.ok) expect(retry.data.member).toEqual(linked.data.member);
    // And without the code, it is the same link.
    const plain = await enrol(b, refB);
    expect(plain.status).toBe(200);
    if (plain.ok) expect(plain.data.member.id).toBe(memberId);

    // Single use: another ref (at a third partner) cannot use it.
    const c = await createPartner();
    const reuse = await enrol(c, newRef("c"), { link_code: code, context: ctx });
    expect(reuse.status).toBe(422);
    if (!reuse.ok) expect(reuse.error).toMatchObject({ type: "invalid_request", code: "link_code_invalid" });
  });

  it("accepts a code typed in lower case with separators", async () => {
    const a = await createPartner();
    const b = await createPartner();
    const refA = newRef("a");
    const memberId = await enrolled(a, refA);
    const code = await linkCode(a, refA);
    const typed = `${code.slice(0, 4)}-${code.slice(4, 8)} ${code.slice(8)}`.toLowerCase();
    const r = await enrol(b, newRef("b"), { link_code: typed, context: ctx });
    expect(r.status).toBe(201);
    if (r.ok) expect(r.data.member.id).toBe(memberId);
  });

  it("answers 422 link_code_invalid for an unknown or expired code, and creates nothing", async () => {
    const a = await createPartner();
    const b = await createPartner();
    const refA = newRef("a");
    await enrolled(a, refA);

    const refB = newRef("b");
    const unknown = await enrol(b, refB, { link_code: "ABCDEFGHJKLM", context: ctx });
    expect(unknown.status).toBe(422);
    if (!unknown.ok) expect(unknown.error).toMatchObject({ code: "link_code_invalid" });

    const code = await linkCode(a, refA);
    await env.DB.prepare("UPDATE link_codes SET expires_at = ? WHERE code = ?")
      .bind(Date.now() - 1, code)
      .run();
    const expired = await enrol(b, refB, { link_code: code, context: ctx });
    expect(expired.status).toBe(422);
    if (!expired.ok) expect(expired.error).toMatchObject({ code: "link_code_invalid" });
    expect(await codeRow(code)).toMatchObject({ used_at: null });
    expect(await resolveMember(env.DB, b.id, refB)).toBeUndefined();
    const members = await env.DB.prepare("SELECT COUNT(*) AS n FROM members WHERE created_by = ?")
      .bind(b.id)
      .first<{ n: number }>();
    expect(members?.n).toBe(0);
  });

  it("answers 409 member_ref_conflict for a ref linked to another member, and leaves the code unused", async () => {
    const a = await createPartner();
    const b = await createPartner();
    const refA = newRef("a");
    await enrolled(a, refA);
    const refB = newRef("b");
    const otherMember = await enrolled(b, refB);

    const code = await linkCode(a, refA);
    const r = await enrol(b, refB, { link_code: code, context: ctx });
    expect(r.status).toBe(409);
    if (!r.ok) expect(r.error).toMatchObject({ type: "invalid_request", code: "member_ref_conflict" });
    expect(await codeRow(code)).toMatchObject({ used_at: null });
    expect(await resolveMember(env.DB, b.id, refB)).toMatchObject({ memberId: otherMember });

    // The code still works for a fresh ref.
    const fresh = await enrol(b, newRef("b"), { link_code: code, context: ctx });
    expect(fresh.status).toBe(201);
  });

  it("answers 409 when the code's member is already linked to this partner under another ref", async () => {
    const a = await createPartner();
    const b = await createPartner();
    const refA = newRef("a");
    await enrolled(a, refA);
    const refB = newRef("b");
    const first = await enrol(b, refB, { link_code: await linkCode(a, refA), context: ctx });
    expect(first.status).toBe(201);

    const second = await linkCode(a, refA);
    const r = await enrol(b, newRef("b2"), { link_code: second, context: ctx });
    expect(r.status).toBe(409);
    if (!r.ok) expect(r.error.code).toBe("member_ref_conflict");
    expect(await codeRow(second)).toMatchObject({ used_at: null });

    // The ref already linked to that member: 200, and the code is not consumed.
    const same = await enrol(b, refB, { link_code: second, context: ctx });
    expect(same.status).toBe(200);
    expect(await codeRow(second)).toMatchObject({ used_at: null });
  });

  it("lets only one of two simultaneous PUTs with one code use it", async () => {
    const a = await createPartner();
    const b = await createPartner();
    const c = await createPartner();
    const refA = newRef("a");
    await enrolled(a, refA);
    const code = await linkCode(a, refA);
    const [x, y] = await Promise.all([
      enrol(b, newRef("b"), { link_code: code, context: ctx }),
      enrol(c, newRef("c"), { link_code: code, context: ctx }),
    ]);
    expect([x.status, y.status].sort()).toEqual([201, 422]);
  });
});

describe("GET /v1/members/{member_ref}/activity", () => {
  async function insertTxn(row: Record<string, unknown>): Promise<string> {
    const id = `txn_test${Math.random().toString(36).slice(2, 14)}`;
    const full: Record<string, unknown> = {
      id,
      direction: 1,
      occurred_at: Date.now(),
      booked_at: Date.now(),
      order_ref: null,
      amount_value: null,
      amount_unit: null,
      rate: null,
      available_at: null,
      expires_at: null,
      ...row,
    };
    const cols = Object.keys(full);
    await env.DB.prepare(`INSERT INTO transactions (${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`)
      .bind(...cols.map((k) => full[k]))
      .run();
    return id;
  }

  it("lists every partner's transactions newest first, hides other partners' details, applies time-driven states", async () => {
    const a = await createPartner({ name: "Brew Coffee" });
    const b = await createPartner({ name: "Sky Air" });
    const refA = newRef("a");
    const refB = newRef("b");
    const memberId = await enrolled(a, refA);
    const link = await enrol(b, refB, { link_code: await linkCode(a, refA), context: ctx });
    expect(link.status).toBe(201);

    const t0 = Date.parse("2026-11-23T06:00:00Z");
    const now = Date.now();
    const ids = {
      aEarn: await insertTxn({
        type: "earn",
        status: "posted",
        partner_id: a.id,
        member_id: memberId,
        points: 58,
        order_ref: "A-1001",
        amount_value: "58.00",
        amount_unit: "CNY",
        rate: "1",
        booked_at: t0,
      }),
      bEarnReleased: await insertTxn({
        type: "earn",
        status: "pending",
        partner_id: b.id,
        member_id: memberId,
        points: 300,
        order_ref: "SKY-1",
        amount_value: "600.00",
        amount_unit: "CNY",
        rate: "0.5",
        booked_at: t0 + 1000,
        available_at: now - 1000,
      }),
      aHoldExpired: await insertTxn({
        type: "burn",
        status: "held",
        direction: -1,
        partner_id: a.id,
        member_id: memberId,
        points: 20,
        booked_at: t0 + 2000,
        expires_at: now - 1000,
      }),
      bHoldOpen: await insertTxn({
        type: "burn",
        status: "held",
        direction: -1,
        partner_id: b.id,
        member_id: memberId,
        points: 10,
        order_ref: "SKY-2",
        booked_at: t0 + 3000,
        expires_at: now + 600_000,
      }),
      aEarnPending: await insertTxn({
        type: "earn",
        status: "pending",
        partner_id: a.id,
        member_id: memberId,
        points: 7,
        booked_at: t0 + 4000,
        available_at: now + 86_400_000,
      }),
    };

    const seenByA = await a.client.get<{ data: any[]; next_cursor: string | null }>(`/v1/members/${refA}/activity`);
    expect(seenByA.status).toBe(200);
    if (!seenByA.ok) throw new Error(seenByA.text);
    expect(seenByA.data.next_cursor).toBeNull();
    expect(seenByA.data.data).toEqual([
      {
        id: ids.aEarnPending,
        type: "earn",
        status: "pending",
        points: 7,
        member_id: memberId,
        partner: { id: a.id, name: "Brew Coffee" },
        order_ref: null,
        rate: null,
        occurred_at: expect.any(String),
        created_at: "2026-11-23T06:00:04Z",
        available_at: expect.any(String),
      },
      {
        id: ids.bHoldOpen,
        type: "burn",
        status: "held",
        points: 10,
        partner: { id: b.id, name: "Sky Air" },
        created_at: "2026-11-23T06:00:03Z",
      },
      {
        id: ids.aHoldExpired,
        type: "burn",
        status: "voided",
        points: 20,
        member_id: memberId,
        partner: { id: a.id, name: "Brew Coffee" },
        order_ref: null,
        rate: null,
        occurred_at: expect.any(String),
        created_at: "2026-11-23T06:00:02Z",
        expires_at: expect.any(String),
      },
      {
        id: ids.bEarnReleased,
        type: "earn",
        status: "posted",
        points: 300,
        partner: { id: b.id, name: "Sky Air" },
        created_at: "2026-11-23T06:00:01Z",
      },
      {
        id: ids.aEarn,
        type: "earn",
        status: "posted",
        points: 58,
        member_id: memberId,
        partner: { id: a.id, name: "Brew Coffee" },
        order_ref: "A-1001",
        amount: { value: "58.00", unit: "CNY" },
        rate: "1",
        occurred_at: expect.any(String),
        created_at: "2026-11-23T06:00:00Z",
      },
    ]);

    // B sees its own in full and A's without private details.
    const seenByB = await b.client.get<{ data: any[] }>(`/v1/members/${refB}/activity`);
    if (!seenByB.ok) throw new Error(seenByB.text);
    const byId = new Map(seenByB.data.data.map((e) => [e.id, e]));
    expect(byId.get(ids.aEarn)).toEqual({
      id: ids.aEarn,
      type: "earn",
      status: "posted",
      points: 58,
      partner: { id: a.id, name: "Brew Coffee" },
      created_at: "2026-11-23T06:00:00Z",
    });
    expect(byId.get(ids.bEarnReleased)).toMatchObject({
      status: "posted",
      order_ref: "SKY-1",
      amount: { value: "600.00", unit: "CNY" },
      rate: "0.5",
      member_id: memberId,
    });
    expect(seenByB.text).not.toContain("A-1001");

    // Pagination: 2 + 2 + 1, same order, no overlap.
    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const r: ApiResult<{ data: { id: string }[]; next_cursor: string | null }> = await a.client.get(
        `/v1/members/${refA}/activity?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
      );
      if (!r.ok) throw new Error(r.text);
      pages.push(r.data.data.map((e) => e.id));
      cursor = r.data.next_cursor;
    } while (cursor);
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    expect(pages.flat()).toEqual(seenByA.data.data.map((e) => e.id));
  });

  it("is empty for a new member, and refuses a bad cursor or an unknown query field", async () => {
    const a = await createPartner();
    const ref = newRef();
    await enrolled(a, ref);
    const r = await a.client.get<{ data: unknown[]; next_cursor: null }>(`/v1/members/${ref}/activity`);
    expect(r.status).toBe(200);
    if (r.ok) expect(r.data).toEqual({ data: [], next_cursor: null });
    const bad = await a.client.get(`/v1/members/${ref}/activity?cursor=zzz`);
    expect(bad.status).toBe(400);
    if (!bad.ok) expect(bad.error).toMatchObject({ code: "invalid_param", param: "cursor" });
    const extra = await a.client.get(`/v1/members/${ref}/activity?since=1`);
    expect(extra.status).toBe(400);
    if (!extra.ok) expect(extra.error.code).toBe("unknown_field");
    const limit = await a.client.get(`/v1/members/${ref}/activity?limit=101`);
    expect(limit.status).toBe(400);
  });

  it("answers 404 member_not_found to a partner the member is not linked to", async () => {
    const a = await createPartner();
    const c = await createPartner();
    const ref = newRef();
    const memberId = await enrolled(a, ref);
    for (const target of [`/v1/members/${ref}/activity`, `/v1/members/${memberId}/activity`, "/v1/members/nobody/activity"]) {
      const r = await c.client.get(target);
      if (target.includes("mbr_")) {
        expect(r.status, target).toBe(400);
        continue;
      }
      expect(r.status, target).toBe(404);
      if (!r.ok) expect(r.error, target).toMatchObject({ type: "invalid_request", code: "member_not_found" });
    }
  });
});
