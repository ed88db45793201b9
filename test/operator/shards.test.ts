import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BASE_URL, newKeyPair, operator, operatorToken, workerFetch } from "../support/exchange";
import { burn, earn, enrol, expectOk, partnerWithCard, sql } from "../support/ledger";

/**
 * GET /admin/v1/shards at N = 1 (docs/design/shards.md: the main database is the only shard),
 * through the worker in workerd with its real D1. Would fail if: the figures were not counted
 * from the database (they must match its rows, and move by exactly what the writes added), the
 * list left the contract's shape, a failing database turned the list into a 5xx instead of
 * `reachable: false`, or the route skipped the operator's authentication.
 */

async function counts(): Promise<{ members: number; transactions: number }> {
  const [row] = await sql<{ members: number; transactions: number }>(
    "SELECT (SELECT COUNT(*) FROM members) AS members, (SELECT COUNT(*) FROM transactions) AS transactions",
  );
  if (!row) throw new Error("no counts");
  return row;
}

async function shards() {
  const r = await operator("GET", "/shards");
  expect(r.status, r.text).toBe(200);
  return r.body as { data: Record<string, unknown>[]; next_cursor: string | null };
}

describe("GET /admin/v1/shards", () => {
  it("lists the main database as shard_0 with every bucket and its real counts", async () => {
    const a = await partnerWithCard();
    const { ref } = await enrol(a);
    await enrol(a);
    expectOk(await earn(a, ref, 30), 201);
    const body = await shards();
    const expected = await counts();
    expect(expected.members).toBeGreaterThanOrEqual(2);
    expect(body.next_cursor).toBeNull();
    expect(body.data).toHaveLength(1);
    const [shard] = body.data;
    expect(shard).toEqual({
      id: "shard_0",
      binding: "DB",
      buckets: { from: 0, to: 4095, count: 4096 },
      members: expected.members,
      transactions: expected.transactions,
      database_bytes: expect.any(Number),
      reachable: true,
    });
    const bytes = shard?.database_bytes as number;
    expect(Number.isSafeInteger(bytes) && bytes > 0).toBe(true);
    expect(bytes % 512).toBe(0); // a database's size, in whole SQLite pages, not a row count
  });

  it("counts what writes add: members by enrolment, transactions by earn and burn", async () => {
    const before = (await shards()).data[0] as { members: number; transactions: number; database_bytes: number };
    const a = await partnerWithCard();
    const first = await enrol(a);
    const second = await enrol(a);
    const third = await enrol(a);
    expectOk(await earn(a, first.ref, 50), 201);
    expectOk(await earn(a, second.ref, 20), 201);
    expectOk(await burn(a, first.ref, 10), 201);
    const after = (await shards()).data[0] as { members: number; transactions: number; database_bytes: number };
    expect(after.members - before.members).toBe(3);
    expect(after.transactions - before.transactions).toBe(3);
    expect(after.database_bytes).toBeGreaterThanOrEqual(before.database_bytes);
    // A repeated enrolment creates nothing: the count stays.
    expectOk(await a.client.put(`/v1/members/${third.ref}`, { context: { ip: "203.0.113.7" } }), 200);
    expect(((await shards()).data[0] as { members: number }).members).toBe(after.members);
  });

  it("pages in the contract's list shape, and refuses a cursor it did not give", async () => {
    const one = await operator("GET", "/shards?limit=1", undefined, { tokenOptions: { scope: "read" } });
    expect(one.status, one.text).toBe(200);
    expect(one.body.data).toHaveLength(1);
    expect(one.body.next_cursor).toBeNull();
    for (const cursor of ["not-a-cursor!", cursorOf({ shard: "x" }), cursorOf({ shard: 0.5 }), cursorOf({ id: 1 })]) {
      const bad = await operator("GET", `/shards?cursor=${encodeURIComponent(cursor)}`);
      expect(bad.status, cursor).toBe(400);
      expect(bad.body.error).toMatchObject({ type: "invalid_request", code: "invalid_param", param: "cursor" });
    }
    const bad = await operator("GET", "/shards?limit=0");
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ type: "invalid_request", code: "invalid_param" });
  });

  it("answers 401 operator_token_invalid without a token or with a bad one, and reads with scope read", async () => {
    const stranger = await newKeyPair();
    const tokens = {
      missing: undefined,
      garbage: "not-a-jwt",
      foreign: await operatorToken({ privateJwk: stranger.privateJwk, kid: "op-test-1" }),
      expired: await operatorToken({ iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 }),
    };
    for (const [name, token] of Object.entries(tokens)) {
      const response = await fetchShards(token);
      expect(response.status, name).toBe(401);
      const body = (await response.json()) as { error: Record<string, unknown> };
      expect(body.error, name).toMatchObject({ type: "authentication_error", code: "operator_token_invalid" });
      expect(typeof body.error.message, name).toBe("string");
    }
    const read = await operator("GET", "/shards", undefined, { tokenOptions: { scope: "read" } });
    expect(read.status, read.text).toBe(200);
  });

  it("reports a shard whose query fails as reachable: false with null figures, not a 5xx", async () => {
    // The count query fails the way a broken database would (no such table), then the table is back.
    await env.DB.prepare("ALTER TABLE transactions RENAME TO transactions_away").run();
    let body: Awaited<ReturnType<typeof shards>>;
    try {
      body = await shards();
    } finally {
      await env.DB.prepare("ALTER TABLE transactions_away RENAME TO transactions").run();
    }
    expect(body.data).toEqual([
      {
        id: "shard_0",
        binding: "DB",
        buckets: { from: 0, to: 4095, count: 4096 },
        members: null,
        transactions: null,
        database_bytes: null,
        reachable: false,
      },
    ]);
    expect(((await shards()).data[0] as { reachable: boolean }).reachable).toBe(true);
  });
});

/** A cursor in the API's encoding (base64url JSON) holding a position of our choosing. */
function cursorOf(position: unknown): string {
  return btoa(JSON.stringify(position)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}

function fetchShards(token: string | undefined): Promise<Response> {
  return workerFetch(
    new Request(`${BASE_URL}/admin/v1/shards`, token === undefined ? {} : { headers: { Authorization: `Bearer ${token}` } }),
  );
}
