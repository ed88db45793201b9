/**
 * The coalition's expiry policy (economics.md "Ledger"): a lot expires at the end of the UTC month
 * `expiryMonths` after the month it was booked in, shown as that month's last second.
 */
export function lotExpiry(bookedAt: number, expiryMonths: number): number {
  const d = new Date(bookedAt);
  const firstOfFollowingMonth = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + expiryMonths + 1, 1);
  return firstOfFollowingMonth - 1000;
}

export interface CoalitionSettings {
  expiryMonths: number;
  reportingWindowDays: number;
  reviewTimeoutSeconds: number;
}

export async function coalitionSettings(db: D1Database): Promise<CoalitionSettings> {
  const row = await db
    .prepare("SELECT expiry_months, reporting_window_days, review_timeout_seconds FROM coalition_settings WHERE id = 1")
    .first<{ expiry_months: number; reporting_window_days: number; review_timeout_seconds: number }>();
  return {
    expiryMonths: row?.expiry_months ?? 24,
    reportingWindowDays: row?.reporting_window_days ?? 30,
    reviewTimeoutSeconds: row?.review_timeout_seconds ?? 604_800,
  };
}
