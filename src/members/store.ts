/**
 * Members and their links to partners (partner-api.md §4). A member (`mbr_…`) has one account
 * shared by every partner; each partner knows it by its own `member_ref` (table `member_links`).
 * A partner sees only members linked to it.
 */

import { firstGuard } from "../db/guard";
import { first, runBatch, type Sql, sql } from "../db/sql-template";
import { transactionObject, transactionSummary } from "../ledger/render";

/** A member_ref as the contract allows it: 1 to 128 of [A-Za-z0-9._:-], not starting with `mbr_`. */
export const MEMBER_REF_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

export function isValidMemberRef(ref: string): boolean {
  return MEMBER_REF_PATTERN.test(ref) && !ref.startsWith("mbr_");
}

/** A link code lives this long (§4: valid 10 minutes). */
export const LINK_CODE_TTL_MS = 10 * 60 * 1000;
/** 32 symbols without 0/O and 1/I, so a code read aloud or typed is unambiguous (5 bits each). */
const LINK_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const LINK_CODE_LENGTH = 12;

/**
 * A fresh single-use link code for a member of `bucket`: 12 symbols; the first three carry the
 * bucket (4 bits each, under a random fifth bit), so the enrolment that redeems it finds the
 * member's shard without a lookup (src/shards/placement.ts). 48 random bits from the crypto RNG:
 * a code is good for 10 minutes and used once.
 */
export function newLinkCode(bucket: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(LINK_CODE_LENGTH));
  const nibbles = [(bucket >> 8) & 15, (bucket >> 4) & 15, bucket & 15];
  let out = "";
  for (const [i, b] of bytes.entries()) {
    const nibble = nibbles[i];
    out += LINK_CODE_ALPHABET[nibble === undefined ? b & 31 : (b & 16) | nibble];
  }
  return out;
}

/** The member bucket a (normalized) link code names, or undefined when it is not a code's shape. */
export function bucketOfLinkCode(code: string): number | undefined {
  if (code.length !== LINK_CODE_LENGTH) return undefined;
  let bucket = 0;
  for (const symbol of code.slice(0, 3)) {
    const index = LINK_CODE_ALPHABET.indexOf(symbol);
    if (index < 0) return undefined;
    bucket = (bucket << 4) | (index & 15);
  }
  return bucket;
}

/** What a member typed, as stored: case and separators (spaces, hyphens) do not matter. */
export function normalizeLinkCode(code: string): string {
  return code.replace(/[\s-]/g, "").toUpperCase();
}

export interface ResolvedMember {
  memberId: string;
  /** When the member was created (ms), at whichever partner enrolled it. */
  createdAt: number;
}

/** The member this partner knows as `memberRef`, or undefined (a read of its own, for the operator and tests). */
export async function resolveMember(db: D1Database, partnerId: string, memberRef: string): Promise<ResolvedMember | undefined> {
  const row = await first<{ id: string; created_at: number }>(
    db,
    sql`SELECT m.id, m.created_at FROM member_links l JOIN members m ON m.id = l.member_id
         WHERE l.partner_id = ${partnerId} AND l.member_ref = ${memberRef}`,
  );
  return row ? { memberId: row.id, createdAt: row.created_at } : undefined;
}

// ---- Enrolment (PUT /v1/members/{member_ref}) ----

/** Where the member enrolled (§4 `context`), for the risk rules on bulk sign-ups. Not stored here. */
export interface EnrolmentContext {
  ip: string;
  deviceId?: string;
}

interface EnrolmentBase {
  partnerId: string;
  memberRef: string;
  context: EnrolmentContext;
  now: number;
}

/**
 * Without a link code, a new member: its id is minted beforehand by newMemberId (src/shards/
 * buckets.ts; async, it hashes), so it names the bucket of (partner, member_ref) and the risk
 * rules on enrolment count it. With one (normalized, normalizeLinkCode): a link to the code's member.
 */
export type EnrolmentRequest = EnrolmentBase &
  ({ linkCode?: undefined; newMemberId: string } | { linkCode: string; newMemberId?: undefined });

export interface EnrolledMember {
  memberId: string;
  memberRef: string;
  /** When the member was created (ms). */
  createdAt: number;
  /** When this partner's link was created (ms). */
  linkedAt: number;
  /** True when this call created the member or the link (201), false when it existed (200). */
  created: boolean;
}

export interface EnrolmentBatch {
  /** The statements of the one atomic batch, in order. Guards abort it with link_code_invalid / member_ref_conflict. */
  statements: Sql[];
  /** Reads the outcome from the batch's results; `statements` must be the last statements of the batch. */
  outcome(results: D1Result[]): EnrolledMember;
}

/**
 * THE enrolment write: builds the one batch that creates the member and/or the link for
 * (partner, member_ref). Race-safe by construction: the batch runs atomically, and
 *  - without a link code, the member row is inserted only when no link exists yet, and the link
 *    only for that new member, so two simultaneous PUTs for one new ref create one member;
 *  - with a link code, guards check in the same batch that the code is unknown/used/expired
 *    (`link_code_invalid`) or conflicts with an existing link (`member_ref_conflict`), then the
 *    code is used up and the link inserted. A ref already linked to the code's member is
 *    returned as it is (200) and the code is not consumed.
 * Statements of other checks (risk rules on enrolment) may be put before these, in the same
 * batch; `context` is passed through for them and stored nowhere here.
 */
