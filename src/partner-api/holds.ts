import { createRoute, z } from "@hono/zod-openapi";
import type { RouteModule } from "../http/app";
import { runKeyedWrite } from "../http/runner";
import {
  errorResponses,
  IDEMPOTENCY_ERRORS,
  IdempotencyKeyHeader,
  jsonBody,
  jsonResponse,
  PARTNER_AUTH_ERRORS,
  Points,
} from "../http/schemas";
import { tag } from "../http/tags";
import { planCapture, planVoid } from "../ledger/commands/holds";
import { TransactionIdParams, TransactionWithBalance } from "./transaction-schemas";

const CaptureBody = z.strictObject({ points: Points.optional() }).openapi("CaptureRequest", { example: { points: 300 } });
const VoidBody = z.strictObject({}).openapi("VoidRequest", { example: {} });

const holdRoute = (action: "capture" | "void") =>
  createRoute({
    method: "post",
    path: `/burns/{id}/${action}`,
    tags: tag("partnerEarnBurn"),
    summary: action === "capture" ? "Capture a hold (all of it, or part; the rest is released)" : "Void a hold",
    security: [{ CoalitionSignature: [] }],
    request: {
      headers: IdempotencyKeyHeader,
      params: TransactionIdParams,
      // Capture and void may be sent without a body (then nothing is validated and nothing is given).
      body: { ...jsonBody(action === "capture" ? CaptureBody : VoidBody), required: false },
    },
    responses: {
      200: jsonResponse("The hold's transaction and the member's balance", TransactionWithBalance),
      ...errorResponses(
        "invalid_body",
        "unknown_field",
        "transaction_not_found",
        "hold_not_open",
        ...IDEMPOTENCY_ERRORS,
        ...PARTNER_AUTH_ERRORS,
      ),
    },
  });

export const holdRoutes: RouteModule = (r) => {
  r.openapi(holdRoute("capture"), (c) => {
    const { id } = c.req.valid("param");
    const body: { points?: number } = c.req.valid("json") ?? {};
    const partnerId = c.get("partner").id;
    return runKeyedWrite(c, partnerId, (ctx) => planCapture({ partnerId, holdId: id, points: body.points ?? null }, ctx), {
      target: { transactionId: id },
    });
  });

  r.openapi(holdRoute("void"), (c) => {
    const { id } = c.req.valid("param");
    const partnerId = c.get("partner").id;
    return runKeyedWrite(c, partnerId, (ctx) => planVoid({ partnerId, holdId: id }, ctx), { target: { transactionId: id } });
  });
};
