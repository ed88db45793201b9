import { env } from "cloudflare:workers";
import { expect, it } from "vitest";

it("applies lot movements to lots through the trigger, and settles them through another", async () => {
  const db = env.DB;
  await db.batch([
    db.prepare(
      `INSERT INTO transactions (id, type, status, partner_id, member_id, points, direction, occurred_at, booked_at)
       VALUES ('a', 'earn', 'posted', 'p', 'm', 100, 1, 0, 0), ('b', 'burn', 'posted', 'p', 'm', 30, -1, 0, 0)`,
    ),
    db.prepare(
      "INSERT INTO lots (id, member_id, issuer_id, txn_id, issue_price_micros, points, remaining, available_at, expires_at, created_at) VALUES (1, 'm', 'p', 'a', 10000, 100, 100, 0, 9999999999999, 0)",
    ),
    db.prepare(
      "INSERT INTO lot_movements (txn_id, lot_id, kind, points, issuer_id, redeemer_id, issue_price_micros, redeem_price_micros, at) VALUES ('b', 1, 'consume', 30, 'p', 'q', 10000, 8000, 0)",
    ),
  ]);
  expect(await db.prepare("SELECT remaining FROM lots WHERE id = 1").first()).toEqual({ remaining: 70 });
  const entries = await db
    .prepare("SELECT txn_id, kind, issuer_id, redeemer_id, points FROM settlement_entries ORDER BY txn_id")
    .all();
  expect(entries.results).toEqual([
    { txn_id: "a", kind: "issue", issuer_id: "p", redeemer_id: null, points: 100 },
    { txn_id: "b", kind: "redeem", issuer_id: "p", redeemer_id: "q", points: 30 },
  ]);
  await expect(
    db
      .prepare(
        "INSERT INTO lot_movements (txn_id, lot_id, kind, points, issuer_id, issue_price_micros, at) VALUES ('b', 1, 'consume', 80, 'p', 10000, 0)",
      )
      .run(),
  ).rejects.toThrow(/CHECK/);
});
