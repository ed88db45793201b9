/**
 * The D1 calls of the rarer paths (issue "Every write decided in one D1 batch", item 1), each
 * request read from the bench worker's D1-Calls header: an answer that is a replay, a key reused
 * for another request, a business outcome that is stored, a validation error, a catalogue found
 * stale (changed behind this isolate's back, or by an operator request), next to the happy path.
 */
import type { PartnerClient } from "../../packages/partner-sdk/src/index";
import type { HttpResult } from "../lib/http";
import { d1Sample } from "./ops";
import { EARN_AMOUNT } from "./scenarios";
import { enrol, freshMember } from "./setup";
import { newJti } from "./sign";

export interface PathCalls {
  path: string;
  /** What the issue expects, when it says. */
  expected?: number;
  status: number;
  code?: string;
  calls: number;
  read: number;
  written: number;
}

type Op = (method: string, path: string, body?: unknown) => Promise<HttpResult>;

async function bumpCatalogue(baseUrl: string): Promise<void> {
  const r = await fetch(`${baseUrl}/__bench/catalogue/bump`, { method: "POST" });
  if (!r.ok) throw new Error(`POST /__bench/catalogue/bump answered ${r.status}`);
}

export async function measurePaths(baseUrl: string, client: PartnerClient, currency: string, op: Op): Promise<PathCalls[]> {
  const m = freshMember("paths");
  await enrol(client, m);
  const out: PathCalls[] = [];
  const record = async (
    path: string,
    expected: number | undefined,
    call: () => Promise<{ response: Response; text: string }>,
  ) => {
    const r = await call();
    const s = d1Sample(r.response);
    let code: string | undefined;
    try {
      code = (JSON.parse(r.text) as { error?: { code?: string } }).error?.code;
    } catch {
      code = undefined;
    }
    out.push({
      path,
      ...(expected === undefined ? {} : { expected }),
      status: s.status,
      ...(code ? { code } : {}),
      calls: s.calls,
      read: s.read,
      written: s.written,
    });
  };
  const earnBody = { member_ref: m.ref, amount: { value: EARN_AMOUNT, unit: currency }, context: m.context };
  const key = `bench_${newJti()}`;

  await client.get("/v1/partner");
  await record("earn (happy path)", 1, () => client.post("/v1/earn", earnBody, { idempotencyKey: key }));
  await record("signed GET (happy path)", 1, () => client.get("/v1/partner"));
  await record("earn replayed (same key, same request)", 2, () => client.post("/v1/earn", earnBody, { idempotencyKey: key }));
  await record("earn, key reused for another request", undefined, () =>
    client.post("/v1/earn", { ...earnBody, amount: { value: "26.00", unit: currency } }, { idempotencyKey: key }),
  );
  await record("burn refused and stored (insufficient_points)", 2, () =>
    client.post("/v1/burns", { member_ref: m.ref, points: 1_000_000_000, context: m.context }),
  );
  await record("earn, validation error (points: 0)", 1, () =>
    client.post("/v1/earn", { member_ref: m.ref, points: 0, context: m.context }),
  );
  await bumpCatalogue(baseUrl);
  await record("earn, catalogue changed by another isolate", 3, () => client.post("/v1/earn", earnBody));
  await record("earn right after (catalogue reloaded)", 1, () => client.post("/v1/earn", earnBody));
  await bumpCatalogue(baseUrl);
  await record("signed GET, catalogue changed by another isolate", undefined, () => client.get("/v1/partner"));
  const rules = await op("PUT", "/risk-rules", { rules: [] });
  if (rules.ok)
    await record("earn after an operator change here (PUT /admin/v1/risk-rules)", undefined, () =>
      client.post("/v1/earn", earnBody),
    );
  return out;
}
