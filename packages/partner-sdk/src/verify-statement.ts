import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from "jose";
import { canonicalize } from "./canonical.js";
import type { PartnerClient } from "./client.js";
import { add, type Decimal, formatDecimal, minorUnits, mul, neg, parseDecimal, roundHalfEven, sub, ZERO } from "./decimal.js";
import { PartnerApiError } from "./errors.js";

/**
 * A partner's check of its settlement statement (partner-api.md §7), with nothing but the
 * statement, its lines and the operator's public keys:
 * 1. the JWS `signature` verifies against the JWKS (plain jose) and its payload is
 *    `{ settlement_id, partner_id, digest }` of this statement;
 * 2. `digest` is the SHA-256 of the RFC 8785 canonical JSON of the statement without `digest`
 *    and `signature`;
 * 3. the lines reproduce every figure: points, exact payable/receivable/net and each matrix
 *    amount, and each rounds once (half-even, the currency's minor unit) to what is shown, with
 *    the residual shown;
 * 4. the receivable's parts as the close applied them (`set_off`, `top_up`, `payout`; statements
 *    closed before 2026-12-01 have none) add up exactly to the exact receivable, all on its side
 *    of zero.
 */

type Amount = { value: string; unit: string };

export interface Statement {
  id: string;
  settlement_id: string;
  partner_id: string;
  period: { start: string; end: string };
  points: Record<string, number>;
  payable: Amount;
  receivable: Amount;
  net: Amount;
  exact: Record<"payable" | "receivable" | "net", string>;
  rounding: Record<"payable" | "receivable" | "net", string>;
  matrix: { issuer: string; redeemer: string; points: number; amount: Amount; exact: string; rounding: string }[];
  set_off?: Amount;
  top_up?: Amount;
  payout?: Amount;
  digest: string;
  signature: string;
  [k: string]: unknown;
}

export interface StatementLine {
  id: string;
  transaction_id: string;
  kind: string;
  issuer: string;
  redeemer: string | null;
  points: number;
  price: string;
  amount: Amount;
  payable: string;
  receivable: string;
  [k: string]: unknown;
}

export interface VerifyResult {
  ok: boolean;
  /** What differs; empty when ok. */
  problems: string[];
  lines: number;
}

async function sha256Hex(text: string): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A compact JWS checked with plain jose against the published keys; its payload must be `expected`. */
export async function signatureProblems(
  signature: string,
  expected: Record<string, unknown>,
  jwks: JSONWebKeySet,
): Promise<string[]> {
  const problems: string[] = [];
  try {
    const { payload, protectedHeader } = await compactVerify(signature, createLocalJWKSet(jwks), {
      algorithms: ["EdDSA", "ES256"],
    });
    if (!protectedHeader.kid) problems.push("signature header has no kid");
    const claims = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
    if (canonicalize(claims) !== canonicalize(expected)) {
      problems.push(`signature payload ${JSON.stringify(claims)} does not match ${JSON.stringify(expected)}`);
    }
  } catch (e) {
    problems.push(`signature does not verify: ${e instanceof Error ? e.message : String(e)}`);
  }
  return problems;
}

/** `digest` must be the SHA-256 of the RFC 8785 canonical JSON without `digest` and `signature`. */
export async function digestProblems(signed: { digest: string; signature: string }, name: string): Promise<string[]> {
  const { digest: _d, signature: _s, ...digested } = signed;
  const digest = await sha256Hex(canonicalize(digested));
  return digest === signed.digest ? [] : [`digest: recomputed ${digest}, ${name} says ${signed.digest}`];
}

const dec = parseDecimal;
const sameValue = (a: Decimal, b: string) => {
  try {
    return sub(a, dec(b)).units === 0n;
  } catch {
    return false;
  }
};

