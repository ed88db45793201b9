import type { Context } from "hono";
import { admissionError } from "../auth/admission";
import {
  CATALOGUE_VERSION,
  type Catalogue,
  catalogue,
  catalogueGuard,
  forgetCatalogue,
  StaleCatalogue,
} from "../catalogue/catalogue";
import { copyCatalogueWhereBehind } from "../catalogue/replicate";
import { type AnsweredGuard, GUARD_MESSAGES, type GuardCode, guardViolated, isInternalGuard, mergeGuards } from "../db/guard";
import { runBatch, type Sql, sql } from "../db/sql-template";
import { reservationLapsed } from "../ledger/funding-reservations";
import type { Target } from "../shards/placement";
import { shardsOf } from "../shards/registry";
import { admitOnMain, admitted, batchOf, takeAdmission } from "./admission-batch";
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
import { type Placed, placeRequest, replaced } from "./placed";
import { rawJson } from "./raw-json";
import { claimElsewhereGuard, claimOnMain, readClaim, releaseClaim, reusedKey } from "./request-claims";
import { responseText } from "./responses";
import { recordRefusal, releaseAfterFailure, roundOneOnMain } from "./round-one";

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
  /**
   * On a member's shard other than main (CommandContext.split): what main decides first, in
   * round one with the key's claim (the risk rules on devices and IPs), and the command's
   * statements given main's results (those of exactly these statements).
   */
  roundOne?: {
    statements: Sql[];
    after(results: readonly D1Result[]): { statements: Sql[] };
    /** The funding reservation round one makes (its key): released at once when the shard's batch does not commit. */
    reservation?: string;
  };
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
  /** The member's bucket (transaction ids the command mints name it); undefined for a write on main. */
  bucket?: number | undefined;
  /** Where the batch runs (the member's shard), for the rare command that reads before it plans. */
  db: D1Database;
  /** The batch runs on a shard other than main (N > 1): what needs main is decided there first (WritePlan.roundOne). */
  split: boolean;
  /** The index of the shard the batch runs on (0 is main). */
  shard: number;
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

/**
 * The answers below are raw Responses (bytes rendered by SQL and stored as they are); each
 * route's schema documents their shape, so they are typed `any` to the routes.
 */
// biome-ignore lint/suspicious/noExplicitAny: see above.
type RouteAnswer = Promise<any>;

/** What a command is decided with: the catalogue, the clock, where its batch runs. */
function contextOf(catalogue: Catalogue, now: number, placed: Placed): CommandContext {
  const split = placed.sharded && !placed.onMain;
  return { catalogue, now, bucket: placed.bucket, db: placed.db, split, shard: placed.placement?.shard.index ?? 0 };
}

/** What a request is about (a member, one of its transactions), so its batch runs on the member's shard. */
export interface About {
  target?: Target | undefined;
}

/** A POST under an Idempotency-Key (partner or operator scope), in one batch on the member's shard. */
export async function runKeyedWrite(c: Context<AppEnv>, scope: string, plan: Planner, about: About = {}): RouteAnswer {
  const key = await idempotencyKeyOf(c, scope);
  return decide(c, plan, key, about.target);
}

/** A write without an Idempotency-Key (an enrolment is idempotent by member_ref), in one batch. */
export async function runWrite(
  c: Context<AppEnv>,
  plan: (ctx: CommandContext) => {
    statements: Sql[];
    answer: (results: D1Result[]) => Response;
    onFailure?: WritePlan["onFailure"];
    roundOne?: WritePlan["roundOne"];
  },
  about: About = {},
): RouteAnswer {
  const now = c.get("now");
  for (let attempt = 0; ; attempt++) {
    const placed = await placeRequest(c, about.target, true);
    const cat = await catalogue(c.env.DB, now);
    let p: ReturnType<typeof plan>;
    try {
      p = plan(contextOf(cat, now, placed));
    } catch (error) {
      if (!(error instanceof StaleCatalogue) || attempt >= MAX_STALE_RETRIES) throw error;
      forgetCatalogue();
      continue;
    }
    let statements: Sql[];
    try {
      statements = await roundOneOnMain(c, placed, p);
    } catch (error) {
      const own = error instanceof ApiError ? undefined : p.onFailure?.(error);
      if (!own) throw error;
      await recordRefusal(c, placed, own.statements);
      throw own.error;
    }
    try {
      // The command's own statements stay as they are: its answer reads their results by position.
      const results = await runBatch(placed.db, [...batchOf(c, [...placed.guards, catalogueGuard(cat.version)]), ...statements]);
      admitted(c);
      return p.answer(results);
    } catch (error) {
      if (attempt < MAX_STALE_RETRIES && (await placedAgain(c, placed, error))) continue;
      const auth = admissionError(error);
      if (auth) throw auth;
      const answer = answeredGuard(error, {});
      if (answer) throw answer;
      const own = p.onFailure?.(error);
      if (!own) throw error;
      await recordRefusal(c, placed, own.statements);
      throw own.error;
    }
  }
}

/**
 * After a failed batch: whether the request is decided again (placed again, or on a catalogue
 * found stale: reloaded, and copied first to a shard whose copy was behind).
 */
