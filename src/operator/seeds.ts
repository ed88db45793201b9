import { createRoute, z } from "@hono/zod-openapi";
import { first, runBatch, sql } from "../db/sql-template";
import { toRfc3339 } from "../db/time";
import type { RouteModule } from "../http/app";
import { ApiError } from "../http/errors";
import { errorResponses, jsonBody, jsonResponse, OPERATOR_AUTH_ERRORS } from "../http/schemas";

/**
 * One-time seeds (migrations/0006_seeds.sql): a record that a named seed ran on this database,
 * so that it runs once per database however often the tool that seeds restarts. `npm start`
 * records `demo-coalition` when its demo seed is done; deleting the record asks for the seed again.
 */

const SeedParams = z.object({
  name: z
    .string()
    .regex(/^[a-z0-9-]{2,64}$/, "must be 2 to 64 of [a-z0-9-]")
    .openapi({ param: { name: "name", in: "path" } }),
});

const SeedSchema = z
  .object({ name: z.string(), seeded_at: z.string(), seeded_by: z.string(), detail: z.record(z.string(), z.unknown()) })
  .openapi("Seed");

const RecordSeed = z
  .strictObject({
    detail: z
      .record(z.string(), z.unknown())
      .optional()
      .openapi({ description: "What the seed did, as the seed reports it (kept as given)" }),
  })
  .openapi("SeedRecord");

interface SeedRow {
  name: string;
  seeded_at: number;
  seeded_by: string;
  detail: string;
}

function render(row: SeedRow) {
  return { name: row.name, seeded_at: toRfc3339(row.seeded_at), seeded_by: row.seeded_by, detail: JSON.parse(row.detail) };
}

async function getSeed(db: D1Database, name: string): Promise<SeedRow | null> {
  return first<SeedRow>(db, sql`SELECT name, seeded_at, seeded_by, detail FROM seeds WHERE name = ${name}`);
}

function seedNotFound(name: string): ApiError {
  return new ApiError("seed_not_found", `no seed ${name} has been recorded on this database`, "name");
}

const SeedResponse = z.object({ seed: SeedSchema });

export const seedRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "get",
      path: "/seeds/{name}",
      tags: ["Operator: seeds"],
      summary: "Whether a one-time seed (e.g. npm start's demo-coalition) ran on this database, when and by whom",
      security: [{ OperatorToken: [] }],
      request: { params: SeedParams },
      responses: {
        200: jsonResponse("The seed's record", SeedResponse),
        ...errorResponses("invalid_param", "seed_not_found", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { name } = c.req.valid("param");
      const row = await getSeed(c.env.DB, name);
      if (!row) throw seedNotFound(name);
      return c.json({ seed: render(row) }, 200);
    },
  );

  r.openapi(
    createRoute({
      method: "put",
      path: "/seeds/{name}",
      tags: ["Operator: seeds"],
      summary: "Record that a one-time seed ran (201); an existing record is kept as it is (200)",
      security: [{ OperatorToken: [] }],
      request: { params: SeedParams, body: jsonBody(RecordSeed) },
      responses: {
        201: jsonResponse("The new record", SeedResponse),
        200: jsonResponse("The record that already existed, unchanged", SeedResponse),
        ...errorResponses("invalid_body", "unknown_field", "invalid_param", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { name } = c.req.valid("param");
      const { detail = {} } = c.req.valid("json");
      const db = c.env.DB;
      const now = c.get("now");
      const actor = c.get("operator").sub;
      const [insert] = await runBatch(db, [
        sql`INSERT INTO seeds (name, seeded_at, seeded_by, detail) VALUES (${name}, ${now}, ${actor}, ${JSON.stringify(detail)})
            ON CONFLICT (name) DO NOTHING`,
        // Audited only when this request recorded it: changes() is the INSERT's, in the same batch.
        sql`INSERT INTO audit_log (at, actor, action, target, detail)
            SELECT ${now}, ${actor}, 'seed.record', ${name}, ${JSON.stringify({ detail })} WHERE changes() = 1`,
      ]);
      const row = await getSeed(db, name);
      if (!row) throw new Error(`seed ${name} was not stored`);
      return c.json({ seed: render(row) }, insert?.meta.changes === 1 ? 201 : 200);
    },
  );

  r.openapi(
    createRoute({
      method: "delete",
      path: "/seeds/{name}",
      tags: ["Operator: seeds"],
      summary: "Forget a seed's record, so the tool that seeds runs it again (npm start: on its next start)",
      security: [{ OperatorToken: [] }],
      request: { params: SeedParams },
      responses: {
        200: jsonResponse("The record that was deleted", SeedResponse),
        ...errorResponses("invalid_param", "seed_not_found", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { name } = c.req.valid("param");
      const db = c.env.DB;
      const now = c.get("now");
      const [deleted] = await runBatch(db, [
        sql`DELETE FROM seeds WHERE name = ${name} RETURNING name, seeded_at, seeded_by, detail`,
        sql`INSERT INTO audit_log (at, actor, action, target, detail)
            SELECT ${now}, ${c.get("operator").sub}, 'seed.delete', ${name}, '{}' WHERE changes() = 1`,
      ]);
      const row = deleted?.results[0] as SeedRow | undefined;
      if (!row) throw seedNotFound(name);
      return c.json({ seed: render(row) }, 200);
    },
  );
};
