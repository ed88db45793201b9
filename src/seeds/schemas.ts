import { z } from "@hono/zod-openapi";

/** Wire schemas of one-time seeds (src/seeds/store.ts). */

export const SeedParams = z.object({
  name: z
    .string()
    .regex(/^[a-z0-9-]{2,64}$/, "must be 2 to 64 of [a-z0-9-]")
    .openapi({ param: { name: "name", in: "path" } }),
});

const SeedSchema = z
  .object({ name: z.string(), seeded_at: z.string(), seeded_by: z.string(), detail: z.record(z.string(), z.unknown()) })
  .openapi("Seed");

export const RecordSeed = z
  .strictObject({
    detail: z
      .record(z.string(), z.unknown())
      .optional()
      .openapi({ description: "What the seed did, as the seed reports it (kept as given)" }),
  })
  .openapi("SeedRecord", { example: { detail: { partners: 4 } } });

export const SeedResponse = z.object({ seed: SeedSchema });
