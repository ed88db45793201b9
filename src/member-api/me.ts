import { createRoute } from "@hono/zod-openapi";
import { rateCardAt } from "../catalogue/catalogue";
import { sql } from "../db/sql-template";
import type { RouteModule } from "../http/app";
import { runRead } from "../http/runner";
import { errorResponses, jsonResponse } from "../http/schemas";
import { tag } from "../http/tags";
import { pointsWorth, pointValue } from "../ledger/commands/common";
import { balanceJson } from "../ledger/render";
import { sessionMember, sessionRow } from "../members/sessions";
import { BalanceSchema } from "../partner-api/transaction-schemas";
import { sessionOf } from "./session";

/**
 * `GET /v1/me` (docs/member-sessions.md): the session's member's unified balance, the §4 balance
 * object, its value at the session's partner. One D1 call: the session and the balance together.
 */
export const meRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "get",
      path: "/",
      tags: tag("member"),
      summary: "The member's unified balance (a member session's bearer token)",
      security: [{ MemberSession: [] }],
      responses: {
        200: jsonResponse("The balance", BalanceSchema),
        ...errorResponses("session_invalid", "internal", "unavailable"),
      },
    }),
    (c) => {
      const { hash, bucket } = c.get("memberSession") ?? { hash: "", bucket: 0 };
      return runRead(
        c,
        ({ catalogue, now }) => ({
          statements: [sessionRow(hash, now), sql`SELECT ${balanceJson(sessionMember(hash, now), now, undefined)} AS body`],
          answer: ([session, balance]) => {
            const s = sessionOf(c, session?.results[0]);
            const row = balance?.results[0] as { body: string } | undefined;
            if (!row) throw new Error("the balance statement answered no row");
            const body = JSON.parse(row.body) as {
              points: { available: number };
              value: unknown;
            };
            body.value = pointsWorth(body.points.available, pointValue(rateCardAt(catalogue, s.partner_id, now)));
            return c.json(body, 200);
          },
        }),
        { target: { bucket } },
      );
    },
  );
};