export function enrolmentBatch(req: EnrolmentRequest): EnrolmentBatch {
  const { partnerId, memberRef, linkCode, now } = req;
  const read = sql`SELECT l.member_id, l.created_at AS linked_at, m.created_at FROM member_links l JOIN members m ON m.id = l.member_id
    WHERE l.partner_id = ${partnerId} AND l.member_ref = ${memberRef}`;
  const linkExists = sql`EXISTS (SELECT 1 FROM member_links WHERE partner_id = ${partnerId} AND member_ref = ${memberRef})`;

  const outcomeOf =
    (createdIndex: number, statements: Sql[]) =>
    (results: D1Result[]): EnrolledMember => {
      // Statements of other checks may run before these in the same batch: ours are the tail.
      const offset = results.length - statements.length;
      const row = results[results.length - 1]?.results?.[0] as
        | { member_id: string; linked_at: number; created_at: number }
        | undefined;
      if (!row) throw new Error("enrolment batch left no link");
      return {
        memberId: row.member_id,
        memberRef,
        createdAt: row.created_at,
        linkedAt: row.linked_at,
        created: results[offset + createdIndex]?.meta.changes === 1,
      };
    };

  if (req.linkCode === undefined) {
    const memberId = req.newMemberId;
    const statements = [
      sql`INSERT INTO members (id, created_at, created_by) SELECT ${memberId}, ${now}, ${partnerId} WHERE NOT ${linkExists}`,
      sql`INSERT INTO member_links (partner_id, member_ref, member_id, created_at)
        SELECT ${partnerId}, ${memberRef}, ${memberId}, ${now} WHERE EXISTS (SELECT 1 FROM members WHERE id = ${memberId})
        ON CONFLICT DO NOTHING`,
      read,
    ];
    return { statements, outcome: outcomeOf(0, statements) };
  }

  const statements = [
    firstGuard([
      // Unknown, used or expired; a used/expired code is fine only for a ref already linked to its member (a retry).
      [
        "link_code_invalid",
        sql`NOT EXISTS (SELECT 1 FROM link_codes c WHERE c.code = ${linkCode} AND (
              (c.used_at IS NULL AND c.expires_at > ${now})
              OR EXISTS (SELECT 1 FROM member_links l WHERE l.partner_id = ${partnerId} AND l.member_ref = ${memberRef}
                           AND l.member_id = c.member_id)))`,
      ],
      // The ref is linked to another member, or the code's member is linked to this partner under another ref.
      [
        "member_ref_conflict",
        sql`EXISTS (SELECT 1 FROM link_codes c JOIN member_links l ON l.partner_id = ${partnerId}
              WHERE c.code = ${linkCode} AND ((l.member_ref = ${memberRef} AND l.member_id <> c.member_id)
                                            OR (l.member_id = c.member_id AND l.member_ref <> ${memberRef})))`,
      ],
    ]),
    // Use the code up, unless the link already exists (then nothing changes).
    sql`UPDATE link_codes SET used_at = ${now}, used_by = ${partnerId}
      WHERE code = ${linkCode} AND used_at IS NULL AND NOT ${linkExists}`,
    sql`INSERT INTO member_links (partner_id, member_ref, member_id, created_at)
      SELECT ${partnerId}, ${memberRef}, member_id, ${now} FROM link_codes WHERE code = ${linkCode}
      ON CONFLICT DO NOTHING`,
    read,
  ];
  return { statements, outcome: outcomeOf(2, statements) };
}

/** Runs the enrolment batch alone (no risk rules). Guard failures surface as D1 errors (map them with guardViolated). */
export async function enrolMember(db: D1Database, req: EnrolmentRequest): Promise<EnrolledMember> {
  const batch = enrolmentBatch(req);
  return batch.outcome(await runBatch(db, batch.statements));
}

// ---- Link codes ----

/** The statement that issues a link code for `member`; inserts nothing when there is none. */
export function issueLinkCodeStatement(args: { partnerId: string; member: Sql; code: string; expiresAt: number }): Sql {
  return sql`INSERT INTO link_codes (code, member_id, issued_by, expires_at)
    SELECT ${args.code}, ${args.member}, ${args.partnerId}, ${args.expiresAt} WHERE ${args.member} IS NOT NULL`;
}

// ---- Activity ----

export interface ActivityRow {
  booked_at: number;
  id: string;
  /** The entry as JSON text, rendered by the ledger's SQL renderer (src/ledger/render.ts). */
  entry: string;
}

/**
 * The member's transactions at every partner, newest first (by booking time, then id), keyset:
 * the caller's own in full, another partner's as the summary §4 allows.
 */
export function memberActivityQuery(
  member: Sql,
  opts: { limit: number; before?: { bookedAt: number; id: string }; callerId: string | Sql; now: number },
): Sql {
  const before = opts.before
    ? sql`AND (t.booked_at < ${opts.before.bookedAt} OR (t.booked_at = ${opts.before.bookedAt} AND t.id < ${opts.before.id}))`
    : sql``;
  return sql`SELECT t.booked_at, t.id,
      CASE WHEN t.partner_id = ${opts.callerId} THEN ${transactionObject("t", opts.now)} ELSE ${transactionSummary("t", opts.now)} END AS entry
      FROM transactions t
     WHERE t.member_id = ${member} ${before}
     ORDER BY t.booked_at DESC, t.id DESC LIMIT ${opts.limit}`;
}
