import type { Context } from "hono";
import { admissionError, admissionStatements } from "../auth/admission";
import {
  CATALOGUE_VERSION,
  type Catalogue,
  catalogue,
  catalogueGuard,
  forgetCatalogue,
  StaleCatalogue,
} from "../catalogue/catalogue";
import { type AnsweredGuard, GUARD_MESSAGES, type GuardCode, guardViolated, isInternalGuard, mergeGuards } from "../db/guard";
import { runBatch, type Sql, sql } from "../db/sql-template";
import type { AppEnv } from "./context";
import { ApiError, isStoredOutcome } from "./errors";
import {
  answerFromRecord,
  type IdempotencyKey,
  idempotencyKeyOf,
  readRecord,
  type StoredRecord,
  type StoredResponse,
  storeOutcome,
  storeResponse,
  unusedKeyGuard,
} from "./idempotency";
import { rawJson } from "./raw-json";
import { responseText } from "./responses";

/**
 * Every write decided in one D1 batch. A command plans its write from the request and the
 * isolate's cached catalogue as SQL statements plus the SQL of its response; the runner puts in
 * front of them what the request must pass (the signed request's admission checks, the catalogue
 * version, the Idempotency-Key's freshness) and after them the stored response, and sends the
 * whole as ONE batch: a request that succeeds costs one round trip. The first guard that fails
 * decides the answer, and nothing of a failed batch is committed; then, rarely, a second call
 * follows: a stale catalogue is reloaded and the write decided again, a replay reads its record,
 * a business outcome is stored (with the `jti`), an answer that is not stored records the `jti`.
 */

export interface WritePlan {
  /** The success status. */
  status: number;
  /** The command's statements, guards included, in order. */
  statements: Sql[];
  /** SQL of the response body text, or of the values of a format (./responses.ts), evaluated after the statements. */
  response: StoredResponse;
  /** A guard of this command answered in its own words (a message the state decides is SQL). */
  describe?: Partial<Record<GuardCode, { message?: Sql | string; param?: string }>>;
  /** The command's own failure (a risk decline): the stored error and what is committed with it. */
  onFailure?: (error: unknown) => { error: ApiError; statements: Sql[] } | undefined;
}

/** A business outcome the command decided before any batch, with the guards that would answer first. */
export class Refusal extends Error {
  constructor(
    readonly error: ApiError,
    readonly before: Sql[] = [],
  ) {
    super(error.message);
  }
}

export interface CommandContext {
  catalogue: Catalogue;
  now: number;
}

/** Plans the write; most commands decide from the request and the catalogue alone (no read: one round trip). */
export type Planner = (ctx: CommandContext) => WritePlan | Promise<WritePlan>;

/** At most this many catalogue reloads for one request (each one means an operator change). */
const MAX_STALE_RETRIES = 3;
const STALE = Symbol("stale");

function staleTooOften(): ApiError {
  return new ApiError(
    "unavailable",
    "the catalogue kept changing while this request was decided; retry with the same Idempotency-Key",
  );
}

/** The admission statements of a signed request, marked as taken by the batch that carries them. */
function takeAdmission(c: Context<AppEnv>): Sql[] {
  const admission = c.get("admission");
  return admission && !admission.done ? admissionStatements(admission) : [];
}

/**
 * A request's batch: its admission guard merged with the guards that open `statements` (one
 * statement, the same first answer), then the `jti` recorded, then the rest, adjacent guards
 * merged too. Only for batches whose results are read from the end (the stored response).
 */
function batchOf(c: Context<AppEnv>, statements: Sql[]): Sql[] {
  const [admissionGuard, recordJti] = takeAdmission(c);
  const merged = mergeGuards(admissionGuard ? [admissionGuard, ...statements] : statements);
  return recordJti ? [...merged.slice(0, 1), recordJti, ...merged.slice(1)] : merged;
}

function admitted(c: Context<AppEnv>): void {
  const admission = c.get("admission");
  if (admission) c.set("admission", { ...admission, done: true });
}

/**
 * The answers below are raw Responses (bytes rendered by SQL and stored as they are); each
 * route's schema documents their shape, so they are typed `any` to the routes.
 */
// biome-ignore lint/suspicious/noExplicitAny: see above.
type RouteAnswer = Promise<any>;

/** A POST under an Idempotency-Key (partner or operator scope), in one batch. */
export async function runKeyedWrite(c: Context<AppEnv>, scope: string, plan: Planner): RouteAnswer {
  const key = await idempotencyKeyOf(c, scope);
  return decide(
    c,
    plan,
    (p, cat) => [
      catalogueGuard(cat.version),
      unusedKeyGuard(key),
      ...p.statements,
      storeResponse(key, p.status, p.response, c.get("now")),
    ],
    key,
  );
}