/** Checks a statement and its lines against the JWKS; every difference is reported. */
export async function verifyStatementData(
  statement: Statement,
  lines: StatementLine[],
  jwks: JSONWebKeySet,
): Promise<VerifyResult> {
  const problems: string[] = [];
  const partner = statement.partner_id;

  // 1. Signature (plain jose against the published keys) and its payload.
  const expected = { settlement_id: statement.settlement_id, partner_id: partner, digest: statement.digest };
  problems.push(...(await signatureProblems(statement.signature, expected, jwks)));
  // 2. Digest of the canonical JSON without digest and signature.
  problems.push(...(await digestProblems(statement, "statement")));

  // 3. Totals from the lines.
  const unit = statement.payable.unit;
  const scale = minorUnits(unit);
  let payable: Decimal = ZERO;
  let receivable: Decimal = ZERO;
  const points = { issued: 0, issue_reversed: 0, taken_back: 0, debt_repaid: 0, redeemed: 0, redeem_reversed: 0 };
  const pairs = new Map<string, { issuer: string; redeemer: string; points: number; amount: Decimal }>();
  for (const line of lines) {
    const amount = mul(dec(String(line.points)), dec(line.price));
    if (!sameValue(amount, line.amount.value))
      problems.push(`line ${line.id}: ${line.points} × ${line.price} is not ${line.amount.value}`);
    const asIssuer = line.issuer === partner;
    const asRedeemer = line.redeemer === partner;
    let linePayable: Decimal = ZERO;
    let lineReceivable: Decimal = ZERO;
    switch (line.kind) {
      case "issue":
        if (asIssuer) {
          points.issued += line.points;
          linePayable = amount;
        }
        break;
      case "reverse_issue":
        if (asIssuer) points.issue_reversed += line.points;
        break;
      case "take_back":
      case "unexpire":
      case "repaid_returned":
        if (asIssuer) {
          points.taken_back += line.points;
          linePayable = neg(amount);
        }
        break;
      case "debt_repaid":
        if (asIssuer) {
          points.debt_repaid += line.points;
          linePayable = neg(amount);
        }
        break;
      case "redeem":
      case "restore": {
        const sign = line.kind === "redeem" ? 1 : -1;
        if (asRedeemer) {
          if (sign > 0) points.redeemed += line.points;
          else points.redeem_reversed += line.points;
          lineReceivable = sign > 0 ? amount : neg(amount);
        }
        const key = `${line.issuer}\u0000${line.redeemer}`;
        const pair = pairs.get(key) ?? { issuer: line.issuer, redeemer: line.redeemer ?? "", points: 0, amount: ZERO };
        pair.points += sign * line.points;
        pair.amount = add(pair.amount, sign > 0 ? amount : neg(amount));
        pairs.set(key, pair);
        break;
      }
      default:
        problems.push(`line ${line.id}: unknown kind ${line.kind}`);
    }
    if (!sameValue(linePayable, line.payable)) problems.push(`line ${line.id}: payable should be ${formatDecimal(linePayable)}`);
    if (!sameValue(lineReceivable, line.receivable))
      problems.push(`line ${line.id}: receivable should be ${formatDecimal(lineReceivable)}`);
    payable = add(payable, linePayable);
    receivable = add(receivable, lineReceivable);
  }
  for (const [k, v] of Object.entries(points)) {
    if (statement.points[k] !== v) problems.push(`points.${k}: lines give ${v}, statement says ${statement.points[k]}`);
  }
  const checkFigure = (name: string, exact: Decimal, shown: Amount, shownExact: string, shownRounding: string) => {
    const rounded = roundHalfEven(exact, scale);
    if (!sameValue(exact, shownExact))
      problems.push(`${name}: lines give exactly ${formatDecimal(exact, scale)}, statement says ${shownExact}`);
    if (shown.unit !== unit || !sameValue(rounded, shown.value)) {
      problems.push(`${name}: rounds to ${formatDecimal(rounded, scale)} ${unit}, statement says ${shown.value} ${shown.unit}`);
    }
    if (!sameValue(sub(exact, rounded), shownRounding)) {
      problems.push(
        `${name}: rounding residual is ${formatDecimal(sub(exact, rounded), scale)}, statement says ${shownRounding}`,
      );
    }
  };
  checkFigure("payable", payable, statement.payable, statement.exact.payable, statement.rounding.payable);
  checkFigure("receivable", receivable, statement.receivable, statement.exact.receivable, statement.rounding.receivable);
  checkFigure("net", sub(receivable, payable), statement.net, statement.exact.net, statement.rounding.net);

  const shownPairs = new Map(statement.matrix.map((m) => [`${m.issuer}\u0000${m.redeemer}`, m]));
  for (const [key, pair] of pairs) {
    const shown = shownPairs.get(key);
    const name = `matrix ${pair.issuer} → ${pair.redeemer}`;
    if (!shown) {
      problems.push(`${name}: in the lines, not in the statement`);
      continue;
    }
    if (shown.points !== pair.points) problems.push(`${name}: lines give ${pair.points} points, statement says ${shown.points}`);
    checkFigure(name, pair.amount, shown.amount, shown.exact, shown.rounding);
  }
  for (const [key, m] of shownPairs) {
    if (!pairs.has(key)) problems.push(`matrix ${m.issuer} → ${m.redeemer}: in the statement, no line for it`);
  }
  problems.push(...receivableSplitProblems(statement, receivable));
  return { ok: problems.length === 0, problems, lines: lines.length };
}

