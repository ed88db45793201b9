import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { Statement } from "../../packages/partner-sdk/src/index";
import type { SignedReport } from "../../src/settlement/report";
import { BASE_URL, operator, type TestPartner, workerFetch } from "../support/exchange";

/** Helpers for settlement tests: closing periods through the operator API, reading statements. */

/** Sleeps into the next whole second: periods are cut on whole seconds. */
export async function nextSecond(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 1005 - (Date.now() % 1000)));
}

/**
 * Puts "now" near local noon of the daily schedule (UTC offset in quarter hours), so no scheduled
 * boundary falls inside a test, and closes everything up to now (the first, empty, periods).
 */
export async function settleClockAtNoon(): Promise<void> {
  const minutesOfDay = Math.floor((Date.now() % 86_400_000) / 60_000);
  let offset = 12 * 60 - minutesOfDay;
  if (offset <= -720) offset += 1440;
  if (offset > 720) offset -= 1440;
  offset = Math.round(offset / 15) * 15;
  const r = await operator("PUT", "/settlement-config", { period: "daily", utc_offset_minutes: offset });
  expect(r.status, r.text).toBe(200);
  const closed = await operator("POST", "/settlements/close", { period_end: new Date(Date.now()).toISOString() });
  expect(closed.status, closed.text).toBe(200);
}

/**
 * Off-cycle close at now, after sleeping into the next second (a cut is on a whole second, so
 * everything booked before the call is before the cut); returns the last report closed.
 */
export async function closeNow(): Promise<{ report: SignedReport; text: string; all: SignedReport[] }> {
  await nextSecond();
  const r = await operator("POST", "/settlements/close", { period_end: new Date(Date.now()).toISOString() });
  expect(r.status, r.text).toBe(200);
  const all = r.body.data as SignedReport[];
  const report = all[all.length - 1];
  if (!report) throw new Error(`nothing closed: ${r.text}`);
  // The report texts as stored: between `{"data":[` and the `],"open_period":…}` that follows.
  const text = r.text.slice('{"data":['.length, r.text.lastIndexOf('],"open_period":'));
  return { report, text: all.length === 1 ? text : JSON.stringify(report), all };
}

export async function statementOf(partner: TestPartner, id: string): Promise<Statement> {
  const r = await partner.client.get<Statement>(`/v1/settlements/${id}`);
  if (!r.ok) throw new Error(`statement failed: ${r.text}`);
  return r.data;
}

export async function jwks() {
  const r = await workerFetch(new Request(`${BASE_URL}/.well-known/jwks.json`));
  expect(r.status).toBe(200);
  return (await r.json()) as { keys: Record<string, unknown>[] };
}

export function reportStatement(report: SignedReport, partnerId: string) {
  const s = report.statements.find((x) => x.partner_id === partnerId);
  if (!s) throw new Error(`no statement for ${partnerId}`);
  return s;
}

export const money = (value: string) => ({ value, unit: env.SETTLEMENT_CURRENCY });
