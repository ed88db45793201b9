import { describe, expect, it } from "vitest";
import { BASE_URL, workerFetch } from "../support/exchange";

/**
 * The OpenAPI document declares the Idempotency-Key header exactly where the contracts require
 * it: every POST under /v1/ (partner-api.md §3), and the operator's payments, payouts,
 * adjustments and review decisions (operator-api.md; README "Risk rules").
 */
interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: { $ref?: string };
}
type Doc = {
  paths: Record<string, Record<string, { parameters?: Parameter[] }>>;
  components: { schemas: Record<string, Record<string, unknown>> };
};

const OPERATOR_KEYED = [
  "POST /admin/v1/partners/{id}/payments",
  "POST /admin/v1/partners/{id}/payouts",
  "POST /admin/v1/members/{member_id}/adjustments",
  "POST /admin/v1/reviews/{transaction_id}",
];

async function doc(): Promise<Doc> {
  return (await (await workerFetch(new Request(`${BASE_URL}/openapi.json`))).json()) as Doc;
}

describe("Idempotency-Key in /openapi.json", () => {
  it("is a required header of exactly the keyed writes", async () => {
    const d = await doc();
    const declared: string[] = [];
    const expected: string[] = [...OPERATOR_KEYED];
    for (const [path, ops] of Object.entries(d.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const name = `${method.toUpperCase()} ${path}`;
        if (method === "post" && path.startsWith("/v1/")) expected.push(name);
        const key = (op.parameters ?? []).filter((p) => p.name.toLowerCase() === "idempotency-key");
        if (key.length === 0) continue;
        expect(key, name).toHaveLength(1);
        expect({ name, in: key[0]?.in, required: key[0]?.required }).toEqual({ name, in: "header", required: true });
        declared.push(name);
      }
    }
    expect(declared.sort()).toEqual(expected.sort());
  });

  it("says what a key is: 1 to 255 printable ASCII", async () => {
    const d = await doc();
    const op = d.paths["/v1/earn"]?.post;
    const ref = op?.parameters?.find((p) => p.name === "Idempotency-Key")?.schema?.$ref ?? "";
    const schema = d.components.schemas[ref.replace("#/components/schemas/", "")];
    expect(schema).toMatchObject({ type: "string", minLength: 1, maxLength: 255 });
    const pattern = new RegExp(String(schema?.pattern));
    expect(pattern.test("k".repeat(255))).toBe(true);
    expect(pattern.test("k".repeat(256))).toBe(false);
    expect(pattern.test("é")).toBe(false);
  });
});
