import { describe, expect, it } from "vitest";
import today from "./fixtures/unsplit-plan.json";
import { unsplitStatements } from "./unsplit-cases";

/**
 * The risk rules across shards (docs/design/shards.md "Risk windows across members"), with DB as
 * main and SHARD_1 as a member's shard.
 */

describe("at N = 1 (not split)", () => {
  it("the plan's statements are today's, byte for byte (recorded before the split plan existed)", () => {
    expect(unsplitStatements()).toEqual(today);
  });
});
