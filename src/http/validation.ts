import type { Hook, z } from "@hono/zod-openapi";
import type { AppEnv } from "./context";
import { ApiError } from "./errors";

/** Turns the first zod issue into the contract's error: unknown_field, invalid_body or invalid_param. */
export function zodIssueToApiError(issues: readonly z.core.$ZodIssue[], target: string): ApiError {
  const issue = issues[0];
  if (!issue) return new ApiError(target === "json" ? "invalid_body" : "invalid_param", "invalid request");
  const path = issue.path.map(String).join(".");
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0] ?? "";
    const param = path ? `${path}.${key}` : key;
    return new ApiError("unknown_field", `unknown field: ${param}`, param);
  }
  const code = target === "json" ? "invalid_body" : "invalid_param";
  const where = path || (target === "json" ? "body" : target);
  return new ApiError(code, `${where}: ${issue.message}`, path || undefined);
}

/** Shared validation hook of every route: a failed parse answers in the contract's error shape. */
export const validationHook: Hook<unknown, AppEnv, string, unknown> = (result, _c) => {
  if (!result.success) {
    throw zodIssueToApiError(result.error.issues, result.target);
  }
};