/** A write without an Idempotency-Key (an enrolment is idempotent by member_ref), in one batch. */
export async function runWrite(
  c: Context<AppEnv>,
  plan: (ctx: CommandContext) => {
    statements: Sql[];
    answer: (results: D1Result[]) => Response;
    onFailure?: WritePlan["onFailure"];
  },
): RouteAnswer {
  const db = c.env.DB;
  const now = c.get("now");
  for (let attempt = 0; ; attempt++) {
    const cat = await catalogue(db, now);
    let p: ReturnType<typeof plan>;
    try {
      p = plan({ catalogue: cat, now });
    } catch (error) {
      if (!(error instanceof StaleCatalogue) || attempt >= MAX_STALE_RETRIES) throw error;
      forgetCatalogue();
      continue;
    }
    try {
      // The command's own statements stay as they are: its answer reads their results by position.
      const results = await runBatch(db, [...batchOf(c, [catalogueGuard(cat.version)]), ...p.statements]);
      admitted(c);
      return p.answer(results);
    } catch (error) {
      if (guardViolated(error) === "catalogue_stale" && attempt < MAX_STALE_RETRIES) {
        forgetCatalogue();
        continue;
      }
      const auth = admissionError(error);
      if (auth) throw auth;
      const answer = answeredGuard(error, {});
      if (answer) throw answer;
      const own = p.onFailure?.(error);
      if (!own) throw error;
      // Not stored (no key), but recorded (a risk decline's event), with the jti.
      await runBatch(db, [...takeAdmission(c), ...own.statements]);
      admitted(c);
      throw own.error;
    }
  }
}

/**
 * An operator write that takes no Idempotency-Key (created once, by id), in one batch: a failed
 * guard answers in the command's words (`describe`), anything else is ours (5xx).
 */
export async function runOperatorWrite(
  c: Context<AppEnv>,
  statements: Sql[],
  describe: NonNullable<WritePlan["describe"]> = {},
): Promise<D1Result[]> {
  try {
    return await runBatch(c.env.DB, statements);
  } catch (error) {
    throw answeredGuard(error, describe) ?? error;
  }
}

export interface ReadPlan {
  statements: Sql[];
  answer: (results: D1Result[]) => Response | Promise<Response>;
}

/**
 * A signed read in one batch: the admission checks, the catalogue version (a read decided on a
 * stale catalogue is decided again) and the reads. `answer` gets the reads' results.
 */
export async function runRead(c: Context<AppEnv>, plan: (ctx: CommandContext) => ReadPlan): RouteAnswer {
  const db = c.env.DB;
  const now = c.get("now");
  for (let attempt = 0; ; attempt++) {
    const cat = await catalogue(db, now);
    let p: ReadPlan;
    try {
      p = plan({ catalogue: cat, now });
    } catch (error) {
      if (!(error instanceof StaleCatalogue) || attempt >= MAX_STALE_RETRIES) throw error;
      forgetCatalogue();
      continue;
    }
    const admission = takeAdmission(c);
    let results: D1Result[];
    try {
      results = await runBatch(db, [...admission, CATALOGUE_VERSION, ...p.statements]);
    } catch (error) {
      throw admissionError(error) ?? error;
    }
    admitted(c);
    const version = (results[admission.length]?.results[0] as { version: number } | undefined)?.version;
    if (version !== cat.version && attempt < MAX_STALE_RETRIES) {
      forgetCatalogue();
      continue;
    }
    return p.answer(results.slice(admission.length + 1));
  }
}

