import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { PartnerClient, type PartnerCredentials, ServerError } from "../../packages/partner-sdk/src/index";
import { BASE_URL, workerFetch } from "../support/exchange";
import { CONTEXT, newRef, partnerWithCard } from "../support/ledger";

/**
 * Retries: the real worker behind a transport that fails the first attempts the way a network
 * or a proxy does. A retry reuses the Idempotency-Key (and its idk) with a fresh signature, backs
 * off on network errors, 429 and 5xx only, and the write is applied once.
 */

interface Seen {
  key: string | null;
  jti: string;
  idk: unknown;
}

function flaky(failures: (Response | Error)[], seen: Seen[]): (r: Request) => Promise<Response> {
  return async (request) => {
    const claims = decodeJwt(request.headers.get("Coalition-Signature") ?? "");
    seen.push({ key: request.headers.get("Idempotency-Key"), jti: String(claims.jti), idk: claims.idk });
    const failure = failures.shift();
    if (failure instanceof Error) throw failure;
    if (failure) return failure;
    return workerFetch(request);
  };
}

async function setup(): Promise<{ credentials: PartnerCredentials; ref: string }> {
  const partner = await partnerWithCard();
  const ref = newRef();
  const enrolled = await partner.client.put(`/v1/members/${ref}`, { context: CONTEXT });
  expect(enrolled.status).toBe(201);
  return { credentials: partner.credentials, ref };
}

const status = (code: number, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify({ error: { type: "api_error", code: "x", message: "injected" } }), { status: code, headers });

describe("partner SDK: retries", () => {
  it("a network error, a 429 (Retry-After) and 5xx are retried with the same key and fresh jtis; the earn is booked once", async () => {
    const { credentials, ref } = await setup();
    const seen: Seen[] = [];
    const failures = [new TypeError("fetch failed"), status(429, { "Retry-After": "0" }), status(500), status(503)];
    const client = new PartnerClient({
      baseUrl: BASE_URL,
      credentials,
      fetch: flaky(failures, seen),
      maxRetries: 4,
      backoffMs: 1,
    });
    const earned = await client.earn({ member_ref: ref, points: 7, context: CONTEXT });
    expect(earned.balance.points.available).toBe(7);
    expect(seen).toHaveLength(5);
    const key = seen[0]!.key;
    expect(key).toMatch(/^idk_/);
    for (const s of seen) expect(s).toMatchObject({ key, idk: key });
    expect(new Set(seen.map((s) => s.jti)).size).toBe(5);
    expect((await client.balance(ref)).points.available).toBe(7);
  });

  it("a lost answer is retried and replayed, not applied twice", async () => {
    const { credentials, ref } = await setup();
    const seen: Seen[] = [];
    let dropped = false;
    // The write reaches the exchange, its answer is lost on the way back.
    const transport = async (request: Request) => {
      seen.push({ key: request.headers.get("Idempotency-Key"), jti: "", idk: undefined });
      const response = await workerFetch(request);
      if (!dropped) {
        dropped = true;
        throw new TypeError("connection reset");
      }
      return response;
    };
    const client = new PartnerClient({ baseUrl: BASE_URL, credentials, fetch: transport, maxRetries: 2, backoffMs: 1 });
    const result = await client.post("/v1/earn", { member_ref: ref, points: 5, context: CONTEXT });
    expect(result).toMatchObject({ ok: true, status: 201, replayed: true });
    expect(seen[0]!.key).toBe(seen[1]!.key);
    expect((await client.balance(ref)).points.available).toBe(5);
  });

  it("4xx answers are not retried; 5xx past the retries throw a ServerError", async () => {
    const { credentials, ref } = await setup();
    const seen: Seen[] = [];
    const client = new PartnerClient({ baseUrl: BASE_URL, credentials, fetch: flaky([], seen), maxRetries: 3, backoffMs: 1 });
    await expect(client.burn({ member_ref: ref, points: 1, context: CONTEXT })).rejects.toMatchObject({ status: 422 });
    expect(seen).toHaveLength(1);

    const down = new PartnerClient({
      baseUrl: BASE_URL,
      credentials,
      fetch: flaky([status(502), status(502), status(502)], []),
      maxRetries: 2,
      backoffMs: 1,
    });
    await expect(down.balance(ref)).rejects.toBeInstanceOf(ServerError);
  });
});
