import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { ledgerInvariantViolations } from "../../src/ledger/invariants";

/**
 * The four invariants of economics.md, checked straight from D1 after every test that writes.
 * `now` decides time-driven states (expired holds count as released, expired lots as not
 * spendable), exactly as the API shows them. The SQL is shared with the bank test
 * (src/ledger/invariants.ts); every violation is listed when the assertion fails.
 */
export async function checkInvariants(now = Date.now()): Promise<void> {
  expect(await ledgerInvariantViolations(env.DB, now)).toEqual([]);
}