async function decide(
  c: Context<AppEnv>,
  planner: Planner,
  frame: (p: WritePlan, cat: Catalogue) => Sql[],
  key: IdempotencyKey,
): Promise<Response> {
  const db = c.env.DB;
  const now = c.get("now");
  for (let attempt = 0; ; attempt++) {
    const cat = await catalogue(db, now);
    let p: WritePlan;
    try {
      p = await planner({ catalogue: cat, now });
    } catch (error) {
      if (error instanceof StaleCatalogue && attempt < MAX_STALE_RETRIES) {
        forgetCatalogue();
        continue;
      }
      const outcome =
        error instanceof Refusal
          ? await stored(c, key, cat, error.error, error.before, [])
          : error instanceof ApiError && isStoredOutcome(error)
            ? await stored(c, key, cat, error, [], [])
            : undefined;
      if (outcome === undefined) throw error;
      if (outcome === STALE && attempt < MAX_STALE_RETRIES) continue;
      if (outcome === STALE) throw staleTooOften();
      return outcome;
    }
    try {
      const results = await runBatch(db, batchOf(c, frame(p, cat)));
      admitted(c);
      const row = results[results.length - 1]?.results?.[0] as
        | { response_status: number; response_body: string; format: number | null }
        | undefined;
      if (!row) throw new Error("a keyed write stored no response");
      return rawJson(responseText(row), row.response_status);
    } catch (error) {
      const code = guardViolated(error);
      if (code === "catalogue_stale" && attempt < MAX_STALE_RETRIES) {
        forgetCatalogue();
        continue;
      }
      const auth = admissionError(error);
      if (auth) throw auth;
      if (code === "idempotency_key_exists") return replay(c, key);
      const answer = answeredGuard(error, p.describe ?? {});
      if (answer && !isStoredOutcome(answer)) throw answer;
      const own = answer ? undefined : p.onFailure?.(error);
      const outcome = answer
        ? await stored(c, key, cat, answer, [], [], p.describe?.[code as GuardCode]?.message)
        : own
          ? await stored(c, key, cat, own.error, [], own.statements)
          : undefined;
      if (outcome === undefined) throw error;
      if (outcome === STALE && attempt < MAX_STALE_RETRIES) continue;
      if (outcome === STALE) throw staleTooOften();
      return outcome;
    }
  }
}

/** The ApiError a failed guard answers (with the command's own words), or undefined. */
function answeredGuard(error: unknown, describe: NonNullable<WritePlan["describe"]>): ApiError | undefined {
  const code = guardViolated(error);
  if (code === undefined || isInternalGuard(code)) return undefined;
  const own = describe[code];
  const message = typeof own?.message === "string" ? own.message : GUARD_MESSAGES[code as AnsweredGuard];
  if (code === "capture_exceeds_hold") return new ApiError("invalid_body", message, own?.param ?? "points");
  return new ApiError(code as Exclude<AnsweredGuard, "capture_exceeds_hold">, message, own?.param);
}

/**
 * Stores a business outcome under the key, in the batch that also records the jti, after the
 * guards that would have answered first (`before`) and with the catalogue it was decided on.
 */
async function stored(
  c: Context<AppEnv>,
  key: IdempotencyKey,
  cat: Catalogue,
  error: ApiError,
  before: Sql[],
  extra: Sql[],
  message?: Sql | string,
): Promise<Response | typeof STALE> {
  const db = c.env.DB;
  const now = c.get("now");
  const body = errorBodySql(error, c.get("requestId"), typeof message === "object" ? message : undefined);
  try {
    const results = await runBatch(db, [
      ...batchOf(c, [catalogueGuard(cat.version), ...before, ...extra]),
      storeOutcome(key, error.status, body, now),
      readRecord(key),
    ]);
    admitted(c);
    const row = results[results.length - 1]?.results?.[0] as StoredRecord | undefined;
    const ours = row?.response_body !== undefined && results[results.length - 2]?.meta.changes === 1;
    return answerFromRecord(key, row, ours);
  } catch (failure) {
    const auth = admissionError(failure);
    if (auth) throw auth;
    if (guardViolated(failure) === "catalogue_stale") {
      // The outcome was decided on what changed: decide it again from the start.
      forgetCatalogue();
      return STALE;
    }
    const first = answeredGuard(failure, {});
    if (first && !isStoredOutcome(first)) throw first;
    if (first) return stored(c, key, cat, first, [], []);
    throw failure;
  }
}

/** The key has a record: the stored answer (a replay), or 409 for another request. The jti is recorded. */
async function replay(c: Context<AppEnv>, key: IdempotencyKey): Promise<Response> {
  try {
    const results = await runBatch(c.env.DB, [...takeAdmission(c), readRecord(key)]);
    admitted(c);
    return answerFromRecord(key, results[results.length - 1]?.results?.[0] as StoredRecord | undefined, false);
  } catch (error) {
    throw admissionError(error) ?? error;
  }
}

/** The contract's error body (src/http/errors.ts `ApiError.body`), with a message SQL may render. */
function errorBodySql(error: ApiError, requestId: string, message?: Sql): Sql {
  const param = error.param === undefined ? sql`` : sql`, 'param', ${error.param}`;
  return sql`json_object('error', json_object('type', ${error.type}, 'code', ${error.code}, 'message', ${message ?? error.message}${param},
    'request_id', ${requestId}))`;
}
