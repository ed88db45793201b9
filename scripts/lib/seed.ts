import type { PartnerCredentials } from "../../packages/partner-sdk/src/index";
import { PartnerClient } from "../../packages/partner-sdk/src/index";
import { DEMO_MEMBER, DEMO_PARTNERS, DEMO_RISK_RULES, type DemoPartner } from "../seed/demo-coalition";
import { errorCode, type HttpResult, operatorCall } from "./http";

/**
 * Seeds the demo coalition through the public APIs only (operator token, signed partner requests),
 * once per database. Partners, their keys and rate cards are ensured on every start (none of them
 * can be deleted, so "create it when it is missing" happens once for each; a partner added to the
 * seed file later is created on the next start, and each partner's key is what .dev/local.json
 * signs with). The coalition-wide demo data (the default risk rules, the demo member and its
 * earns) is seeded only while the database has no record of this seed: when it is done, the seed
 * records itself with PUT /admin/v1/seeds/demo-coalition, and later starts leave all of it as
 * the operator has it since (an empty rule set stays empty). Deleting the record seeds it again.
 */
export const DEMO_SEED = "demo-coalition";

export interface SeedOptions {
  baseUrl: string;
  operatorToken: () => Promise<string>;
  partnerKey: (partnerId: string) => { credentials: PartnerCredentials; publicJwk: Record<string, unknown> };
  log: (message: string) => void;
  warn: (message: string) => void;
}

export interface SeedSummary {
  warnings: number;
  /** The demo member's ref at each partner, when it was enrolled (by this run or the recorded one). */
  memberRefs: Record<string, string>;
}

/** What the seed records about itself in PUT /admin/v1/seeds/demo-coalition's `detail`. */
interface SeedDetail {
  partners: string[];
  risk_rules: string[];
  demo_member_refs: Record<string, string>;
}

interface SeedRecord {
  seeded_at: string;
  seeded_by: string;
  detail: Partial<SeedDetail>;
}

/** The route does not exist (yet): the app's catch-all 404, as opposed to e.g. partner_not_found. */
function missingRoute(r: { status: number; json?: any }): boolean {
  return r.status === 404 && errorCode(r) === "not_found";
}

function describe(r: { status: number; text: string; json?: any }): string {
  const e = r.json?.error;
  return e ? `${r.status} ${e.code}: ${e.message}` : `${r.status} ${r.text.slice(0, 200)}`;
}

function listItems(json: any, ...names: string[]): unknown[] | undefined {
  for (const name of ["data", ...names]) if (Array.isArray(json?.[name])) return json[name] as unknown[];
  return undefined;
}

type Op = (method: string, path: string, body?: unknown, idempotencyKey?: string) => Promise<HttpResult>;
type Log = (m: string) => void;

/** This database's record of the demo seed, or undefined when it has none. */
async function readSeedRecord(op: Op): Promise<SeedRecord | undefined> {
  const r = await op("GET", `/seeds/${DEMO_SEED}`);
  if (r.status === 200) return r.json.seed as SeedRecord;
  if (r.status === 404 && errorCode(r) === "seed_not_found") return undefined;
  throw new Error(`reading the demo seed's record failed: ${describe(r)}`);
}

async function recordSeed(op: Op, detail: SeedDetail, log: Log, warn: Log): Promise<void> {
  const r = await op("PUT", `/seeds/${DEMO_SEED}`, { detail });
  if (r.status === 201 || r.status === 200)
    log(`demo seed recorded (GET /admin/v1/seeds/${DEMO_SEED}): later starts leave it as it is`);
  else warn(`recording the demo seed failed (${describe(r)}); the next start seeds it again`);
}

export async function seedDemoCoalition(opts: SeedOptions): Promise<SeedSummary> {
  let warnings = 0;
  const warn = (m: string) => {
    warnings++;
    opts.warn(m);
  };
  const token = await opts.operatorToken();
  const op: Op = (method, path, body, idempotencyKey) =>
    operatorCall(opts.baseUrl, token, method, `/admin/v1${path}`, body, idempotencyKey ? { idempotencyKey } : {});
  const clients = new Map<string, PartnerClient>();
  const client = (id: string): PartnerClient => {
    let c = clients.get(id);
    if (!c) {
      c = new PartnerClient({ baseUrl: opts.baseUrl, credentials: opts.partnerKey(id).credentials, maxRetries: 2 });
      clients.set(id, c);
    }
    return c;
  };

  const record = await readSeedRecord(op);
  const rated = await seedPartners(op, opts.partnerKey, opts.log, warn);
  await checkSignedCalls(client, opts.log);
  if (record) {
    opts.log(
      `demo coalition: seeded ${record.seeded_at} by ${record.seeded_by}; its risk rules and demo member are left as they are now`,
    );
    return { warnings, memberRefs: record.detail.demo_member_refs ?? {} };
  }

  const before = warnings;
  const riskRules = await seedRiskRules(op, opts.log, warn);
  const memberRefs = await seedDemoMember(client, rated, opts.log, warn);
  if (warnings === before) {
    await recordSeed(
      op,
      { partners: DEMO_PARTNERS.map((p) => p.id), risk_rules: riskRules, demo_member_refs: memberRefs },
      opts.log,
      warn,
    );
  } else opts.warn("the demo seed is not recorded as done (warnings above): the next start tries it again");
  return { warnings, memberRefs };
}

