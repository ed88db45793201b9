import { fetchJwks, PartnerClient, type PartnerCredentials, verifyStatement } from "../../packages/partner-sdk/src/index";

/** `npm run cli -- verify <partner> <settlement_id>`: prints OK or what differs; the exit code. */
export async function verifyCommand(baseUrl: string, credentials: PartnerCredentials, settlementId: string): Promise<number> {
  const client = new PartnerClient({ baseUrl, credentials });
  const result = await verifyStatement({ client, settlementId, jwks: () => fetchJwks(baseUrl) });
  if (result.ok) console.log(`OK ${settlementId}: signature, digest and the totals of ${result.lines} lines check out`);
  else console.log(`FAILED ${settlementId}:\n  ${result.problems.join("\n  ")}`);
  return result.ok ? 0 : 1;
}
