import { describe, expect, it } from "vitest";
import { operator } from "../support/exchange";

/**
 * One-time seed records (src/operator/seeds.ts): `npm start` seeds its demo coalition once per
 * database and records it here, so a restart never seeds back what the operator changed since.
 * Would fail if: a second PUT replaced the first record, a PUT or DELETE that changed nothing
 * were audited, a deleted record still answered, or a read-scope token could write.
 */

async function audited(name: string): Promise<string[]> {
  const r = await operator("GET", "/audit?limit=100");
  expect(r.status, r.text).toBe(200);
  return (r.body.data as { action: string; target: string }[]).filter((e) => e.target === name).map((e) => e.action);
}

describe("one-time seed records (/admin/v1/seeds/{name})", () => {
  it("records a seed once: 201 with the record, then 200 with the first record, unchanged", async () => {
    const name = "demo-once";
    const missing = await operator("GET", `/seeds/${name}`);
    expect({ status: missing.status, code: missing.body.error.code }).toEqual({ status: 404, code: "seed_not_found" });

    const first = await operator(
      "PUT",
      `/seeds/${name}`,
      { detail: { partners: ["a", "b"] } },
      { tokenOptions: { sub: "npm-start" } },
    );
    expect(first.status, first.text).toBe(201);
    expect(first.body.seed).toMatchObject({ name, seeded_by: "npm-start", detail: { partners: ["a", "b"] } });
    expect(first.body.seed.seeded_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);

    const again = await operator("PUT", `/seeds/${name}`, { detail: { partners: ["c"] } }, { tokenOptions: { sub: "someone" } });
    expect(again.status, again.text).toBe(200);
    expect(again.body.seed).toEqual(first.body.seed);

    const read = await operator("GET", `/seeds/${name}`, undefined, { tokenOptions: { scope: "read" } });
    expect(read.status, read.text).toBe(200);
    expect(read.body.seed).toEqual(first.body.seed);
    expect(await audited(name)).toEqual(["seed.record"]);
  });

  it("forgets a record on DELETE (audited), so the seed can run again", async () => {
    const name = "demo-again";
    expect((await operator("PUT", `/seeds/${name}`, {})).status).toBe(201);
    const deleted = await operator("DELETE", `/seeds/${name}`);
    expect(deleted.status, deleted.text).toBe(200);
    expect(deleted.body.seed).toMatchObject({ name, detail: {} });
    expect((await operator("GET", `/seeds/${name}`)).status).toBe(404);
    const twice = await operator("DELETE", `/seeds/${name}`);
    expect({ status: twice.status, code: twice.body.error.code }).toEqual({ status: 404, code: "seed_not_found" });
    expect((await operator("PUT", `/seeds/${name}`, {})).status).toBe(201);
    expect(await audited(name)).toEqual(["seed.record", "seed.delete", "seed.record"]);
  });

  it("refuses bad names and bodies, and writes with a read-scope token", async () => {
    expect((await operator("PUT", "/seeds/Not_A_Name", {})).status).toBe(400);
    const unknown = await operator("PUT", "/seeds/demo-x", { detail: {}, extra: 1 });
    expect({ status: unknown.status, code: unknown.body.error.code }).toEqual({ status: 400, code: "unknown_field" });
    const readOnly = await operator("PUT", "/seeds/demo-x", {}, { tokenOptions: { scope: "read" } });
    expect({ status: readOnly.status, code: readOnly.body.error.code }).toEqual({ status: 403, code: "scope_missing" });
    expect((await operator("GET", "/seeds/demo-x")).status).toBe(404);
    expect(await audited("demo-x")).toEqual([]);
  });
});
