import { env } from "cloudflare:workers";
import { expect, it } from "vitest";

it("applies lot movements to lots through the trigger", async () => {
  const db = env.DB;
  await db.batch([
    db.prepare(
      "INSERT INTO lots (id, member_id, issuer_id, txn_id, issue_price_micros, points, remaining, available_at, expires_at, created_at) VALUES (1, 'm', 'p', 't', 10000, 100, 100, 0, 9999999999999, 0)",
    ),
    db.prepare(
      "INSERT INTO lot_movements (txn_id, lot_id, kind, points, issuer_id, issue_price_micros, at) VALUES ('b', 1, 'consume', 30, 'p', 10000, 0)",
    ),
    db.prepare("INSERT INTO postings (txn_id, account, points, at) VALUES ('b', 'x', 5, 0), ('b', 'x', 7, 0)"),
  ]);
  const lot = await db.prepare("SELECT remaining FROM lots WHERE id = 1").first();
  expect(lot).toEqual({ remaining: 70 });
  expect(await db.prepare("SELECT points FROM account_balances WHERE account = 'x'").first()).toEqual({ points: 12 });
  await expect(
    db
      .prepare(
        "INSERT INTO lot_movements (txn_id, lot_id, kind, points, issuer_id, issue_price_micros, at) VALUES ('b', 1, 'consume', 80, 'p', 10000, 0)",
      )
      .run(),
  ).rejects.toThrow(/CHECK/);
});
