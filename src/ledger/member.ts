import { type Sql, sql } from "../db/sql-template";

/**
 * The member a write is about, as SQL: a partner names members by its own member_ref, and the
 * batch resolves the ref itself (an indexed lookup of the immutable link), so no read before the
 * batch is needed. A member id already known (an operator adjustment, a job) is just a bind.
 */
export function memberOfRef(partnerId: string, memberRef: string): Sql {
  return sql`(SELECT member_id FROM member_links WHERE partner_id = ${partnerId} AND member_ref = ${memberRef})`;
}

export function memberById(memberId: string): Sql {
  return sql`${memberId}`;
}

/** The member of a transaction (capture, void and reversal act on another transaction's member). */
export function memberOfTransaction(txnId: string): Sql {
  return sql`(SELECT member_id FROM transactions WHERE id = ${txnId})`;
}

/** SQL: milliseconds since the member was created, at `now`. */
export function memberAgeMs(member: Sql, now: number): Sql {
  return sql`(${now} - (SELECT created_at FROM members WHERE id = ${member}))`;
}
