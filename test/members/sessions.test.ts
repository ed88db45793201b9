import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { JOBS, runScheduled } from "../../src/jobs/scheduled";
import { sessionTokenHash } from "../../src/members/sessions";
import { BASE_URL, operator, type TestPartner, workerFetch } from "../support/exchange";
import { balance, earn, enrol, expectOk, link, partnerWithCard, sql } from "../support/ledger";
import { countChanges, rowCounts } from "../support/row-counts";

/**
 * Member sessions (docs/member-sessions.md): a partner's backend asks for a read-only token for
 * one member; the member's browser reads GET /v1/me and /v1/me/activity with it, from the
 * origins the operator allowed for that partner.
 */

const COFFEE_APP = "https://app.coffee.example";

let p: TestPartner;
let q: TestPartner;
let ref: string;
let qRef: string;
let memberId: string;

interface Session {
  token: string;
  expires_at: string;
}

async function session(partner: TestPartner, memberRef: string, body: unknown = {}) {
  return partner.client.post<Session>(`/v1/members/${memberRef}/sessions`, body);
}

function me(token: string, path = "", init: { origin?: string; method?: string } = {}): Promise<Response> {
  const headers = new Headers({ Authorization: `Bearer ${token}` });
  if (init.origin) headers.set("Origin", init.origin);
  return workerFetch(new Request(`${BASE_URL}/v1/me${path}`, { method: init.method ?? "GET", headers }));
}

beforeAll(async () => {
  p = await partnerWithCard();
  q = await partnerWithCard();
  ({ ref, memberId } = await enrol(p));
  qRef = await link(p, ref, q);
  expectOk(await earn(p, ref, 500, { order_ref: "p-order-1" }), 201);
  expectOk(await earn(q, qRef, 300, { order_ref: "q-secret-order" }), 201);
  expect((await operator("PATCH", `/partners/${p.id}`, { allowed_origins: [COFFEE_APP] })).status).toBe(200);
});

describe("POST /v1/members/{member_ref}/sessions", () => {
  it("answers a token valid at most 15 minutes; ttl_seconds shortens it", async () => {
    const before = Date.now();
    const s = expectOk(await session(p, ref), 201);
    expect(s.token).toMatch(/^mst_[A-Za-z0-9_-]{43}$/);
    const expires = Date.parse(s.expires_at);
    expect(expires).toBeGreaterThan(before + 14 * 60_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 15 * 60_000);
    const short = expectOk(await session(p, ref, { ttl_seconds: 60 }), 201);
    expect(Date.parse(short.expires_at)).toBeLessThanOrEqual(Date.now() + 60_000);
    // Only the token's hash is stored.
    const rows = await sql<{ token_hash: string }>("SELECT token_hash FROM member_sessions WHERE member_id = ?1", memberId);
    expect(rows.length).toBeGreaterThanOrEqual(2);
    expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r.token_hash))).toBe(true);
  });

  it("refuses a longer ttl, an unknown field and an unlinked member, writing nothing", async () => {
    const counts = await rowCounts();
    const long = await session(p, ref, { ttl_seconds: 901 });
    expect([long.status, long.ok ? undefined : long.error.code]).toEqual([400, "invalid_body"]);
    const extra = await session(p, ref, { scope: "write" });
    expect([extra.status, extra.ok ? undefined : extra.error.code]).toEqual([400, "unknown_field"]);
    const unknown = await session(p, "nobody-here");
    expect([unknown.status, unknown.ok ? undefined : unknown.error.code]).toEqual([404, "member_not_found"]);
    const changes = countChanges(counts, await rowCounts());
    // Signed requests record their jti (and the refusal its idempotency record); no session.
    expect(changes.member_sessions).toBeUndefined();
  });

  it("a replay with the same Idempotency-Key answers the same token", async () => {
    const key = `sess-${Date.now()}`;
    const first = expectOk(await p.client.post<Session>(`/v1/members/${ref}/sessions`, {}, { idempotencyKey: key }), 201);
    const again = expectOk(await p.client.post<Session>(`/v1/members/${ref}/sessions`, {}, { idempotencyKey: key }), 201);
    expect(again.token).toBe(first.token);
  });
});

