import { renderTransactionWithBalance } from "../ledger/render-values";

/**
 * Stored responses at half the bytes: a write's batch stores the values its response is rendered
 * from, with the number of their format, and the answer and every replay are rendered from them
 * by the format's renderer (the same bytes, by construction). A response without a format (an
 * error, a rarer write) is stored as the text itself (format null). Formats are never changed in
 * place: a new layout is a new number, and a renderer stays as long as records of it may be
 * replayed (30 days). Pure: the bank test uses it to compare what was stored with what was seen.
 */
export const RESPONSE_FORMATS: Readonly<Record<number, (values: unknown[]) => string>> = {
  1: renderTransactionWithBalance,
};

export const TRANSACTION_WITH_BALANCE = 1;

/** A stored record's response text. */
export function responseText(row: { response_body: string; format?: number | null }): string {
  if (row.format === null || row.format === undefined) return row.response_body;
  const render = RESPONSE_FORMATS[row.format];
  if (!render) throw new Error(`no renderer for response format ${row.format}`);
  return render(JSON.parse(row.response_body) as unknown[]);
}
