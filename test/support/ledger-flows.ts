import { expect } from "vitest";
import type { TestPartner } from "./exchange";
import { operator } from "./exchange";
import { CONTEXT, sql, type TxnResult } from "./ledger";

/** More ledger flows through the partner and operator APIs, and D1 readers, for ledger tests. */

export type Balance = TxnResult["balance"] & {
  expiring: { points: number; expires_at: string }[];
};

export async function getTransaction(partner: TestPartner, id: string) {
  return partner.client.get<{ transaction: TxnResult["transaction"] & Record<string, unknown> }>(`/v1/transactions/${id}`);
}

export async function capture(partner: TestPartner, holdId: string, points?: number, idempotencyKey?: string) {
  return partner.client.post<TxnResult>(`/v1/burns/${holdId}/capture`, points === undefined ? {} : { points }, {
    ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
  });
}

export async function voidHold(partner: TestPartner, holdId: string, idempotencyKey?: string) {
  return partner.client.post<TxnResult>(
    `/v1/burns/${holdId}/void`,
    {},
    {
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    },
  );
}

export async function reverse(partner: TestPartner, txnId: string, points?: number) {
  return partner.client.post<TxnResult>(`/v1/transactions/${txnId}/reversals`, points === undefined ? {} : { points });
}

export async function hold(partner: TestPartner, ref: string, points: number, extra: Record<string, unknown> = {}) {
  return partner.client.post<TxnResult>("/v1/burns", { member_ref: ref, points, capture: false, context: CONTEXT, ...extra });
}

/** Asserts an error answer: status, and `code` in the contract's error shape. */
export function expectError(
  r: { ok: boolean; status: number; text: string; error?: { type: string; code: string } },
  status: number,
  code: string,
  type = "invalid_request",
): void {
  expect({ status: r.status, ok: r.ok, text: r.text }).toMatchObject({ status, ok: false });
  expect(r.error).toMatchObject({ type, code });
}

/** The partner as the operator sees it (funding position). */
export async function partnerFunding(partnerId: string): Promise<Record<string, { value: string; unit: string } | string>> {
  const r = await operator("GET", `/partners/${partnerId}`);
  if (r.status !== 200) throw new Error(`partner read failed: ${r.text}`);
  return r.body.partner.funding;
}

export async function memberRow(memberId: string): Promise<{ debt_points: number }> {
  const [row] = await sql<{ debt_points: number }>("SELECT debt_points FROM members WHERE id = ?", memberId);
  if (!row) throw new Error(`no member ${memberId}`);
  return row;
}

export async function txnRow(id: string) {
  const [row] = await sql<{
    status: string;
    points: number;
    captured_points: number | null;
    expires_at: number | null;
    booked_at: number;
  }>("SELECT status, points, captured_points, expires_at, booked_at FROM transactions WHERE id = ?", id);
  if (!row) throw new Error(`no transaction ${id}`);
  return row;
}

export async function lotOf(txnId: string) {
  const [row] = await sql<{
    id: number;
    points: number;
    remaining: number;
    expired: number;
    expires_at: number;
    available_at: number;
  }>("SELECT id, points, remaining, expired, expires_at, available_at FROM lots WHERE txn_id = ?", txnId);
  if (!row) throw new Error(`no lot for ${txnId}`);
  return row;
}

export async function countTransactions(memberId: string): Promise<number> {
  const [row] = await sql<{ n: number }>("SELECT COUNT(*) AS n FROM transactions WHERE member_id = ?", memberId);
  return row?.n ?? 0;
}

/** RFC 3339 as the API renders times (whole seconds, Z). */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export const DAY_MS = 86_400_000;
