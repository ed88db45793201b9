/**
 * The measured scenarios. Every partner request is signed when autocannon builds it (fresh jti and
 * iat; a POST also gets a fresh Idempotency-Key bound by the idk claim), so none is a replay.
 */
import type { RequestSpec } from "autocannon";
import type { Scenario } from "./load";
import type { BenchMember } from "./setup";
import type { SyncSigner } from "./sign";

/** Points per bench burn and hold. */
export const BURN_POINTS = 10;
/** Each bench earn: this amount of the settlement currency (1 point per unit). */
export const EARN_AMOUNT = "25.00";

function rotating<T>(items: readonly T[]): () => T {
  if (items.length === 0) throw new Error("empty member pool");
  let i = 0;
  return () => items[i++ % items.length] as T;
}

function signed(signer: SyncSigner, req: RequestSpec, method: string, path: string, body = ""): RequestSpec {
  return { ...req, method, path, body, headers: { ...signer.headers(method, path, body) } };
}

export function bareNoop(): Scenario {
  return { name: "bare noop (GET /__bench/noop)", requests: [{ method: "GET", path: "/__bench/noop" }] };
}

export function bareBatch(): Scenario {
  return { name: "bare D1 batch, 2 statements", requests: [{ method: "GET", path: "/__bench/batch" }] };
}

export function bareWriteBatch(): Scenario {
  return { name: "bare D1 write batch (1 row + a read)", requests: [{ method: "GET", path: "/__bench/write-batch" }] };
}

export function signedWhoami(signer: SyncSigner): Scenario {
  return {
    name: "signed GET /v1/partner",
    requests: [{ setupRequest: (req) => signed(signer, req, "GET", "/v1/partner") }],
  };
}

export function balanceRead(signer: SyncSigner, members: readonly BenchMember[]): Scenario {
  const next = rotating(members);
  return {
    name: "signed balance read",
    requests: [{ setupRequest: (req) => signed(signer, req, "GET", `/v1/members/${next().ref}/balance`) }],
  };
}

export function earn(signer: SyncSigner, members: readonly BenchMember[], currency: string, name = "earn"): Scenario {
  const next = rotating(members);
  let order = 0;
  return {
    name,
    requests: [
      {
        setupRequest: (req) => {
          const m = next();
          const body = JSON.stringify({
            member_ref: m.ref,
            amount: { value: EARN_AMOUNT, unit: currency },
            order_ref: `bench-${Date.now().toString(36)}-${order++}`,
            context: m.context,
          });
          return signed(signer, req, "POST", "/v1/earn", body);
        },
      },
    ],
  };
}

function burnBody(m: BenchMember, capture: boolean): string {
  return JSON.stringify({ member_ref: m.ref, points: BURN_POINTS, capture, context: m.context });
}

export function burnCapture(signer: SyncSigner, members: readonly BenchMember[]): Scenario {
  const next = rotating(members);
  return {
    name: "burn (capture: true)",
    requests: [{ setupRequest: (req) => signed(signer, req, "POST", "/v1/burns", burnBody(next(), true)) }],
  };
}

export function holdThenCapture(signer: SyncSigner, members: readonly BenchMember[]): Scenario {
  const next = rotating(members);
  return {
    name: "hold + capture (pair)",
    pair: true,
    requests: [
      {
        setupRequest: (req, context) => {
          context.holdId = undefined;
          return signed(signer, req, "POST", "/v1/burns", burnBody(next(), false));
        },
        onResponse: (status, body, context) => {
          if (status !== 201) return;
          try {
            context.holdId = (JSON.parse(body) as { transaction?: { id?: string } }).transaction?.id;
          } catch {
            context.holdId = undefined;
          }
        },
      },
      {
        // No hold to capture (the hold failed): autocannon starts the sequence over.
        setupRequest: (req, context) =>
          typeof context.holdId === "string"
            ? signed(signer, req, "POST", `/v1/burns/${encodeURIComponent(context.holdId)}/capture`, "{}")
            : null,
      },
    ],
  };
}
