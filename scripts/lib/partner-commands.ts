import {
  fetchJwks,
  newIdempotencyKey,
  PartnerClient,
  type PartnerCredentials,
  signRequest,
  verifyStatement,
} from "../../packages/partner-sdk/src/index";

/** `npm run cli -- verify <partner> <settlement_id>`: prints OK or what differs; the exit code. */
export async function verifyCommand(baseUrl: string, credentials: PartnerCredentials, settlementId: string): Promise<number> {
  const client = new PartnerClient({ baseUrl, credentials });
  const result = await verifyStatement({ client, settlementId, jwks: () => fetchJwks(baseUrl) });
  if (result.ok) console.log(`OK ${settlementId}: signature, digest and the totals of ${result.lines} lines check out`);
  else console.log(`FAILED ${settlementId}:\n  ${result.problems.join("\n  ")}`);
  return result.ok ? 0 : 1;
}

export interface SignedCurl {
  headers: [string, string][];
  curl: string;
}

/** A POSIX shell word: single-quoted, each `'` as `'\''`. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * `npm run cli -- sign <partner> <method> <path> [body]`: the headers of one signed request and a
 * curl command that sends exactly the bytes signed (`--data-raw`, the body as typed, never
 * re-serialised, since `bh` hashes the raw bytes). It is good once (its `jti`) and for 300 s (`iat`).
 */
export async function signedCurl(opts: {
  baseUrl: string;
  credentials: PartnerCredentials;
  method: string;
  target: string;
  body: string | undefined;
  idempotencyKey?: string | undefined;
}): Promise<SignedCurl> {
  const method = opts.method.toUpperCase();
  // §3: every POST carries an Idempotency-Key (and the signature's idk names it).
  const idempotencyKey = method === "POST" ? (opts.idempotencyKey ?? newIdempotencyKey()) : opts.idempotencyKey;
  const body = opts.body ?? (method === "POST" || method === "PUT" ? "{}" : undefined);
  const bytes = new TextEncoder().encode(body ?? "");
  const signature = await signRequest(opts.credentials, { method, target: opts.target, body: bytes, idempotencyKey });
  const headers: [string, string][] = [["Coalition-Signature", signature]];
  if (idempotencyKey !== undefined) headers.push(["Idempotency-Key", idempotencyKey]);
  if (body !== undefined) headers.push(["Content-Type", "application/json"]);
  const url = opts.baseUrl.replace(/\/$/, "") + opts.target;
  const words = ["curl", "-sS", ...(method === "GET" ? [] : ["-X", method]), shellQuote(url)];
  for (const [name, value] of headers) words.push("-H", shellQuote(`${name}: ${value}`));
  if (body !== undefined) words.push("--data-raw", shellQuote(body));
  return { headers, curl: words.join(" ") };
}
