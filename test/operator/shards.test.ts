import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BASE_URL, newKeyPair, operator, operatorToken, workerFetch } from "../support/exchange";
import { burn, earn, enrol, expectOk, partnerWithCard, sql } from "../support/ledger";

/**
 * GET /admin/v1/shards through the worker in workerd with its real D1s, at the project's shard
 * count (vitest.config.ts): N = 2 (DB and SHARD_1) in `sharded`, N = 1 (DB) in `single`.
 * Would fail if: a bound shard was left out or an unbound one listed, the buckets came from the
 * initial assignment instead of the bucket map (at N = 2 that would give SHARD_1 half of them),
 * the figures were not counted from each database (they must match its rows, and move by
 * exactly what the writes added), the list left the contract's shape, a failing database turned
 * the list into a 5xx instead of `reachable: false`, or the route skipped the operator's
 * authentication.
 */

const N = env.TEST_SHARD_COUNT;
const ALL_BUCKETS = { buckets: { from: 0, to: 4095, count: 4096 }, ranges: [{ from: 0, to: 4095, count: 4096 }] };
/** SHARD_1 as the migrations leave it: every table, no member, no bucket of the map. */
const EMPTY_SHARD_1 = {
  id: "shard_1",
  binding: "SHARD_1",
  buckets: { from: null, to: null, count: 0 },
  ranges: [],
  members: 0,
  transactions: 0,
  database_bytes: expect.any(Number),
  reachable: true,
};

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
    expect(body.data).toHaveLength(N);
    const [shard] = body.data;
    expect(shard).toEqual({
      id: "shard_0",
      binding: "DB",
      ...ALL_BUCKETS,
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

  it.runIf(N === 2)("at N = 2 lists SHARD_1 too: migrated, empty, holding no bucket while the map keeps them on DB", async () => {
    const a = await partnerWithCard();
    expectOk(await earn(a, (await enrol(a)).ref, 30), 201);
    const body = await shards();
    expect(body.data.map((s) => s.id)).toEqual(["shard_0", "shard_1"]);
    expect(body.data[0]).toMatchObject({ binding: "DB", ...ALL_BUCKETS, reachable: true });
    expect(body.data[1]).toEqual(EMPTY_SHARD_1);
    // Every table of DB is on SHARD_1 (the same migrations), and the writes above left it empty.
    const schema = "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY name";
    const [main, shard1] = await Promise.all([env.DB.prepare(schema).all(), env.SHARD_1?.prepare(schema).all()]);
    expect(shard1?.results).toEqual(main.results);
    expect(main.results.length).toBeGreaterThan(30);
  });

  it.runIf(N === 1)("at N = 1 lists DB alone, holding every bucket", async () => {
    const body = await shards();
    expect(body.data).toEqual([expect.objectContaining({ id: "shard_0", binding: "DB", ...ALL_BUCKETS, reachable: true })]);
  });

  it("reads each shard's buckets from the bucket map, and answers 500 for a map that is not one", async () => {
    const split =
      N === 2
        ? [
            [0, 99, 1],
            [100, 4000, 0],
            [4001, 4095, 1],
          ]
        : [
            [0, 99, 0],
            [100, 4095, 0],
          ];
    await env.DB.batch([
      env.DB.prepare("DELETE FROM shard_buckets"),
      ...split.map((r) =>
        env.DB.prepare("INSERT INTO shard_buckets (first_bucket, last_bucket, shard) VALUES (?, ?, ?)").bind(...r),
      ),
    ]);
    try {
      const body = await shards();
      if (N === 2) {
        expect(body.data[0]).toMatchObject({
          buckets: { from: 100, to: 4000, count: 3901 },
          ranges: [{ from: 100, to: 4000, count: 3901 }],
        });
        expect(body.data[1]).toMatchObject({
          buckets: { from: 0, to: 4095, count: 195 },
          ranges: [
            { from: 0, to: 99, count: 100 },
            { from: 4001, to: 4095, count: 95 },
          ],
        });
      } else {
        expect(body.data[0]).toMatchObject({
          buckets: { from: 0, to: 4095, count: 4096 },
          ranges: [
            { from: 0, to: 99, count: 100 },
            { from: 100, to: 4095, count: 3996 },
          ],
        });
      }
      // A shard the worker does not bind, or a gap: the map is wrong, and the list says nothing rather than mislead.
      await env.DB.prepare("UPDATE shard_buckets SET shard = ? WHERE first_bucket = 0").bind(N).run();
      expect((await operator("GET", "/shards")).status).toBe(500);
      await env.DB.prepare("UPDATE shard_buckets SET shard = 0, first_bucket = 1 WHERE first_bucket = 0").run();
      expect((await operator("GET", "/shards")).status).toBe(500);
    } finally {
      await env.DB.batch([
        env.DB.prepare("DELETE FROM shard_buckets"),
        env.DB.prepare("INSERT INTO shard_buckets (first_bucket, last_bucket, shard) VALUES (0, 4095, 0)"),
      ]);
    }
    expect((await shards()).data[0]).toMatchObject(ALL_BUCKETS);
  });

  it("pages in the contract's list shape, and refuses a cursor it did not give", async () => {
    const one = await operator("GET", "/shards?limit=1", undefined, { tokenOptions: { scope: "read" } });
    expect(one.status, one.text).toBe(200);
    expect(one.body.data).toHaveLength(1);
    expect(one.body.data[0].id).toBe("shard_0");
    if (N === 1) expect(one.body.next_cursor).toBeNull();
    else {
      const two = await operator("GET", `/shards?limit=1&cursor=${encodeURIComponent(one.body.next_cursor)}`);
      expect(two.status, two.text).toBe(200);
      expect(two.body).toEqual({ data: [EMPTY_SHARD_1], next_cursor: null });
    }
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
        ...ALL_BUCKETS,
        members: null,
        transactions: null,
        database_bytes: null,
        reachable: false,
      },
      ...(N === 2 ? [EMPTY_SHARD_1] : []),
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