describe("GET /v1/me", () => {
  it("is the member's unified balance, as the session's partner sees it", async () => {
    const s = expectOk(await session(p, ref), 201);
    const res = await me(s.token);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    const partnerView = await balance(p, ref);
    const { as_of: _a, ...mine } = body;
    const { as_of: _b, ...theirs } = partnerView as Record<string, unknown>;
    expect(mine).toEqual(theirs);
    expect(body.member_id).toBe(memberId);
    expect((body.points as { available: number }).available).toBe(800);
  });

  it("answers 401 session_invalid without a token, with a malformed, unknown or expired one", async () => {
    const s = expectOk(await session(p, ref), 201);
    const codes = async (res: Response) => [res.status, ((await res.json()) as { error: { code: string } }).error.code];
    expect(await codes(await workerFetch(new Request(`${BASE_URL}/v1/me`)))).toEqual([401, "session_invalid"]);
    expect(await codes(await me("not-a-token"))).toEqual([401, "session_invalid"]);
    expect(await codes(await me(`mst_${"A".repeat(43)}`))).toEqual([401, "session_invalid"]);
    // Its expiry reached (the clock moved on): refused from then on.
    await env.DB.prepare("UPDATE member_sessions SET expires_at = ?1 WHERE token_hash = ?2")
      .bind(Date.now() - 1, await sessionTokenHash(s.token))
      .run();
    expect(await codes(await me(s.token))).toEqual([401, "session_invalid"]);
  });

  it("is read-only and only for /v1/me: the token opens no partner endpoint and no write", async () => {
    const s = expectOk(await session(p, ref), 201);
    const post = await me(s.token, "", { method: "POST" });
    expect(post.status).toBeGreaterThanOrEqual(400);
    expect(post.status).toBeLessThan(500);
    const asPartner = await workerFetch(
      new Request(`${BASE_URL}/v1/members/${ref}/balance`, { headers: { Authorization: `Bearer ${s.token}` } }),
    );
    expect(asPartner.status).toBe(401);
  });

  it("ends when the session's partner is suspended", async () => {
    const r = await partnerWithCard();
    const { ref: rRef } = await enrol(r);
    const s = expectOk(await session(r, rRef), 201);
    expect((await me(s.token)).status).toBe(200);
    expect((await operator("PATCH", `/partners/${r.id}`, { status: "suspended" })).status).toBe(200);
    expect((await me(s.token)).status).toBe(401);
  });
});

describe("GET /v1/me/activity", () => {
  it("lists the member's transactions at every partner, others' without their private details", async () => {
    const s = expectOk(await session(p, ref), 201);
    const res = await me(s.token, "/activity?limit=10");
    expect(res.status).toBe(200);
    const { data } = (await res.json()) as { data: Record<string, unknown>[] };
    const own = data.find((e) => (e.partner as { id: string }).id === p.id);
    const other = data.find((e) => (e.partner as { id: string }).id === q.id);
    expect(own?.order_ref).toBe("p-order-1");
    expect(other).toBeDefined();
    expect(Object.keys(other ?? {}).sort()).toEqual(["created_at", "id", "partner", "points", "status", "type"]);
    expect(JSON.stringify(data)).not.toContain("q-secret-order");
  });

  it("paginates with the API's cursors", async () => {
    const s = expectOk(await session(p, ref), 201);
    const first = (await (await me(s.token, "/activity?limit=1")).json()) as { data: { id: string }[]; next_cursor: string };
    expect(first.data).toHaveLength(1);
    const second = (await (await me(s.token, `/activity?limit=1&cursor=${first.next_cursor}`)).json()) as {
      data: { id: string }[];
    };
    expect(second.data).toHaveLength(1);
    expect(second.data[0]?.id).not.toBe(first.data[0]?.id);
    const bad = await me(s.token, "/activity?cursor=garbage");
    expect(bad.status).toBe(400);
  });
});

