import { createRoute, z } from "@hono/zod-openapi";
import { listAudit } from "../audit/log";
import { toRfc3339 } from "../db/time";
import type { RouteModule } from "../http/app";
import { badCursor, decodeCursor, page } from "../http/pagination";
import { errorResponses, jsonResponse, ListQuery, listOf, OPERATOR_AUTH_ERRORS } from "../http/schemas";
import { tag } from "../http/tags";

const AuditEntry = z
  .object({ id: z.string(), at: z.string(), actor: z.string(), action: z.string(), target: z.string(), detail: z.unknown() })
  .openapi("AuditEntry");

export const auditRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "get",
      path: "/audit",
      tags: tag("operatorAudit"),
      summary: "The audit log of every operator change, newest first",
      security: [{ OperatorToken: [] }],
      request: {
        query: ListQuery.extend({
          actor: z
            .string()
            .max(200)
            .optional()
            .openapi({ param: { name: "actor", in: "query" } }),
          action: z
            .string()
            .max(100)
            .optional()
            .openapi({ param: { name: "action", in: "query" } }),
        }),
      },
      responses: {
        200: jsonResponse("Audit entries", listOf(AuditEntry)),
        ...errorResponses("invalid_param", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { limit, cursor, actor, action } = c.req.valid("query");
      const position = decodeCursor(cursor, ["id"]);
      const beforeId = position ? Number(position.id) : undefined;
      if (beforeId !== undefined && !Number.isSafeInteger(beforeId)) {
        throw badCursor();
      }
      const rows = await listAudit(c.env.DB, { limit: limit + 1, beforeId, actor, action });
      const result = page(rows, limit, (e) => ({ id: e.id }));
      return c.json(
        {
          data: result.data.map((e) => ({
            id: `aud_${e.id}`,
            at: toRfc3339(e.at),
            actor: e.actor,
            action: e.action,
            target: e.target,
            detail: JSON.parse(e.detail) as unknown,
          })),
          next_cursor: result.next_cursor,
        },
        200,
      );
    },
  );
};
