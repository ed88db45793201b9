// A partner's first session with the SDK, as plain ESM JavaScript that every runtime the SDK
// promises runs unchanged (issue 13): Node 20 and 22, Deno, Bun and Chromium import this one
// file (e2e/sdk.test.ts). `@coalition/partner-sdk` is the installed tarball, resolved the
// runtime's own way: node_modules (Node, Bun, Deno) or an import map (the browser). No Node
// built-in, no runtime global: what it needs comes in as `config`, what it saw goes out as JSON.
import { fetchJwks, InvalidRequestError, PartnerApiError, PartnerClient, verifyStatement } from "@coalition/partner-sdk";

/**
 * @param {{ baseUrl: string, credentials: import("@coalition/partner-sdk").PartnerCredentials, settlementId?: string }} config
 */
export async function flow(config) {
  const client = new PartnerClient({ baseUrl: config.baseUrl, credentials: config.credentials });
  const ref = `sdk-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const context = { ip: "203.0.113.9" };

  /** The typed error a call throws, as data (or what else it threw). */
  const caught = async (call) => {
    try {
      await call();
      return { thrown: false };
    } catch (e) {
      if (!(e instanceof PartnerApiError)) return { thrown: true, typed: false, message: String(e) };
      return {
        thrown: true,
        typed: e instanceof InvalidRequestError,
        name: e.name,
        status: e.status,
        type: e.type,
        code: e.code,
        param: e.param ?? null,
        requestId: e.requestId ?? null,
      };
    }
  };

  const whoami = (await client.whoami()).partner.id;
  const enrolled = await client.enrol(ref, { context });
  const earned = await client.earn({ member_ref: ref, amount: { value: "12.00", unit: "CNY" }, context });
  const burned = await client.burn({ member_ref: ref, points: 5, context });
  const balance = (await client.balance(ref)).points;
  const declined = await caught(() => client.burn({ member_ref: ref, points: 100, context }));
  const unknownMember = await caught(() => client.balance(`${ref}-nobody`));
  const activity = [];
  for await (const t of client.activity(ref, { limit: 1 })) activity.push(t.type);

  let statement = null;
  if (config.settlementId) {
    const verified = await verifyStatement({
      client,
      settlementId: config.settlementId,
      jwks: () => fetchJwks(config.baseUrl),
    });
    statement = { ok: verified.ok, problems: verified.problems, lines: verified.lines, partner: verified.statement?.partner_id };
  }
  const settlements = [];
  for await (const s of client.settlements({ limit: 1 })) settlements.push(s.settlement_id);

  return {
    whoami,
    created: enrolled.created,
    earned: earned.transaction,
    burned: burned.transaction,
    balance,
    declined,
    unknownMember,
    activity,
    statement,
    settlements,
  };
}