/** Partners and their keys (required), rate cards (when the endpoint exists); the partners with a rate card. */
async function seedPartners(op: Op, partnerKey: SeedOptions["partnerKey"], log: Log, warn: Log): Promise<Set<string>> {
  const rated = new Set<string>();
  for (const p of DEMO_PARTNERS) {
    const created = await op("POST", "/partners", {
      id: p.id,
      name: p.name,
      funding: p.funding,
      pending_days: p.pending_days,
      ...(p.hold_ttl_seconds === undefined ? {} : { hold_ttl_seconds: p.hold_ttl_seconds }),
    });
    if (created.status === 201) log(`partner ${p.id}: created (${p.funding.mode})`);
    else if (created.status === 409 && errorCode(created) === "partner_exists") log(`partner ${p.id}: exists`);
    else throw new Error(`creating partner ${p.id} failed: ${describe(created)}`);

    const { credentials, publicJwk } = partnerKey(p.id);
    const key = await op("POST", `/partners/${p.id}/keys`, { kid: credentials.kid, public_jwk: publicJwk });
    if (key.status === 201) log(`partner ${p.id}: key ${credentials.kid} registered`);
    else if (key.status === 409 && errorCode(key) === "key_exists") log(`partner ${p.id}: key ${credentials.kid} exists`);
    else {
      throw new Error(`registering key ${credentials.kid} of ${p.id} failed: ${describe(key)}`);
    }
    if (await seedRateCard(p, op, log, warn)) rated.add(p.id);
  }
  return rated;
}

/** Every partner's key works for a signed request, exactly as the partner would call. */
async function checkSignedCalls(client: (id: string) => PartnerClient, log: Log): Promise<void> {
  for (const p of DEMO_PARTNERS) {
    const who = await client(p.id).get<{ partner: { id: string } }>("/v1/partner");
    if (!who.ok)
      throw new Error(`a signed GET /v1/partner as ${p.id} failed: ${who.status} ${who.error.code}: ${who.error.message}`);
  }
  log(`signed GET /v1/partner answers 200 for ${DEMO_PARTNERS.map((p) => p.id).join(", ")}`);
}

/** Whether the partner has a rate card afterwards. */
async function seedRateCard(p: DemoPartner, op: Op, log: (m: string) => void, warn: (m: string) => void): Promise<boolean> {
  const list = await op("GET", `/partners/${p.id}/rate-cards`);
  if (missingRoute(list)) {
    warn(`partner ${p.id}: no rate card seeded (GET /admin/v1/partners/{id}/rate-cards answers 404 not_found: not built yet)`);
    return false;
  }
  if (!list.ok) {
    warn(`partner ${p.id}: listing rate cards failed (${describe(list)}); none seeded`);
    return false;
  }
  const existing = listItems(list.json, "rate_cards");
  if (existing === undefined) {
    warn(`partner ${p.id}: unexpected rate-card list shape; none seeded`);
    return false;
  }
  if (existing.length > 0) {
    log(`partner ${p.id}: rate card exists (${existing.length} version${existing.length === 1 ? "" : "s"})`);
    return true;
  }
  const created = await op("POST", `/partners/${p.id}/rate-cards`, p.rate_card);
  if (created.status === 201) {
    const id = created.json?.rate_card?.id;
    log(
      `partner ${p.id}: rate card ${typeof id === "string" ? `${id} ` : ""}created (issue ${p.rate_card.issue_price}, redeem ${p.rate_card.redeem_price})`,
    );
    return true;
  }
  if (missingRoute(created)) {
    warn(`partner ${p.id}: no rate card seeded (POST rate-cards answers 404 not_found: not built yet)`);
  } else warn(`partner ${p.id}: creating the rate card failed: ${describe(created)}`);
  return false;
}

/** Sets the default rules when the rule set is empty; the ids of the rules it set. */
async function seedRiskRules(op: Op, log: Log, warn: Log): Promise<string[]> {
  const current = await op("GET", "/risk-rules");
  if (missingRoute(current)) {
    warn("risk rules not seeded (GET /admin/v1/risk-rules answers 404 not_found: not built yet)");
    return [];
  }
  if (!current.ok) {
    warn(`risk rules not seeded: reading them failed (${describe(current)})`);
    return [];
  }
  const rules = listItems(current.json, "rules");
  if (rules && rules.length > 0) {
    log(`risk rules: ${rules.length} in place, left as they are`);
    return [];
  }
  const put = await op("PUT", "/risk-rules", { rules: DEMO_RISK_RULES });
  if (!put.ok) {
    warn(`risk rules not seeded: ${describe(put)}`);
    return [];
  }
  const ids = DEMO_RISK_RULES.map((r) => r.id);
  log(`risk rules: ${ids.length} default rules set (${ids.join(", ")})`);
  return ids;
}

