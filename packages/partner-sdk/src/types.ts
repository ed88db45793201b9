/** Shapes of the partner API (partner-api.md §4, §5, §7; the exchange's /openapi.json has every field). */

export interface Amount {
  value: string;
  unit: string;
}

/** Where the member is (`context.ip` required): the risk rules' input (§6). */
export interface RequestContext {
  ip: string;
  device_id?: string;
}

export interface Member {
  id: string;
  member_ref: string;
  created_at: string;
  linked_at?: string;
}

export interface Balance {
  member_id: string;
  points: { available: number; pending: number; held: number };
  expiring: { points: number; expires_at: string }[];
  value: Amount | null;
  as_of: string;
}

export type TransactionType = "earn" | "burn" | "reversal" | "expiry" | "adjustment";
export type TransactionStatus = "posted" | "pending" | "held" | "voided" | "review" | "rejected";

export interface Transaction {
  id: string;
  type: TransactionType;
  status: TransactionStatus;
  points: number;
  member_id: string;
  partner: { id: string; name: string };
  order_ref?: string;
  amount?: Amount;
  rate?: string;
  created_at: string;
  available_at?: string;
  expires_at?: string;
  [field: string]: unknown;
}

export interface TransactionWithBalance {
  transaction: Transaction;
  balance: Balance;
}

/** An activity entry: another partner's transactions show only id, type, status, points, partner, created_at. */
export interface ActivityEntry {
  id: string;
  type: TransactionType;
  status: string;
  points: number;
  partner: { id: string; name: string };
  created_at: string;
  [field: string]: unknown;
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export interface ListOptions {
  /** Page size, 1 to 100. */
  limit?: number;
  cursor?: string;
}

export interface EnrolInput {
  link_code?: string;
  context: RequestContext;
}

/** Either `amount` or `points`. */
export type EarnInput = {
  member_ref: string;
  order_ref?: string;
  occurred_at?: string;
  context: RequestContext;
} & ({ amount: Amount; points?: never } | { points: number; amount?: never });

/** Either `points` or `amount` (the discount wanted). `capture: false` places a hold. */
export type BurnInput = {
  member_ref: string;
  capture?: boolean;
  order_ref?: string;
  context: RequestContext;
} & ({ points: number; amount?: never } | { amount: Amount; points?: never });

export interface ReversalInput {
  points?: number;
  reason?: string;
}

export interface Quote {
  quote: {
    amount: Amount;
    earn: { points: number; rate: string; multiplier: string; campaigns: string[] } | null;
    burn: { points: number; value_per_point: string } | null;
    rate_card_id: string;
  };
}

/** A member session: hand `token` to the member's browser only. */
export interface MemberSession {
  token: string;
  expires_at: string;
}

export interface LinkCode {
  link_code: string;
  expires_at: string;
}

/** Options of one write call. */
export interface WriteOptions {
  /** Your own key (e.g. from your order id) so a retry after a crash replays; a fresh one otherwise. */
  idempotencyKey?: string;
}
