import { describe, expect, it } from "vitest";
import { operator } from "../support/exchange";
import { nextSecond, settleClockAtNoon } from "./support";

/**
 * Every answer of POST /admin/v1/settlements/close names the period open after it
 * (`open_period`, RFC 3339 UTC), so a close that closed nothing says why: that period has not
 * ended. Would fail if: the field were missing on any kind of close, or named another period
 * than the one the next scheduled close will close.
 */

const SECOND = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

async function closedThrough(): Promise<string> {
  const r = await operator("GET", "/settlement-config");
  expect(r.status, r.text).toBe(200);
  return r.body.closed_through as string;
}

describe("POST /admin/v1/settlements/close answers the open period", () => {
  it("with no period ended: data [] and the open period, from the last close to the next scheduled boundary", async () => {
    await settleClockAtNoon();
    const r = await operator("POST", "/settlements/close", {});
    expect(r.status, r.text).toBe(200);
    expect(r.body.data).toEqual([]);
    const { start, end } = r.body.open_period as { start: string; end: string };
    expect(start).toMatch(SECOND);
    expect(end).toMatch(SECOND);
    expect(start).toBe(await closedThrough());
    // Daily at the offset settleClockAtNoon chose: the boundary is local midnight, about 12 h away.
    const untilEnd = Date.parse(end) - Date.now();
    expect(untilEnd).toBeGreaterThan(11 * 3600_000);
    expect(untilEnd).toBeLessThanOrEqual(13 * 3600_000);
    // A body-less close (the body is optional) answers it too.
    const bare = await operator("POST", "/settlements/close");
    expect(bare.status, bare.text).toBe(200);
    expect(bare.body).toEqual({ data: [], open_period: { start, end } });
    // GET /settlement-config names the same open period (the console shows when it closes).
    expect((await operator("GET", "/settlement-config")).body.open_period).toEqual({ start, end });
  });

  it("after an off-cycle cut: the open period starts at the cut and keeps its scheduled end, also on a repeated close", async () => {
    const before = (await operator("POST", "/settlements/close", {})).body.open_period as { start: string; end: string };
    await nextSecond();
    const cut = `${new Date(Date.now()).toISOString().slice(0, 19)}Z`;
    const r = await operator("POST", "/settlements/close", { period_end: cut });
    expect(r.status, r.text).toBe(200);
    expect(r.body.data.map((x: { period: { end: string } }) => x.period.end)).toEqual([cut]);
    expect(r.body.open_period).toEqual({ start: cut, end: before.end });
    const again = await operator("POST", "/settlements/close", { period_end: cut });
    expect(again.status, again.text).toBe(200);
    expect(again.body.data).toEqual(r.body.data);
    expect(again.body.open_period).toEqual({ start: cut, end: before.end });
  });
});
