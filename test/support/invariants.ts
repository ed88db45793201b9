import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { Env } from "../../src/env";
import { ledgerInvariantViolations } from "../../src/ledger/invariants";
import { shardsOf } from "../../src/shards/registry";

/**
 * The four invariants of economics.md, checked straight from D1 after every test that writes, on
 * every shard (each shard's ledger balances on its own, so the total does too). `now` decides
 * time-driven states (expired holds count as released, expired lots as not spendable), exactly
 * as the API shows them. The SQL is shared with the bank test (src/ledger/invariants.ts); every
 * violation is listed when the assertion fails.
 */
export async function checkInvariants(now = Date.now()): Promise<void> {
  for (const shard of shardsOf(env as unknown as Env)) {
    expect(await ledgerInvariantViolations(shard.db, now), shard.id).toEqual([]);
  }
}
