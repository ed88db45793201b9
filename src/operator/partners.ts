import { createRoute, z } from "@hono/zod-openapi";
import { exportJWK, importJWK, type JWK } from "jose";
import { auditPrepared } from "../audit/log";
import { forgetPartnerKey } from "../auth/partner-keys";
import { sqlInt } from "../db/sql";
import type { RouteModule } from "../http/app";
import { ApiError } from "../http/errors";
import { decodeCursor, page } from "../http/pagination";
import { AmountSchema, errorResponses, jsonBody, jsonResponse, ListQuery, listOf, OPERATOR_AUTH_ERRORS } from "../http/schemas";
import { getPartner, listKeys, listPartners, type PartnerRow, partnerUnits, renderPartner } from "../partners/store";
import { parseMicros } from "../rates/micros";

export const PartnerId = z.string().regex(/^[a-z0-9-]{2,40}$/, "must be 2 to 40 of [a-z0-9-]");
export const PartnerParams = z.object({ id: PartnerId.openapi({ param: { name: "id", in: "path" } }) });

/** Prepaid only: what a close does with a receivable left after the set-off (economics.md). */
const Receivables = z.enum(["payout", "top_up"]).optional();
const Funding = z.discriminatedUnion("mode", [
  z.strictObject({ mode: z.literal("prepaid"), balance: AmountSchema, receivables: Receivables }),
  z.strictObject({ mode: z.literal("postpaid"), credit_limit: AmountSchema }),
]);
const FundingChange = z.discriminatedUnion("mode", [
  z.strictObject({ mode: z.literal("prepaid"), receivables: Receivables }),
  z.strictObject({ mode: z.literal("postpaid"), credit_limit: AmountSchema }),
]);

export const PartnerSchema = z.object({}).passthrough().openapi("Partner");

const CreatePartner = z.strictObject({
  id: PartnerId,
  name: z.string().min(1).max(100),
  funding: Funding,
  pending_days: z.number().int().min(0).max(365).optional(),
  hold_ttl_seconds: z.number().int().min(60).max(604_800).optional(),
});

const PatchPartner = z.strictObject({
  status: z.enum(["active", "suspended"]).optional(),
  name: z.string().min(1).max(100).optional(),
  pending_days: z.number().int().min(0).max(365).optional(),
  hold_ttl_seconds: z.number().int().min(60).max(604_800).optional(),
  funding: FundingChange.optional(),
});

const PublicJwk = z
  .object({
    kty: z.enum(["OKP", "EC"]),
    crv: z.enum(["Ed25519", "P-256"]),
    x: z.string().min(1).max(200),
    y: z.string().min(1).max(200).optional(),
    d: z.string().optional(),
  })
  .passthrough();

const AddKey = z.strictObject({
  kid: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[\x21-\x7e]+$/),
  public_jwk: PublicJwk,
});

/**
 * Funding amounts are kept as exact micros in 64-bit SQL integers; one amount may be at most a
 * billion units of the settlement currency (far above any partner's position), so balances and
 * exposures stay exact however many of them add up.
 */
const MAX_FUNDING_MICROS = 10n ** 15n;

export function fundingMicros(value: string, param: string): number {
  const micros = parseMicros(value);
  if (micros > MAX_FUNDING_MICROS) throw new ApiError("invalid_body", "an amount may be at most 1000000000", param);
  return sqlInt(micros);
}

export function requireCurrency(unit: string, currency: string, param: string): void {
  if (unit !== currency) throw new ApiError("unknown_unit", `funding is in the settlement currency ${currency}`, param);
}

export async function mustGetPartner(db: D1Database, id: string): Promise<PartnerRow> {
  const p = await getPartner(db, id);
  if (!p) throw new ApiError("partner_not_found", `no partner ${id}`);
  return p;
}

