/**
 * Responses rendered from the values a write's batch returned and stored (src/http/responses.ts):
 * the answer and every replay of it are rendered here, from the same values, so they are the same
 * bytes. The object is built exactly as the SQL renderer (./render.ts `transactionObject`,
 * `balanceJson`) builds it for reads, member for member and in the same order (a test compares
 * them), so a write's answer and a later read of the same state agree byte for byte too.
 */

type Value = string | number | null;

/** The order of the values of `transactionWithBalanceValues` (./render.ts). */
const FIELDS = [
  "id",
  "type",
  "status",
  "points",
  "captured_points",
  "member_id",
  "partner_id",
  "partner_name",
  "order_ref",
  "amount_value",
  "amount_unit",
  "rate",
  "multiplier",
  "rate_card_id",
  "original_id",
  "original_period_id",
  "reason",
  "occurred_at",
  "created_at",
  "available_at",
  "expires_at",
  "balance_member_id",
  "available",
  "pending",
  "held",
  "expiring",
  "value",
  "value_unit",
  "as_of",
] as const;

type Fields = Record<(typeof FIELDS)[number], unknown>;

function fieldsOf(values: unknown[]): Fields {
  if (values.length !== FIELDS.length) throw new Error(`expected ${FIELDS.length} values, got ${values.length}`);
  return Object.fromEntries(FIELDS.map((name, i) => [name, values[i]])) as Fields;
}

/** Members of `entries` whose value is not null, in order (SQL: json_patch('{}', json_object(…))). */
function withoutNulls(entries: [string, unknown][]): Record<string, unknown> {
  return Object.fromEntries(entries.filter(([, v]) => v !== null && v !== undefined));
}

/** The transaction object (the owning partner's view), as ./render.ts `transactionObject`. */
function transactionOf(f: Fields): Record<string, unknown> {
  const object = withoutNulls([
    ["id", f.id],
    ["type", f.type],
    ["status", f.status],
    ["points", f.points],
    ["captured_points", f.captured_points],
    ["member_id", f.member_id],
    ["partner", { id: f.partner_id, name: f.partner_name }],
    ["order_ref", f.order_ref],
    ["amount", f.amount_value === null ? null : { value: f.amount_value, unit: f.amount_unit }],
    ["rate", f.rate],
    ["multiplier", f.multiplier],
    ["rate_card_id", f.rate_card_id],
    ["original_transaction_id", f.original_id],
    ["original_settlement_id", f.original_period_id],
    ["reason", f.reason],
    ["occurred_at", f.occurred_at],
    ["created_at", f.created_at],
    ["available_at", f.available_at],
    ["expires_at", f.expires_at],
  ]);
  // order_ref and rate are always present (§5): set where they are, appended when they were null.
  object.order_ref = f.order_ref as Value;
  object.rate = f.rate as Value;
  return object;
}

/** Format 1: `{ "transaction": …, "balance": … }`. */
export function renderTransactionWithBalance(values: unknown[]): string {
  const f = fieldsOf(values);
  return JSON.stringify({
    transaction: transactionOf(f),
    balance: {
      member_id: f.balance_member_id,
      points: { available: f.available, pending: f.pending, held: f.held },
      expiring: f.expiring,
      value: f.value === null ? null : { value: f.value, unit: f.value_unit },
      as_of: f.as_of,
    },
  });
}
