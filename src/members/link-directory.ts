import { guard } from "../db/guard";
import { first, runBatch, type Sql, sql } from "../db/sql-template";

/**
 * The link directory (migration 0015, docs/design/shards.md "How a request finds its shard"): a
 * partner's ref linked with a link code to a member on another shard is written in two places:
 * the link itself with the member (member_links, on the member's shard, where every ledger
 * rule needs it), and a directory row on the shard of the ref's own bucket, where a request by
 * that ref is first placed (src/shards/placement.ts): it names the member, and so its shard.
 *
 * The directory row is written first: it is the claim on the ref (a ref enrolled or claimed for
 * another member there is a conflict), and the link follows on the member's shard. A link that
 * then fails (the code was used or expired meanwhile) takes its claim back. A crash between
 * the two leaves a claim without a link: requests by the ref answer member_not_found, an
 * enrolment without a code member_ref_conflict, and the same code (or a new one for the same
 * member) completes the link.
 */

/** The member a usable link code names (a read on the member's shard, before the directory claim). */
export async function memberOfUsableCode(db: D1Database, code: string, now: number): Promise<string | undefined> {
  const row = await first<{ member_id: string }>(
    db,
    sql`SELECT member_id FROM link_codes WHERE code = ${code} AND used_at IS NULL AND expires_at > ${now}`,
  );
  return row?.member_id;
}

/** The claim on the ref's shard: refused when the ref is a member there, or claimed for another member. */
export function claimRefStatements(partnerId: string, memberRef: string, memberId: string, now: number): Sql[] {
  return [
    guard(
      "member_ref_conflict",
      sql`EXISTS (SELECT 1 FROM member_links WHERE partner_id = ${partnerId} AND member_ref = ${memberRef})
       OR EXISTS (SELECT 1 FROM link_directory WHERE partner_id = ${partnerId} AND member_ref = ${memberRef} AND member_id <> ${memberId})`,
    ),
    sql`INSERT INTO link_directory (partner_id, member_ref, member_id, created_at)
      VALUES (${partnerId}, ${memberRef}, ${memberId}, ${now}) ON CONFLICT (partner_id, member_ref) DO NOTHING`,
  ];
}

/** Takes a claim back after its link failed (only this member's claim, and only while no link exists for it). */
export async function releaseRefClaim(db: D1Database, partnerId: string, memberRef: string, memberId: string): Promise<void> {
  await runBatch(db, [
    sql`DELETE FROM link_directory WHERE partner_id = ${partnerId} AND member_ref = ${memberRef} AND member_id = ${memberId}`,
  ]);
}

/**
 * A guard for an enrolment with a code, decided on the member's shard: the ref must not be
 * claimed in this shard's directory for another member than the code's.
 */
export function directoryConflictGuard(partnerId: string, memberRef: string, code: string): Sql {
  return guard(
    "member_ref_conflict",
    sql`EXISTS (SELECT 1 FROM link_directory WHERE partner_id = ${partnerId} AND member_ref = ${memberRef}
          AND member_id IS NOT (SELECT member_id FROM link_codes WHERE code = ${code}))`,
  );
}

/**
 * A guard for an enrolment without a code placed on a shard by the directory (its ref is claimed
 * for a member there): it may return the existing link, never create a member on this shard.
 */
export function claimedRefGuard(partnerId: string, memberRef: string): Sql {
  return guard(
    "member_ref_conflict",
    sql`NOT EXISTS (SELECT 1 FROM member_links WHERE partner_id = ${partnerId} AND member_ref = ${memberRef})`,
  );
}
