import { OpenAPIHono } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import { memberCors, memberSession } from "../auth/member-session";
import { operatorToken } from "../auth/operator-token";
import { partnerSignature } from "../auth/partner-signature";
import { CATALOGUE_WRITES, catalogueCopy } from "./catalogue-copy";
import { consoleRoutes } from "./console";
import type { AppEnv } from "./context";
import { docsRoutes } from "./docs";
import { docsTryItRoutes } from "./docs-try-it";
import { ApiError } from "./errors";
import { requestContext } from "./request-context";
import { DOC_DESCRIPTION, DOC_TAGS } from "./tags";
import { validationHook } from "./validation";

/** A router whose routes validate with the shared hook (contract-shaped 400s). */
export function newRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
}

export type RouteModule = (router: OpenAPIHono<AppEnv>) => void;

export interface AppRoutes {
  partner: RouteModule[];
  /** Under /v1/me, with a member session instead of a signature (docs/member-sessions.md). */
  member: RouteModule[];
  operator: RouteModule[];
  public: RouteModule[];
}

export function createApp(routes: AppRoutes): OpenAPIHono<AppEnv> {
  const app = newRouter();
  app.use("*", requestContext());

  app.openAPIRegistry.registerComponent("securitySchemes", "CoalitionSignature", {
    type: "apiKey",
    in: "header",
    name: "Coalition-Signature",
    description:
      "A compact JWS (typ coalition-request+jwt, alg EdDSA or ES256, kid = the partner key id) over the claims iss, iat, jti, htm, htu, bh and idk (partner-api.md §2).",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "OperatorToken", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "An operator JWT (EdDSA or ES256) with sub, iat, exp and scope (admin or read).",
  });

  app.openAPIRegistry.registerComponent("securitySchemes", "MemberSession", {
    type: "http",
    scheme: "bearer",
    description:
      "A member session token (mst_…) from POST /v1/members/{member_ref}/sessions: read-only, one member, at most 15 minutes.",
  });

  // Before the partner router: its signature check covers every other path under /v1.
  const member = newRouter();
  member.use("*", memberCors());
  member.use("*", memberSession());
  for (const register of routes.member) register(member);
  app.route("/v1/me", member);

  const partner = newRouter();
  partner.use("*", partnerSignature());
  for (const register of routes.partner) register(partner);
  app.route("/v1", partner);

  const operator = newRouter();
  operator.use("*", operatorToken());
  for (const [method, path] of CATALOGUE_WRITES) operator.on(method, path, catalogueCopy());
  for (const register of routes.operator) register(operator);
  app.route("/admin/v1", operator);

  for (const register of routes.public) register(app);

  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: { title: "Coalition points exchange", version: "1", description: DOC_DESCRIPTION },
    tags: DOC_TAGS,
  });
  docsTryItRoutes(app); // before /docs/:file
  docsRoutes(app);
  consoleRoutes(app);

  app.notFound((c) => {
    const error = new ApiError("not_found", `no route for ${c.req.method} ${new URL(c.req.url).pathname}`);
    return c.json(error.body(c.get("requestId")), 404);
  });
  app.onError((err, c) => {
    const error = toApiError(err, c.get("bodyError"));
    if (error.status >= 500) console.error("request failed", c.get("requestId"), err);
    return c.json(error.body(c.get("requestId")), error.status as 400);
  });
  return app;
}

/**
 * Everything a client can cause maps to a 4xx; only our own faults are 5xx. `bodyError` is the
 * strict JSON parser's refusal, which Hono's validator rethrows as a bare 400 HTTPException.
 */
export function toApiError(err: unknown, bodyError?: ApiError): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof HTTPException) {
    if (err.status === 413) return new ApiError("body_too_large", "the request body is too large");
    if (err.status === 400 && bodyError) return bodyError;
    // Hono's JSON validator: malformed JSON or a wrong Content-Type.
    return new ApiError("invalid_body", err.message || "the request body is not valid JSON");
  }
  if (err instanceof Error && /D1_ERROR|SQLITE_BUSY|Network connection lost|storage/i.test(err.message)) {
    return new ApiError("unavailable", "the ledger is temporarily unavailable; retry with the same Idempotency-Key");
  }
  return new ApiError("internal", "internal error; retry with the same Idempotency-Key");
}
