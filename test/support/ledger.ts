import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { createPartner, operator, type TestPartner } from "./exchange";

/** A partner with a rate card, and members enrolled through the API, for ledger tests. */

export const DEFAULT_CARD = {
  earn: [{ unit: "CNY", points_per_unit: "1" }],
  burn: [{ unit: "CNY", value_per_point: "0.01" }],
  issue_price: "0.010",
  redeem_price: "0.008",
  campaigns: [],
};

export async function partnerWithCard(
  opts: Parameters<typeof createPartner>[0] & { card?: Partial<typeof DEFAULT_CARD> & Record<string, unknown> } = {},
): Promise<TestPartner> {
  const partner = await createPartner(opts);
  const card = await operator("POST", `/partners/${partner.id}/rate-cards`, { ...DEFAULT_CARD, ...opts.card });
  if (card.status !== 201) throw new Error(`rate card failed: ${card.text}`);
  return partner;
}

let refCounter = 0;
export function newRef(prefix = "c"): string {
  return `${prefix}-${Date.now().toString(36)}-${refCounter++}`;
}

export const CONTEXT = { ip: "203.0.113.7", device_id: "d-test" };

export async function enrol(partner: TestPartner, ref = newRef()): Promise<{ ref: string; memberId: string }> {
  const r = await partner.client.put<{ member: { id: string } }>(`/v1/members/${ref}`, { context: CONTEXT });
  if (!r.ok) throw new Error(`enrol failed: ${r.text}`);
  return { ref, memberId: r.data.member.id };
}

/** Links an existing member (known to `from`) to `to` under `toRef`, with a link code. */
export async function link(from: TestPartner, fromRef: string, to: TestPartner, toRef = newRef()): Promise<string> {
  const code = await from.client.post<{ link_code: string }>(`/v1/members/${fromRef}/link-codes`, {});
  if (!code.ok) throw new Error(`link code failed: ${code.text}`);
  const r = await to.client.put(`/v1/members/${toRef}`, { link_code: code.data.link_code, context: CONTEXT });
  if (!r.ok) throw new Error(`link failed: ${r.text}`);
  return toRef;
}

export interface TxnResult {
  transaction: { id: string; status: string; points: number; type: string; [k: string]: unknown };
  balance: { points: { available: number; pending: number; held: number }; [k: string]: unknown };
}

export async function earn(partner: TestPartner, ref: string, points: number, extra: Record<string, unknown> = {}) {
  return partner.client.post<TxnResult>("/v1/earn", { member_ref: ref, points, context: CONTEXT, ...extra });
}

export async function burn(partner: TestPartner, ref: string, points: number, extra: Record<string, unknown> = {}) {
  return partner.client.post<TxnResult>("/v1/burns", { member_ref: ref, points, context: CONTEXT, ...extra });
}

export async function balance(partner: TestPartner, ref: string) {
  const r = await partner.client.get<{ points: { available: number; pending: number; held: number }; [k: string]: unknown }>(
    `/v1/members/${ref}/balance`,
  );
  if (!r.ok) throw new Error(`balance failed: ${r.text}`);
  return r.data;
}

export function expectOk<T>(r: { ok: boolean; status: number; text: string; data?: T }, status?: number): T {
  if (!r.ok) throw new Error(`expected success, got ${r.status}: ${r.text}`);
  if (status !== undefined) expect(r.status).toBe(status);
  return r.data as T;
}

export async function sql<T = Record<string, unknown>>(query: string, ...binds: unknown[]): Promise<T[]> {
  return (
    await env.DB.prepare(query)
      .bind(...binds)
      .all<T>()
  ).results;
}

/** An account's balance: what its transfers brought in, less what they took out (src/ledger/transfers.ts). */
export async function accountBalance(account: string): Promise<number> {
  const [row] = await sql<{ points: number }>(
    `SELECT COALESCE((SELECT SUM(points) FROM transfers WHERE to_account = ?1), 0)
          - COALESCE((SELECT SUM(points) FROM transfers WHERE from_account = ?1), 0) AS points`,
    account,
  );
  return row?.points ?? 0;
}
