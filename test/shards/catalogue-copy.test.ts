import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { copyCatalogueAfterChange } from "../../src/catalogue/replicate";
import type { Env } from "../../src/env";
import { failingBatches } from "../support/d1-calls";
import { createPartner, operator } from "../support/exchange";
import { runScheduledJobs } from "../support/jobs";
import { DEFAULT_CARD } from "../support/ledger";

/**
 * Catalogue replication (issue 11 §2, docs/design/shards.md) at N = 2: every operator change to
 * partners, keys, rate cards, risk rules or coalition settings is copied to SHARD_1 with main's
 * catalogue version, funding excepted; the scheduled job repairs a copy that fell behind.
 */

const shard1 = (): D1Database => {
  const db = (env as unknown as Record<string, D1Database | undefined>).SHARD_1;
  if (!db) throw new Error("this file runs in the sharded project (DB + SHARD_1)");
  return db;
};

const PARTNER_COLUMNS =
  "id, name, status, funding_mode, credit_limit_micros, pending_days, hold_ttl_seconds, receivables, allowed_origins, created_at, updated_at";

/** The catalogue as a shard decides on it. */
async function catalogueOf(db: D1Database) {
  const rows = async (query: string) => (await db.prepare(query).all()).results;
  return {
    version: await db.prepare("SELECT version FROM catalogue_version").first("version"),
    partners: await rows(`SELECT ${PARTNER_COLUMNS} FROM partners ORDER BY id`),
    keys: await rows("SELECT * FROM partner_keys ORDER BY partner_id, kid"),
    cards: await rows("SELECT * FROM rate_cards ORDER BY id"),
    rules: await rows("SELECT * FROM risk_rule_set"),
    settings: await rows("SELECT * FROM coalition_settings"),
  };
}

describe("the catalogue on every shard", () => {
  it("partners, keys and rate cards created through the operator API are on shard 1 at main's version", async () => {
    const copied = async () => expect(await catalogueOf(shard1())).toEqual(await catalogueOf(env.DB));
    const id = `p-copy-${Date.now().toString(36)}`;
    const made = await operator("POST", "/partners", {
      id,
      name: "Copied",
      funding: { mode: "postpaid", credit_limit: { value: "10.00", unit: "CNY" } },
    });
    expect(made.status, made.text).toBe(201);
    await copied(); // the partner alone, before any other change copies everything
    const created = { id };
    const p = await createPartner();
    await copied(); // and its key
    expect((await operator("POST", `/partners/${p.id}/rate-cards`, DEFAULT_CARD)).status).toBe(201);
    const main = await catalogueOf(env.DB);
    expect(main.partners.map((r) => r.id)).toEqual(expect.arrayContaining([created.id, p.id]));
    expect(main.cards.length).toBeGreaterThan(0);
    expect(await catalogueOf(shard1())).toEqual(main);
  });

  it("a suspension, a revoked key and new risk rules are copied; funding is not", async () => {
    const p = await createPartner({ funding: { mode: "prepaid", balance: { value: "50.00", unit: "CNY" } } });
    // Each change is on shard 1 when it is answered (not only after a later one copies everything).
    const copied = async () => expect(await catalogueOf(shard1())).toEqual(await catalogueOf(env.DB));
    expect((await operator("PATCH", `/partners/${p.id}`, { status: "suspended" })).status).toBe(200);
    await copied();
    expect((await operator("DELETE", `/partners/${p.id}/keys/${p.credentials.kid}`)).status).toBeLessThan(300);
    await copied();
    const rules = [{ id: "cap", action: "review", applies_to: "earn", subject: "transaction", max_points: 5000 }];
    expect((await operator("PUT", "/risk-rules", { rules })).status).toBe(200);
    await copied();
    const main = await catalogueOf(env.DB);
    expect(main.partners.find((r) => r.id === p.id)).toMatchObject({ status: "suspended" });
    expect(main.keys.find((k) => k.partner_id === p.id)?.revoked_at).not.toBeNull();
    const balance = (db: D1Database) =>
      db.prepare("SELECT prepaid_balance_micros AS b FROM partners WHERE id = ?1").bind(p.id).first("b");
    expect(await balance(env.DB)).toBe(50_000_000);
    expect(await balance(shard1())).toBe(0);
  });

  it("a copy that fell behind is repaired by the scheduled job", async () => {
    await shard1().batch([
      shard1().prepare("UPDATE partners SET name = 'stale copy'"),
      shard1().prepare("UPDATE catalogue_version SET version = 1"),
    ]);
    expect(await catalogueOf(shard1())).not.toEqual(await catalogueOf(env.DB));
    await runScheduledJobs();
    expect(await catalogueOf(shard1())).toEqual(await catalogueOf(env.DB));
  });

  it("a copy that fails does not fail the change it follows (the job copies it later)", async () => {
    await createPartner();
    const unreachable = failingBatches(shard1(), "shard 1 is unreachable");
    await expect(copyCatalogueAfterChange({ ...(env as Env), SHARD_1: unreachable } as Env)).resolves.toBeUndefined();
  });
});
