import { expect } from "vitest";
import { operator, type TestPartner } from "../support/exchange";
import { newRef, sql, type TxnResult } from "../support/ledger";

/** Helpers of the risk tests: rules through the operator API, requests with a given context. */

export type Ctx = { ip: string; device_id?: string };

let unique = 0;
/** A fresh IPv4 address (10.0.0.0/8) or device id, so tests never share a subject. */
export function freshIp(): string {
  unique++;
  return `10.${(unique >> 16) & 255}.${(unique >> 8) & 255}.${unique & 255}`;
}
export function freshDevice(): string {
  return `dev-${Date.now().toString(36)}-${unique++}`;
}

export async function setRules(rules: unknown[]): Promise<void> {
  const r = await operator("PUT", "/risk-rules", { rules });
  if (r.status !== 200) throw new Error(`PUT /risk-rules failed: ${r.text}`);
}

export async function enrolAt(p: TestPartner, ctx: Ctx, ref = newRef()) {
  return p.client.put<{ member: { id: string } }>(`/v1/members/${ref}`, { context: ctx });
}

export async function enrolled(p: TestPartner, ctx: Ctx = { ip: freshIp() }): Promise<{ ref: string; memberId: string }> {
  const ref = newRef();
  const r = await enrolAt(p, ctx, ref);
  if (!r.ok) throw new Error(`enrol failed: ${r.text}`);
  return { ref, memberId: r.data.member.id };
}

/** A member created `seconds` ago (for member_age_below_seconds). */
export async function age(memberId: string, seconds: number): Promise<void> {
  await sql("UPDATE members SET created_at = ?1 WHERE id = ?2", Date.now() - seconds * 1000, memberId);
}

export function earnAt(p: TestPartner, ref: string, points: number, ctx: Ctx, key?: string) {
  return p.client.post<TxnResult>("/v1/earn", { member_ref: ref, points, context: ctx }, key ? { idempotencyKey: key } : {});
}

export function burnAt(p: TestPartner, ref: string, points: number, ctx: Ctx, extra: Record<string, unknown> = {}) {
  return p.client.post<TxnResult>("/v1/burns", { member_ref: ref, points, context: ctx, ...extra });
}

/** Asserts a 422 risk_declined naming `ruleId`. */
export function expectDeclined(r: { status: number; ok: boolean; text: string }, ruleId: string): void {
  expect({ status: r.status, body: JSON.parse(r.text).error?.type, code: JSON.parse(r.text).error?.code }, r.text).toEqual({
    status: 422,
    body: "risk_declined",
    code: ruleId,
  });
}

export function statusOf(r: { ok: boolean; status: number; text: string }): string {
  if (r.ok) return (JSON.parse(r.text) as TxnResult).transaction.status;
  const e = JSON.parse(r.text).error;
  return `${r.status} ${e?.code}`;
}