export const partnerRoutes: RouteModule = (r) => {
  r.openapi(
    createRoute({
      method: "post",
      path: "/partners",
      tags: ["Operator: partners"],
      summary: "Create a partner",
      security: [{ OperatorToken: [] }],
      request: { body: jsonBody(CreatePartner) },
      responses: {
        201: jsonResponse("The new partner", z.object({ partner: PartnerSchema })),
        ...errorResponses("invalid_body", "unknown_field", "partner_exists", "unknown_unit", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const db = c.env.DB;
      const now = c.get("now");
      const currency = c.env.SETTLEMENT_CURRENCY;
      const amount = body.funding.mode === "prepaid" ? body.funding.balance : body.funding.credit_limit;
      requireCurrency(amount.unit, currency, `funding.${body.funding.mode === "prepaid" ? "balance" : "credit_limit"}.unit`);
      const micros = fundingMicros(amount.value, `funding.${body.funding.mode === "prepaid" ? "balance" : "credit_limit"}.value`);
      const [insert] = await db.batch([
        db
          .prepare(
            `INSERT INTO partners (id, name, funding_mode, prepaid_balance_micros, credit_limit_micros, pending_days, hold_ttl_seconds,
               receivables, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?9, ?8, ?8) ON CONFLICT (id) DO NOTHING`,
          )
          .bind(
            body.id,
            body.name,
            body.funding.mode,
            body.funding.mode === "prepaid" ? micros : 0,
            body.funding.mode === "postpaid" ? micros : 0,
            body.pending_days ?? 0,
            body.hold_ttl_seconds ?? 900,
            now,
            (body.funding.mode === "prepaid" && body.funding.receivables) || "payout",
          ),
        auditPrepared(db, { at: now, actor: c.get("operator").sub, action: "partner.create", target: body.id, detail: body }),
      ]);
      // The catalogue trigger counts too: nothing changed means nothing was inserted.
      if ((insert?.meta.changes ?? 0) === 0) {
        // Nothing was created, so the audit row of this batch must go too.
        await db
          .prepare(
            "DELETE FROM audit_log WHERE id = (SELECT MAX(id) FROM audit_log WHERE action = 'partner.create' AND target = ?)",
          )
          .bind(body.id)
          .run();
        throw new ApiError("partner_exists", `a partner with id ${body.id} exists`);
      }
      const p = await mustGetPartner(db, body.id);
      return c.json({ partner: renderPartner(p, currency, { earn: [], burn: [] }, []) }, 201);
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/partners",
      tags: ["Operator: partners"],
      summary: "List partners",
      security: [{ OperatorToken: [] }],
      request: { query: ListQuery },
      responses: {
        200: jsonResponse("Partners", listOf(PartnerSchema)),
        ...errorResponses("invalid_param", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { limit, cursor } = c.req.valid("query");
      const after = decodeCursor(cursor, ["id"]);
      const rows = await listPartners(c.env.DB, { limit: limit + 1, afterId: after ? String(after.id) : undefined });
      const result = page(rows, limit, (p) => ({ id: p.id }));
      return c.json(
        { data: result.data.map((p) => renderPartner(p, c.env.SETTLEMENT_CURRENCY)), next_cursor: result.next_cursor },
        200,
      );
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/partners/{id}",
      tags: ["Operator: partners"],
      summary: "Get a partner with its funding position, exposure and keys",
      security: [{ OperatorToken: [] }],
      request: { params: PartnerParams },
      responses: {
        200: jsonResponse("The partner", z.object({ partner: PartnerSchema })),
        ...errorResponses("partner_not_found", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const db = c.env.DB;
      const p = await mustGetPartner(db, id);
      const [units, keys] = await Promise.all([partnerUnits(db, id, c.get("now")), listKeys(db, id)]);
      return c.json({ partner: renderPartner(p, c.env.SETTLEMENT_CURRENCY, units, keys) }, 200);
    },
  );

  r.openapi(
    createRoute({
      method: "patch",
      path: "/partners/{id}",
      tags: ["Operator: partners"],
      summary: "Change a partner's status, name, pending period, hold TTL or funding mode",
      security: [{ OperatorToken: [] }],
      request: { params: PartnerParams, body: jsonBody(PatchPartner) },
      responses: {
        200: jsonResponse("The partner", z.object({ partner: PartnerSchema })),
        ...errorResponses("invalid_body", "unknown_field", "partner_not_found", "unknown_unit", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const body = c.req.valid("json");
      const db = c.env.DB;
      const now = c.get("now");
      await mustGetPartner(db, id);
      let creditLimit: number | null = null;
      if (body.funding?.mode === "postpaid") {
        requireCurrency(body.funding.credit_limit.unit, c.env.SETTLEMENT_CURRENCY, "funding.credit_limit.unit");
        creditLimit = fundingMicros(body.funding.credit_limit.value, "funding.credit_limit.value");
      }
      await db.batch([
        db
          .prepare(
            `UPDATE partners SET status = COALESCE(?2, status), name = COALESCE(?3, name),
               pending_days = COALESCE(?4, pending_days), hold_ttl_seconds = COALESCE(?5, hold_ttl_seconds),
               funding_mode = COALESCE(?6, funding_mode), credit_limit_micros = COALESCE(?7, credit_limit_micros),
               receivables = CASE WHEN ?6 = 'postpaid' THEN 'payout' ELSE COALESCE(?9, receivables) END, updated_at = ?8
             WHERE id = ?1`,
          )
          .bind(
            id,
            body.status ?? null,
            body.name ?? null,
            body.pending_days ?? null,
            body.hold_ttl_seconds ?? null,
            body.funding?.mode ?? null,
            creditLimit,
            now,
            body.funding?.mode === "prepaid" ? (body.funding.receivables ?? null) : null,
          ),
        auditPrepared(db, { at: now, actor: c.get("operator").sub, action: "partner.update", target: id, detail: body }),
      ]);
      const p = await mustGetPartner(db, id);
      const [units, keys] = await Promise.all([partnerUnits(db, id, now), listKeys(db, id)]);
      return c.json({ partner: renderPartner(p, c.env.SETTLEMENT_CURRENCY, units, keys) }, 200);
    },
  );

  r.openapi(
    createRoute({
      method: "post",
      path: "/partners/{id}/keys",
      tags: ["Operator: partners"],
      summary: "Register a partner public key (Ed25519 OKP or P-256 EC)",
      security: [{ OperatorToken: [] }],
      request: { params: PartnerParams, body: jsonBody(AddKey) },
      responses: {
        201: jsonResponse("The key", z.object({ key: z.object({ kid: z.string(), alg: z.string(), status: z.string() }) })),
        ...errorResponses("invalid_body", "unknown_field", "partner_not_found", "key_exists", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const { kid, public_jwk } = c.req.valid("json");
      const db = c.env.DB;
      const now = c.get("now");
      await mustGetPartner(db, id);
      if (public_jwk.d !== undefined)
        throw new ApiError("invalid_body", "a private key was sent: register only the public key", "public_jwk.d");
      const alg =
        public_jwk.kty === "OKP" && public_jwk.crv === "Ed25519"
          ? "EdDSA"
          : public_jwk.kty === "EC" && public_jwk.crv === "P-256"
            ? "ES256"
            : undefined;
      if (!alg) throw new ApiError("invalid_body", "public_jwk must be an Ed25519 OKP or a P-256 EC key", "public_jwk");
      // Import it now so a broken key is refused here, not at the partner's first request; store
      // only the public members.
      let publicJwk: JWK;
      try {
        const key = await importJWK({ ...public_jwk, d: undefined } as JWK, alg, { extractable: true });
        const { kty, crv, x, y } = await exportJWK(key as CryptoKey);
        publicJwk = y === undefined ? { kty, crv, x } : { kty, crv, x, y };
      } catch {
        throw new ApiError("invalid_body", "public_jwk is not a valid key", "public_jwk");
      }
      const [insert] = await db.batch([
        db
          .prepare(
            "INSERT INTO partner_keys (partner_id, kid, alg, public_jwk, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
          )
          .bind(id, kid, alg, JSON.stringify(publicJwk), now),
        auditPrepared(db, {
          at: now,
          actor: c.get("operator").sub,
          action: "key.add",
          target: `${id}/${kid}`,
          detail: { kid, alg },
        }),
      ]);
      // The catalogue trigger counts too: nothing changed means nothing was inserted.
      if ((insert?.meta.changes ?? 0) === 0) {
        await db
          .prepare("DELETE FROM audit_log WHERE id = (SELECT MAX(id) FROM audit_log WHERE action = 'key.add' AND target = ?)")
          .bind(`${id}/${kid}`)
          .run();
        throw new ApiError("key_exists", `partner ${id} already has a key ${kid}`);
      }
      return c.json({ key: { kid, alg, status: "active" } }, 201);
    },
  );

  r.openapi(
    createRoute({
      method: "delete",
      path: "/partners/{id}/keys/{kid}",
      tags: ["Operator: partners"],
      summary: "Revoke a partner key, at once",
      security: [{ OperatorToken: [] }],
      request: {
        params: PartnerParams.extend({
          kid: z
            .string()
            .min(1)
            .max(100)
            .openapi({ param: { name: "kid", in: "path" } }),
        }),
      },
      responses: {
        200: jsonResponse("The revoked key", z.object({ key: z.object({ kid: z.string(), status: z.string() }) })),
        ...errorResponses("partner_not_found", "key_not_found", ...OPERATOR_AUTH_ERRORS),
      },
    }),
    async (c) => {
      const { id, kid } = c.req.valid("param");
      const db = c.env.DB;
      const now = c.get("now");
      await mustGetPartner(db, id);
      const [update] = await db.batch([
        db
          .prepare("UPDATE partner_keys SET revoked_at = COALESCE(revoked_at, ?3) WHERE partner_id = ?1 AND kid = ?2")
          .bind(id, kid, now),
        auditPrepared(db, {
          at: now,
          actor: c.get("operator").sub,
          action: "key.revoke",
          target: `${id}/${kid}`,
          detail: { kid },
        }),
      ]);
      if ((update?.meta.changes ?? 0) === 0) {
        await db
          .prepare("DELETE FROM audit_log WHERE id = (SELECT MAX(id) FROM audit_log WHERE action = 'key.revoke' AND target = ?)")
          .bind(`${id}/${kid}`)
          .run();
        throw new ApiError("key_not_found", `partner ${id} has no key ${kid}`);
      }
      forgetPartnerKey(id, kid);
      return c.json({ key: { kid, status: "revoked" } }, 200);
    },
  );
};
