import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { first, join, list, MAX_PARAMS, prepare, raw, sql } from "../../src/db/sql-template";

/** The tagged template (src/db/sql-template.ts): binds numbered for you, fragments nested. */
describe("sql``", () => {
  it("turns each value into a bind and each fragment into its text and binds", () => {
    const inner = sql`x = ${1} AND y = ${"a'b"}`;
    const outer = sql`SELECT 1 WHERE ${inner} OR z = ${null}`;
    expect(outer.text).toBe("SELECT 1 WHERE x = ? AND y = ? OR z = ?");
    expect(outer.params).toEqual([1, "a'b", null]);
  });

  it("binds booleans as 0/1 and bigints exactly, and refuses what cannot be bound", () => {
    expect(sql`${true}, ${false}, ${12n}`.params).toEqual([1, 0, 12]);
    expect(() => sql`${2n ** 60n}`).toThrow(RangeError);
    expect(() => sql`${Number.NaN}`).toThrow(RangeError);
    expect(() => sql`${undefined}`).toThrow(TypeError);
    expect(() => sql`${{ a: 1 }}`).toThrow(TypeError);
  });

  it("raw text, joins and lists", () => {
    expect(sql`SELECT ${raw("name")} FROM t`.text).toBe("SELECT name FROM t");
    const joined = join([sql`a = ${1}`, sql`b = ${2}`], " AND ");
    expect([joined.text, joined.params]).toEqual(["a = ? AND b = ?", [1, 2]]);
    expect(list([1, 2, 3]).text).toBe("(?, ?, ?)");
    expect(list([]).text).toBe("(NULL)");
  });

  it("runs against D1 with the binds in order, and refuses a statement past D1's 100 binds", async () => {
    const row = await first<{ s: string }>(env.DB, sql`SELECT ${"a"} || ${sql`${"b"} || ${"c"}`} || ${"d"} AS s`);
    expect(row?.s).toBe("abcd");
    const many = join(Array.from({ length: MAX_PARAMS + 1 }, (_, i) => sql`${i}`));
    expect(() => prepare(env.DB, sql`SELECT ${many}`)).toThrow(/100/);
  });
});