async function placedAgain(c: Context<AppEnv>, placed: Placed, error: unknown): Promise<boolean> {
  if (await replaced(c, placed, error)) return true;
  if (guardViolated(error) !== "catalogue_stale") return false;
  forgetCatalogue();
  return true;
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
 * stale catalogue is decided again) and the reads. `answer` gets the reads' results. On a shard
 * other than main, main checks the signed request in parallel with the read (a read has no
 * effect to undo: its answer is given only when both passed).
 */
export async function runRead(c: Context<AppEnv>, plan: (ctx: CommandContext) => ReadPlan, about: About = {}): RouteAnswer {
  const now = c.get("now");
  for (let attempt = 0; ; attempt++) {
    const placed = await placeRequest(c, about.target, false);
    const cat = await catalogue(c.env.DB, now);
    let p: ReadPlan;
    try {
      p = plan(contextOf(cat, now, placed));
    } catch (error) {
      if (!(error instanceof StaleCatalogue) || attempt >= MAX_STALE_RETRIES) throw error;
      forgetCatalogue();
      continue;
    }
    const admission = placed.onMain ? takeAdmission(c) : [];
    const head = [...admission, ...mergeGuards(placed.guards)];
    let results: D1Result[];
    try {
      [, results] = await Promise.all([
        admitOnMain(c, placed),
        runBatch(placed.db, [...head, CATALOGUE_VERSION, ...p.statements]),
      ]);
    } catch (error) {
      if (attempt < MAX_STALE_RETRIES && (await replaced(c, placed, error))) continue;
      throw admissionError(error) ?? error;
    }
    admitted(c);
    const version = (results[head.length]?.results[0] as { version: number } | undefined)?.version;
    if (version !== cat.version && attempt < MAX_STALE_RETRIES) {
      forgetCatalogue();
      if (!placed.onMain) await copyCatalogueWhereBehind(c.env);
      continue;
    }
    return p.answer(results.slice(head.length + 1));
  }
}

/** The statements around a keyed write's own: the guards that open it, the claim on main at N > 1, the stored response. */
function keyedFrame(p: WritePlan, cat: Catalogue, key: IdempotencyKey, placed: Placed, now: number): Sql[] {
  return [
    ...placed.guards,
    catalogueGuard(cat.version),
    unusedKeyGuard(key),
    ...(placed.sharded && placed.onMain ? [claimElsewhereGuard(key)] : []),
    ...p.statements,
    storeResponse(key, p.status, p.response, now),
  ];
}

async function decide(c: Context<AppEnv>, planner: Planner, key: IdempotencyKey, target: Target | undefined): Promise<Response> {
  const now = c.get("now");
  for (let attempt = 0; ; attempt++) {
    const placed = await placeRequest(c, target, true);
    const cat = await catalogue(c.env.DB, now);
    let p: WritePlan;
    try {
      p = await planner(contextOf(cat, now, placed));
    } catch (error) {
      if (error instanceof StaleCatalogue && attempt < MAX_STALE_RETRIES) {
        forgetCatalogue();
        continue;
      }
      const refused =
        error instanceof Refusal ? error : error instanceof ApiError && isStoredOutcome(error) ? new Refusal(error) : undefined;
      if (!refused) throw error;
      const outcome = await claimed(c, key, placed, [], () => stored(c, key, cat, placed, refused.error, refused.before, []));
      if (outcome === STALE && attempt < MAX_STALE_RETRIES) continue;
      if (outcome === STALE) throw staleTooOften();
      return outcome;
    }
    const answer = await claimed(c, key, placed, p.roundOne?.statements ?? [], async (round) => {
      if ("refused" in round) return failed(c, key, cat, placed, p, round.refused, attempt);
      const q = p.roundOne ? { ...p, ...p.roundOne.after(round.results) } : p;
      try {
        const results = await runBatch(placed.db, batchOf(c, keyedFrame(q, cat, key, placed, now)));
        admitted(c);
        const row = results[results.length - 1]?.results?.[0] as
          | { response_status: number; response_body: string; format: number | null }
          | undefined;
        if (!row) throw new Error("a keyed write stored no response");
        return rawJson(responseText(row), row.response_status);
      } catch (error) {
        await releaseAfterFailure(c, placed, q);
        return failed(c, key, cat, placed, q, error, attempt);
      }
    });
    if (answer === STALE && attempt < MAX_STALE_RETRIES) continue;
    if (answer === STALE) throw staleTooOften();
    return answer;
  }
}

/** Round one's outcome: the results of the plan's statements for main, or main's refusal (a risk rule). */
type RoundOne = { results: readonly D1Result[] } | { refused: unknown };

/**
 * Runs `write` on the placed shard after round one on main (at N > 1 on another shard): the
 * signed request's checks, the key's claim and what the plan decides in main (`extra`). A key
 * claimed for another shard's record is answered from there. When main refuses (a risk rule),
 * the claim rolled back with it: it is taken alone, and `write` stores the refusal on the shard.
 */
