import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { firstGuard, guard, guardViolated, mergeGuards } from "../../src/db/guard";
import { MAX_PARAMS, runBatch, type Sql, sql } from "../../src/db/sql-template";

/**
 * Adjacent guards share one statement (src/db/guard.ts `mergeGuards`): the merged batch answers
 * with the same first violation as the separate statements would, never merges across another
 * statement, and stays within D1's bind limit.
 */

const holds = (n: number) => sql`${n} = 1`;
const note = (v: string) => sql`INSERT INTO request_nonces (gen, partner_id, jti, expires_at) VALUES (0, 'merge-test', ${v}, 0)`;

async function answer(statements: Sql[]): Promise<string | undefined> {
  try {
    await runBatch(env.DB, statements);
    return undefined;
  } catch (error) {
    return guardViolated(error);
  }
}

describe("mergeGuards", () => {
  it("merges a run of guards into one statement with the same first answer", async () => {
    const cases: [boolean, boolean, boolean][] = [
      [false, false, false],
      [true, false, false],
      [false, true, false],
      [false, true, true],
      [true, true, true],
      [false, false, true],
    ];
    for (const [a, b, c] of cases) {
      const separate = [
        guard("unknown_key", holds(a ? 1 : 0)),
        guard("partner_suspended", holds(b ? 1 : 0)),
        firstGuard([
          ["replayed_request", holds(0)],
          ["member_not_found", holds(c ? 1 : 0)],
        ]),
      ];
      const merged = mergeGuards(separate);
      expect(merged).toHaveLength(1);
      expect(await answer(merged)).toBe(await answer(separate));
    }
  });

  it("keeps a statement between two guards where it was", async () => {
    const statements = [guard("unknown_key", holds(0)), note("between"), guard("partner_suspended", holds(0))];
    const merged = mergeGuards(statements);
    expect(merged.map((s) => s.text)).toEqual(statements.map((s) => s.text));
    await runBatch(env.DB, merged);
    // A guard after the insert still sees it: the order is the batch's order.
    const seen = guard("partner_suspended", sql`EXISTS (SELECT 1 FROM request_nonces WHERE jti = 'between')`);
    expect(await answer([note("between-2"), guard("unknown_key", holds(0)), seen])).toBe("partner_suspended");
  });

  it("starts a new statement before the bind limit", () => {
    // 60 binds each: two would pass D1's limit of 100 in one statement.
    const big = (code: "unknown_key" | "partner_suspended") =>
      guard(
        code,
        Array.from({ length: 60 }, (_, i) => sql`${i}`).reduce((all, s) => sql`${all} + ${s}`, sql`0`),
      );
    const merged = mergeGuards([big("unknown_key"), big("partner_suspended")]);
    expect(merged).toHaveLength(2);
    for (const s of merged) expect(s.params.length).toBeLessThanOrEqual(MAX_PARAMS);
  });
});
