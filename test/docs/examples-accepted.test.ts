import { describe, expect, it } from "vitest";
import { BASE_URL, createPartner, operator, workerFetch } from "../support/exchange";

/**
 * Every write's request-body example in /openapi.json is accepted by the API itself (the JSON
 * Schema check in scripts/check-openapi.ts cannot see zod's refinements): sent as documented, to
 * the path its parameters' examples give, it never answers a validation error (400) or a 5xx.
 * And the Idempotency-Key the document declares is the one the API requires: a keyed write sent
 * with its valid example but no key answers 400 idempotency_key_missing, any other write does not.
 */
type Json = Record<string, any>;
interface Doc {
  paths: Record<string, Record<string, Json>>;
  components: { schemas: Record<string, Json> };
}

/** Path parameters the document gives no example for. */
const FALLBACK: Record<string, string> = { id: "brew-coffee", kid: "brew-coffee-k1", name: "demo-coalition" };

function bodyExample(doc: Doc, op: Json): unknown {
  const media = op.requestBody?.content?.["application/json"];
  if (!media) return undefined;
  if ("example" in media) return media.example;
  let schema = media.schema as Json | undefined;
  for (let i = 0; i < 10 && typeof schema?.$ref === "string"; i++)
    schema = doc.components.schemas[schema.$ref.replace("#/components/schemas/", "")];
  return schema?.example;
}

function target(path: string, op: Json): string {
  return path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const p = (op.parameters ?? []).find((x: Json) => x.in === "path" && x.name === name);
    const value = p?.example ?? p?.schema?.example ?? FALLBACK[name];
    if (typeof value !== "string") throw new Error(`${path}: no example for {${name}}`);
    return encodeURIComponent(value);
  });
}

describe("request-body examples of /openapi.json", () => {
  it("are accepted by the API, and only keyed writes require an Idempotency-Key", { timeout: 120_000 }, async () => {
    const doc = (await (await workerFetch(new Request(`${BASE_URL}/openapi.json`))).json()) as Doc;
    const partner = await createPartner({ id: "brew-coffee" });
    const outcomes: string[] = [];
    let sent = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const body = bodyExample(doc, op);
        if (method === "get" || body === undefined) continue;
        const keyed = (op.parameters ?? []).some((p: Json) => p.in === "header" && p.name === "Idempotency-Key");
        const name = `${method.toUpperCase()} ${path}`;
        const url = target(path, op);
        const call = async (idempotencyKey?: string) => {
          if (path.startsWith("/admin/v1/")) {
            const r = await operator(method.toUpperCase(), url.slice("/admin/v1".length), body, { idempotencyKey });
            return { status: r.status, code: r.body?.error?.code as string | undefined };
          }
          const r = await partner.client.request(method.toUpperCase(), url, body, { idempotencyKey });
          return { status: r.status, code: r.ok ? undefined : r.error.code };
        };
        sent++;
        const bare = await call();
        if (keyed) {
          if (bare.code !== "idempotency_key_missing") outcomes.push(`${name} without a key: ${JSON.stringify(bare)}`);
          const keyedCall = await call(`example-${sent}`);
          if (keyedCall.status === 400 || keyedCall.status >= 500) outcomes.push(`${name}: ${JSON.stringify(keyedCall)}`);
        } else if (bare.status === 400 || bare.status >= 500) outcomes.push(`${name}: ${JSON.stringify(bare)}`);
      }
    }
    expect(outcomes).toEqual([]);
    expect(sent).toBeGreaterThan(15);
  });
});
