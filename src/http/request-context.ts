import type { MiddlewareHandler } from "hono";
import { randomToken } from "../db/ids";
import type { AppEnv } from "./context";
import { ApiError } from "./errors";
import { useStrictJson } from "./json-body";

/** Largest request body accepted; a partner request is a few hundred bytes. */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * Per request: a request id (echoed in `Request-Id` and in error bodies), one clock reading,
 * and the raw body bytes, read once with a size limit; `c.req.json()` parses those bytes as
 * strict JSON (./json-body.ts).
 */
export function requestContext(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const requestId = `req_${randomToken(12)}`;
    c.set("requestId", requestId);
    c.set("now", Date.now());
    c.header("Request-Id", requestId);
    const declared = Number(c.req.header("Content-Length") ?? "0");
    if (declared > MAX_BODY_BYTES) throw new ApiError("body_too_large", `the body exceeds ${MAX_BODY_BYTES} bytes`);
    const body = c.req.method === "GET" || c.req.method === "HEAD" ? new Uint8Array() : new Uint8Array(await c.req.arrayBuffer());
    if (body.byteLength > MAX_BODY_BYTES) throw new ApiError("body_too_large", `the body exceeds ${MAX_BODY_BYTES} bytes`);
    c.set("rawBody", body);
    useStrictJson(c);
    await next();
    // Responses built as raw Response objects (idempotent replays) get the header too.
    if (!c.res.headers.has("Request-Id")) {
      c.res = new Response(c.res.body, c.res);
      c.res.headers.set("Request-Id", requestId);
    }
  };
}
