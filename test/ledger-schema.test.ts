import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { ledgerInvariantViolations } from "../src/ledger/invariants";

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
      "INSERT INTO lot_movements (txn_id, n, lot_id, kind, points, issuer_id, redeemer_id, issue_price_micros, redeem_price_micros, at) VALUES ('b', 1, 1, 'consume', 30, 'p', 'q', 10000, 8000, 0)",
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
        "INSERT INTO lot_movements (txn_id, n, lot_id, kind, points, issuer_id, issue_price_micros, at) VALUES ('b', 2, 1, 'consume', 80, 'p', 10000, 0)",
      )
      .run(),
  ).rejects.toThrow(/CHECK/);
});

it("keeps lots.live and members.lot_points with the lots, and the invariants notice when they drift", async () => {
  const db = env.DB;
  const member = "m-live";
  const exec = (sql: string) => db.prepare(sql).run();
  await db.batch([
    db.prepare("INSERT INTO members (id, created_at, created_by) VALUES (?, 0, 'p')").bind(member),
    db
      .prepare(
        `INSERT INTO transactions (id, type, status, partner_id, member_id, points, direction, occurred_at, booked_at)
       VALUES ('e-live', 'earn', 'posted', 'p', ?, 50, 1, 0, 0), ('b-live', 'burn', 'posted', 'p', ?, 50, -1, 0, 0),
              ('v-live', 'reversal', 'posted', 'p', ?, 20, 1, 0, 0)`,
      )
      .bind(member, member, member),
    db
      .prepare(
        `INSERT INTO lots (id, member_id, issuer_id, txn_id, issue_price_micros, points, remaining, available_at, expires_at, created_at)
       VALUES (77, ?, 'p', 'e-live', 10000, 50, 50, 0, 9999999999999, 0)`,
      )
      .bind(member),
    db
      .prepare(
        "INSERT INTO transfers (txn_id, n, from_account, to_account, points, at) VALUES ('e-live', 1, 'issuer:p', ?, 50, 0)",
      )
      .bind(`member:${member}`),
  ]);
  const state = () =>
    db
      .prepare("SELECT l.live, l.remaining, m.lot_points FROM lots l JOIN members m ON m.id = l.member_id WHERE l.id = 77")
      .first();
  expect(await state()).toEqual({ live: 1, remaining: 50, lot_points: 50 });
  /** A movement on lot 77 and the transfer that goes with it, as a write's batch has them. */
  const move = (txn: string, kind: string, points: number, from: string, to: string) =>
    db.batch([
      db
        .prepare(
          `INSERT INTO lot_movements (txn_id, n, lot_id, kind, points, issuer_id, redeemer_id, issue_price_micros, redeem_price_micros, at)
           VALUES (?, 1, 77, ?, ?, 'p', 'p', 10000, 8000, 0)`,
        )
        .bind(txn, kind, points),
      db
        .prepare("INSERT INTO transfers (txn_id, n, from_account, to_account, points, at) VALUES (?, 1, ?, ?, ?, 0)")
        .bind(txn, from, to, points),
    ]);
  // Spent to zero: no longer live (and out of the partial indexes); the transfer moves lot_points.
  await move("b-live", "consume", 50, `member:${member}`, "redeemed:p");
  expect(await state()).toEqual({ live: 0, remaining: 0, lot_points: 0 });
  // Restored from zero: live again.
  await move("v-live", "restore", 20, "redeemed:p", `member:${member}`);
  expect(await state()).toEqual({ live: 1, remaining: 20, lot_points: 20 });
  const drift = async () =>
    (await ledgerInvariantViolations(db))
      .filter((v) => v.check.includes("live") || v.check.includes("lot_points"))
      .map((v) => v.check);
  expect(await drift()).toEqual([]);
  await exec("UPDATE lots SET live = 0 WHERE id = 77");
  await exec(`UPDATE members SET lot_points = 21 WHERE id = '${member}'`);
  expect(await drift()).toEqual([
    "a lot is live exactly when points remain on it",
    "a member's lot_points is the sum of its lots' remaining points",
  ]);
});
