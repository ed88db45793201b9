import { createRoute, z } from "@hono/zod-openapi";
import type { RouteModule } from "../http/app";
import { runKeyedWrite } from "../http/runner";
import {
  errorResponses,
  IDEMPOTENCY_ERRORS,
  IdempotencyKeyHeader,
  jsonBody,
  jsonResponse,
  OPERATOR_AUTH_ERRORS,
} from "../http/schemas";
import { tag } from "../http/tags";
import { PartnerParams, PartnerSchema, Transfer } from "../partners/schemas";
import { planTransfer, type TransferRequest } from "../partners/transfers";

const transferRoute = (kind: TransferRequest["kind"], summary: string, extraErrors: "payout_exceeds_due"[]) =>
  createRoute({
    method: "post",
    path: `/partners/{id}/${kind}s`,
    tags: tag("operatorPartners"),
    summary,
    security: [{ OperatorToken: [] }],
    request: { params: PartnerParams, body: jsonBody(Transfer), headers: IdempotencyKeyHeader },
    responses: {
      201: jsonResponse(
        "The transfer and the partner's funding position",
        z.object({ [kind]: z.object({}).passthrough(), partner: PartnerSchema }),
      ),
      ...errorResponses(
        "invalid_body",
        "unknown_field",
        "partner_not_found",
        "unknown_unit",
        ...extraErrors,
        ...IDEMPOTENCY_ERRORS,
        ...OPERATOR_AUTH_ERRORS,
      ),
    },
  });

/** A payment the partner made, a payout the operator made: one route each, planned alike. */
const TRANSFERS = [
  {
    kind: "payment",
    summary: "Record a prepaid top-up or a postpaid payment (takes an Idempotency-Key)",
    errors: [],
  },
  {
    kind: "payout",
    summary: "Record a payout of what closed statements owe the partner (payout_due; takes an Idempotency-Key)",
    errors: ["payout_exceeds_due"],
  },
] as const;

export const partnerFundingRoutes: RouteModule = (r) => {
  for (const { kind, summary, errors } of TRANSFERS) {
    r.openapi(transferRoute(kind, summary, [...errors]), (c) => {
      const transfer: TransferRequest = {
        kind,
        partnerId: c.req.valid("param").id,
        body: c.req.valid("json"),
        actor: c.get("operator").sub,
        currency: c.env.SETTLEMENT_CURRENCY,
      };
      return runKeyedWrite(c, "operator", (ctx) => planTransfer(transfer, ctx));
    });
  }
};
