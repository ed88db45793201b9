import { describe, expect, it } from "vitest";
import { type SignedReport, verifyReportSignatures } from "../../packages/partner-sdk/src/index";
import { earn, enrol, expectOk, partnerWithCard } from "../support/ledger";
import { closeNow, jwks, settleClockAtNoon } from "./support";

/**
 * The SDK's report check (what the console runs in the browser): a closed report verifies
 * against /.well-known/jwks.json, and any change to a figure, a statement or a signature is
 * reported. Would fail if: the report's own digest or signature, or a statement's, were not
 * checked, or a statement's failure were not named by its partner.
 */
describe("verifyReportSignatures", () => {
  it("passes a closed report and names each kind of tampering", async () => {
    await settleClockAtNoon();
    const a = await partnerWithCard();
    const { ref } = await enrol(a);
    expectOk(await earn(a, ref, 30), 201);
    const report = (await closeNow()).report as unknown as SignedReport;
    const keys = (await jwks()) as never;

    const good = await verifyReportSignatures(report, keys);
    expect(good.problems).toEqual([]);
    expect(good.ok).toBe(true);
    expect(good.statements[a.id]).toBe(true);

    const changedFigure = await verifyReportSignatures({ ...report, currency: "USD" }, keys);
    expect(changedFigure.ok).toBe(false);
    expect(changedFigure.problems.join("\n")).toMatch(/digest: recomputed .*, report says/);

    const statements = report.statements.map((s) => (s.partner_id === a.id ? { ...s, net: { ...s.net, value: "9.99" } } : s));
    const changedStatement = await verifyReportSignatures({ ...report, statements }, keys);
    expect(changedStatement.statements[a.id]).toBe(false);
    expect(changedStatement.problems.join("\n")).toContain(`${a.id}: digest`);

    const sig = report.signature;
    const i = sig.length - 5;
    const flipped = `${sig.slice(0, i)}${sig[i] === "A" ? "B" : "A"}${sig.slice(i + 1)}`;
    expect((await verifyReportSignatures({ ...report, signature: flipped }, keys)).problems.join("\n")).toMatch(
      /signature does not verify/,
    );
    expect((await verifyReportSignatures(report, { keys: [] })).ok).toBe(false);
  });
});