async function claimed(
  c: Context<AppEnv>,
  key: IdempotencyKey,
  placed: Placed,
  extra: Sql[],
  write: (round: RoundOne) => Promise<Response | typeof STALE>,
): Promise<Response | typeof STALE> {
  if (!placed.sharded || placed.onMain) return write({ results: [] });
  const shard = placed.placement?.shard.index ?? 0;
  const claimOn = async (statements: Sql[]) => {
    try {
      return await claimOnMain(c.env.DB, takeAdmission(c), key, shard, c.get("now"), statements);
    } catch (error) {
      throw admissionError(error) ?? error;
    }
  };
  let round: RoundOne;
  let claim: Awaited<ReturnType<typeof claimOnMain>>["claim"];
  try {
    const first = await claimOn(extra);
    claim = first.claim;
    round = { results: first.results };
  } catch (error) {
    if (extra.length === 0 || error instanceof ApiError) throw error;
    claim = (await claimOn([])).claim;
    round = { refused: error };
  }
  admitted(c);
  if (claim.request_hash !== key.hash) throw reusedKey();
  if (claim.shard !== shard) return replay(c, key, shardDb(c, claim.shard));
  return write(round);
}

function shardDb(c: Context<AppEnv>, index: number): D1Database {
  const shard = shardsOf(c.env)[index];
  if (!shard) throw new Error(`a claim names shard ${index}, which is not bound`);
  return shard.db;
}

/** A keyed batch failed: placed again, a replay, or a business outcome stored. */
async function failed(
  c: Context<AppEnv>,
  key: IdempotencyKey,
  cat: Catalogue,
  placed: Placed,
  p: WritePlan,
  error: unknown,
  attempt: number,
): Promise<Response | typeof STALE> {
  if (attempt < MAX_STALE_RETRIES && (await placedAgain(c, placed, error))) return STALE;
  // Its reservation was released before the batch drew on it: decided again, with a new one.
  if (attempt < MAX_STALE_RETRIES && reservationLapsed(error)) return STALE;
  const code = guardViolated(error);
  const auth = admissionError(error);
  if (auth) throw auth;
  if (code === "idempotency_key_exists") return replay(c, key, placed.db, placed);
  const answer = answeredGuard(error, p.describe ?? {});
  if (answer && !isStoredOutcome(answer)) {
    if (placed.sharded && !placed.onMain) await releaseClaim(c.env.DB, key);
    throw answer;
  }
  const own = answer ? undefined : p.onFailure?.(error);
  if (answer) return stored(c, key, cat, placed, answer, [], [], p.describe?.[code as GuardCode]?.message);
  if (own) return stored(c, key, cat, placed, own.error, [], own.statements);
  throw error;
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
  placed: Placed,
  error: ApiError,
  before: Sql[],
  extra: Sql[],
  message?: Sql | string,
): Promise<Response | typeof STALE> {
  const now = c.get("now");
  const body = errorBodySql(error, c.get("requestId"), typeof message === "object" ? message : undefined);
  try {
    const results = await runBatch(placed.db, [
      ...batchOf(c, [
        ...placed.guards,
        catalogueGuard(cat.version),
        ...(placed.sharded && placed.onMain ? [claimElsewhereGuard(key)] : []),
        ...before,
        ...extra,
      ]),
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
    // The outcome was decided on what changed (the catalogue, the placement): decide it again from the start.
    if (await placedAgain(c, placed, failure)) return STALE;
    const code = guardViolated(failure);
    if (code === "idempotency_key_exists") return replay(c, key, placed.db, placed);
    const first = answeredGuard(failure, {});
    if (first && !isStoredOutcome(first)) throw first;
    if (first) return stored(c, key, cat, placed, first, [], []);
    throw failure;
  }
}

/**
 * The key has a record: the stored answer (a replay), or 409 for another request. The jti is
 * recorded. On main at N > 1 the claim decides first (another request's, or a record elsewhere).
 */
async function replay(c: Context<AppEnv>, key: IdempotencyKey, db: D1Database, placed?: Placed): Promise<Response> {
  const withClaim = placed?.sharded === true && placed.onMain;
  let results: D1Result[];
  try {
    results = await runBatch(db, [...takeAdmission(c), readRecord(key), ...(withClaim ? [readClaim(key)] : [])]);
  } catch (error) {
    throw admissionError(error) ?? error;
  }
  admitted(c);
  if (withClaim) {
    const claim = results[results.length - 1]?.results[0] as { request_hash: string; shard: number } | undefined;
    if (claim && claim.request_hash !== key.hash) throw reusedKey();
    // A claim of this request for another shard is its own earlier placement: main's record decides.
    results = results.slice(0, -1);
  }
  return answerFromRecord(key, results[results.length - 1]?.results?.[0] as StoredRecord | undefined, false);
}

/** The contract's error body (src/http/errors.ts `ApiError.body`), with a message SQL may render. */
function errorBodySql(error: ApiError, requestId: string, message?: Sql): Sql {
  const param = error.param === undefined ? sql`` : sql`, 'param', ${error.param}`;
  return sql`json_object('error', json_object('type', ${error.type}, 'code', ${error.code}, 'message', ${message ?? error.message}${param},
    'request_id', ${requestId}))`;
}