describe("CORS: per partner, from the operator's allowed_origins", () => {
  it("an allowed origin reads the answer; any other origin gets no CORS grant", async () => {
    const s = expectOk(await session(p, ref), 201);
    const allowed = await me(s.token, "", { origin: COFFEE_APP });
    expect(allowed.headers.get("Access-Control-Allow-Origin")).toBe(COFFEE_APP);
    expect(allowed.headers.get("Vary")).toContain("Origin");
    const other = await me(s.token, "", { origin: "https://evil.example" });
    expect(other.status).toBe(200);
    expect(other.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });

  it("another partner's origin does not read this partner's session", async () => {
    const airline = "https://app.airline.example";
    expect((await operator("PATCH", `/partners/${q.id}`, { allowed_origins: [airline] })).status).toBe(200);
    const s = expectOk(await session(p, ref), 201);
    expect((await me(s.token, "", { origin: airline })).headers.get("Access-Control-Allow-Origin")).toBeNull();
    const theirs = expectOk(await session(q, qRef), 201);
    expect((await me(theirs.token, "", { origin: airline })).headers.get("Access-Control-Allow-Origin")).toBe(airline);
  });

  it("a preflight is granted to an origin some partner allows, for GET with Authorization", async () => {
    const preflight = (origin: string) =>
      workerFetch(
        new Request(`${BASE_URL}/v1/me`, {
          method: "OPTIONS",
          headers: { Origin: origin, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization" },
        }),
      );
    const ok = await preflight(COFFEE_APP);
    expect(ok.status).toBe(204);
    expect(ok.headers.get("Access-Control-Allow-Origin")).toBe(COFFEE_APP);
    expect(ok.headers.get("Access-Control-Allow-Headers")).toBe("Authorization");
    expect(ok.headers.get("Access-Control-Allow-Methods")).toBe("GET");
    const no = await preflight("https://evil.example");
    expect(no.status).toBe(204);
    expect(no.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });

  it("allowed_origins are origins: https (http only on this machine), lowercase, no path", async () => {
    for (const origin of ["https://app.example/path", "http://app.example", "HTTPS://APP.EXAMPLE", "https://app.example/", "*"]) {
      const res = await operator("PATCH", `/partners/${p.id}`, { allowed_origins: [origin] });
      expect([origin, res.status, res.body.error?.code]).toEqual([origin, 400, "invalid_body"]);
    }
    const local = await operator("PATCH", `/partners/${p.id}`, { allowed_origins: ["http://127.0.0.1:5173", COFFEE_APP] });
    expect(local.status).toBe(200);
    expect(local.body.partner.allowed_origins).toEqual(["http://127.0.0.1:5173", COFFEE_APP]);
  });
});

describe("pruning", () => {
  it("the scheduled job removes expired sessions only", async () => {
    const live = expectOk(await session(p, ref), 201);
    const gone = expectOk(await session(p, ref, { ttl_seconds: 60 }), 201);
    const later = Date.parse(gone.expires_at) + 1000; // the answer shows whole seconds
    const job = JOBS.filter((j) => j.name === "prune-member-sessions");
    expect(job).toHaveLength(1);
    const report = await runScheduled(env, later, job);
    expect(report["prune-member-sessions"]?.deleted).toBeGreaterThanOrEqual(1);
    const left = await sql<{ token_hash: string; expires_at: number }>("SELECT token_hash, expires_at FROM member_sessions");
    expect(left.every((r) => r.expires_at > later)).toBe(true);
    const hashes = left.map((r) => r.token_hash);
    expect(hashes).toContain(await sessionTokenHash(live.token));
    expect(hashes).not.toContain(await sessionTokenHash(gone.token));
  });
});