const SPLIT_PARTS = ["set_off", "top_up", "payout"] as const;

/** The three parts of the receivable: all or none present, exact, in its unit, summing to it. */
function receivableSplitProblems(statement: Statement, receivable: Decimal): string[] {
  const present = SPLIT_PARTS.filter((k) => statement[k] !== undefined);
  if (present.length === 0) return [];
  if (present.length < SPLIT_PARTS.length) return [`receivable split: only ${present.join(", ")} present`];
  const problems: string[] = [];
  let sum: Decimal = ZERO;
  for (const k of SPLIT_PARTS) {
    const part = statement[k] as Amount;
    let value: Decimal;
    try {
      value = dec(part.value);
    } catch {
      problems.push(`${k}: ${JSON.stringify(part.value)} is not a decimal`);
      continue;
    }
    if (part.unit !== statement.payable.unit) problems.push(`${k}: unit ${part.unit}, statement is in ${statement.payable.unit}`);
    if (value.units !== 0n && value.units > 0n !== receivable.units > 0n)
      problems.push(`${k}: ${part.value} is on the other side of zero from the receivable`);
    sum = add(sum, value);
  }
  if (sub(sum, receivable).units !== 0n)
    problems.push(`set_off + top_up + payout = ${formatDecimal(sum)}, the exact receivable is ${formatDecimal(receivable)}`);
  return problems;
}

/** Fetches the statement and every page of its lines as the partner, then verifies them. */
export async function verifyStatement(opts: {
  client: PartnerClient;
  settlementId: string;
  jwks: JSONWebKeySet | (() => Promise<JSONWebKeySet>);
}): Promise<VerifyResult & { statement?: Statement }> {
  let statement: Statement;
  try {
    statement = await opts.client.settlement(opts.settlementId);
  } catch (e) {
    if (e instanceof PartnerApiError) return { ok: false, problems: [`statement: HTTP ${e.status} ${e.code}`], lines: 0 };
    throw e;
  }
  const lines: StatementLine[] = [];
  try {
    for await (const line of opts.client.settlementLines(opts.settlementId, { limit: 100 })) lines.push(line);
  } catch (e) {
    if (e instanceof PartnerApiError) return { ok: false, problems: [`lines: HTTP ${e.status} ${e.code}`], lines: lines.length };
    throw e;
  }
  const jwks = typeof opts.jwks === "function" ? await opts.jwks() : opts.jwks;
  return { ...(await verifyStatementData(statement, lines, jwks)), statement };
}

/** The operator's statement keys, from `GET /.well-known/jwks.json`. */
export async function fetchJwks(
  baseUrl: string,
  fetcher: (r: Request) => Promise<Response> = (r) => fetch(r),
): Promise<JSONWebKeySet> {
  const response = await fetcher(new Request(new URL("/.well-known/jwks.json", baseUrl)));
  if (!response.ok) throw new Error(`JWKS: HTTP ${response.status}`);
  return (await response.json()) as JSONWebKeySet;
}
