import type { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "@hono/zod-openapi";
import { signRequest } from "../../packages/partner-sdk/src/signing";
import type { AppEnv } from "./context";
import { ApiError } from "./errors";

/**
 * Local runs only: `/docs` can send "try it" partner requests signed as a demo partner. `npm start`
 * puts the demo partners' keys in `.dev.vars` as DOCS_TRY_IT_KEYS; no deployment has that var
 * (it is in no wrangler.toml), and even with it the signer answers only on this machine
 * (localhost or 127.0.0.1). The docs page asks for each request's signature here, so signing
 * stays the SDK's (jose), as a partner signs.
 */

const LocalKeys = z.array(
  z.object({
    partnerId: z.string(),
    kid: z.string(),
    alg: z.enum(["EdDSA", "ES256"]),
    privateJwk: z.record(z.string(), z.unknown()),
  }),
);
type LocalKey = z.infer<typeof LocalKeys>[number];

const SignBody = z.strictObject({
  partner: z.string().max(64),
  method: z.enum(["GET", "POST", "PUT", "PATCH", "DELETE"]),
  /** Path and query as sent, under /v1/. */
  target: z.string().startsWith("/v1/").max(2048),
  body: z.string().max(65_536).optional(),
  idempotency_key: z.string().min(1).max(255).optional(),
});

function localKeys(c: { env: AppEnv["Bindings"]; req: { url: string } }): LocalKey[] | undefined {
  const raw = c.env?.DOCS_TRY_IT_KEYS;
  const host = new URL(c.req.url).hostname;
  if (!raw || (host !== "127.0.0.1" && host !== "localhost")) return undefined;
  try {
    const parsed = LocalKeys.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined; // not JSON: signing stays off
  }
}

function notFound(url: string): ApiError {
  return new ApiError("not_found", `no route for ${new URL(url).pathname}`);
}

export function docsTryItRoutes(app: OpenAPIHono<AppEnv>): void {
  // Which demo partners the page may sign as (404 where try-it signing is off).
  app.get("/docs/try-it", (c) => {
    const keys = localKeys(c);
    if (!keys) throw notFound(c.req.url);
    return c.json({ partners: keys.map((k) => k.partnerId) });
  });
  app.post("/docs/try-it/sign", async (c) => {
    const keys = localKeys(c);
    if (!keys) throw notFound(c.req.url);
    const parsed = SignBody.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) throw new ApiError("invalid_body", "expected { partner, method, target, body?, idempotency_key? }");
    const { partner, method, target, body, idempotency_key } = parsed.data;
    const key = keys.find((k) => k.partnerId === partner);
    if (!key) throw new ApiError("partner_not_found", `no local key for ${partner}`, "partner");
    const signature = await signRequest(
      { partnerId: key.partnerId, kid: key.kid, alg: key.alg, privateJwk: key.privateJwk },
      { method, target, body: new TextEncoder().encode(body ?? ""), idempotencyKey: idempotency_key },
    );
    return c.json({
      headers: {
        "Coalition-Signature": signature,
        ...(idempotency_key === undefined ? {} : { "Idempotency-Key": idempotency_key }),
      },
    });
  });
}
