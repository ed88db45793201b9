import { afterEach, describe, expect, it } from "vitest";
import { checkInvariants } from "../support/invariants";
import { balance, burn, earn, enrol, expectOk, partnerWithCard } from "../support/ledger";

afterEach(async () => {
  await checkInvariants();
});

describe("earn and burn", () => {
  it("earns by points and burns FIFO across lots", async () => {
    const p = await partnerWithCard();
    const { ref } = await enrol(p);
    const e1 = await earn(p, ref, 300);
    expect(e1.status).toBe(201);
    expectOk(await earn(p, ref, 200));
    const b = expectOk(await burn(p, ref, 400));
    expect(b.transaction.status).toBe("posted");
    expect(b.balance.points.available).toBe(100);
    expect((await balance(p, ref)).points.available).toBe(100);
    const no = await burn(p, ref, 101);
    expect(no.status).toBe(422);
  });
});