/**
 * Whether the partner already sees this member: true, false (member_not_found, or no route to ask:
 * then the link-code PUT itself answers 200 for an existing link), or why it could not tell. Asks
 * the activity list, then the balance, whichever route exists.
 */
async function isLinked(partner: PartnerClient, memberPath: string): Promise<boolean | string> {
  let why: boolean | string = false;
  for (const target of [`${memberPath}/activity?limit=1`, `${memberPath}/balance`]) {
    const r = await partner.get(target);
    if (r.ok) return true;
    if (r.status === 404 && r.error.code === "member_not_found") return false;
    if (!(r.status === 404 && r.error.code === "not_found")) why = `${r.status} ${r.error.code}`;
  }
  return why;
}

/** Enrols the demo member at the first partner, links it to the second with a link code, and books the demo earns. */
async function seedDemoMember(
  client: (id: string) => PartnerClient,
  rated: ReadonlySet<string>,
  log: (m: string) => void,
  warn: (m: string) => void,
): Promise<Record<string, string>> {
  const refs: Record<string, string> = {};
  const [first, ...others] = DEMO_MEMBER.refs;
  if (!first) return refs;
  const path = (ref: string) => `/v1/members/${encodeURIComponent(ref)}`;

  const enrolled = await client(first.partner).put<{ member: { id: string } }>(path(first.member_ref), {
    context: DEMO_MEMBER.context,
  });
  if (!enrolled.ok) {
    if (enrolled.status === 404 && enrolled.error.code === "not_found") {
      warn("demo member not seeded (PUT /v1/members/{member_ref} answers 404 not_found: not built yet)");
    } else {
      warn(
        `demo member not seeded: enrolling ${first.member_ref} at ${first.partner} failed: ${enrolled.status} ${enrolled.error.code}`,
      );
    }
    return refs;
  }
  const memberId = enrolled.data.member.id;
  refs[first.partner] = first.member_ref;
  log(`demo member ${memberId}: ${first.partner}/${first.member_ref} ${enrolled.status === 201 ? "enrolled" : "exists"}`);

  for (const other of others) {
    // Already linked? Then this partner can see the member.
    const linked = await isLinked(client(other.partner), path(other.member_ref));
    if (linked === true) {
      refs[other.partner] = other.member_ref;
      log(`demo member ${memberId}: ${other.partner}/${other.member_ref} already linked`);
      continue;
    }
    if (typeof linked === "string") {
      warn(`demo member: checking ${other.partner}/${other.member_ref} failed (${linked}); not linked`);
      continue;
    }
    const code = await client(first.partner).post<{ link_code: string }>(`${path(first.member_ref)}/link-codes`, {});
    if (!code.ok) {
      warn(`demo member: no link code from ${first.partner} (${code.status} ${code.error.code}); ${other.partner} not linked`);
      continue;
    }
    const link = await client(other.partner).put(path(other.member_ref), {
      link_code: code.data.link_code,
      context: DEMO_MEMBER.context,
    });
    if (!link.ok) {
      warn(`demo member: linking ${other.partner}/${other.member_ref} failed: ${link.status} ${link.error.code}`);
      continue;
    }
    refs[other.partner] = other.member_ref;
    log(`demo member ${memberId}: linked to ${other.partner}/${other.member_ref} with a link code`);
  }

  for (const earn of DEMO_MEMBER.earns) {
    if (refs[earn.partner] !== earn.member_ref) continue;
    if (!rated.has(earn.partner)) {
      // An amount converts at the partner's rate card; without one the earn could only fail.
      warn(`demo earn at ${earn.partner} skipped: the partner has no rate card yet`);
      continue;
    }
    const booked = await client(earn.partner).post<{ transaction: { id: string; status: string; points: number } }>(
      "/v1/earn",
      { member_ref: earn.member_ref, amount: earn.amount, order_ref: earn.order_ref, context: DEMO_MEMBER.context },
      { idempotencyKey: earn.idempotency_key },
    );
    if (booked.ok) {
      const t = booked.data.transaction;
      log(
        `demo earn at ${earn.partner}: ${earn.amount.value} ${earn.amount.unit} → ${t.points} points, ${t.status}` +
          (booked.replayed ? " (already booked)" : ""),
      );
    } else if (booked.status === 404 && booked.error.code === "not_found") {
      warn(`demo earn at ${earn.partner} skipped (POST /v1/earn answers 404 not_found: not built yet)`);
    } else {
      warn(`demo earn at ${earn.partner} failed: ${booked.status} ${booked.error.code}: ${booked.error.message}`);
    }
  }
  return refs;
}
