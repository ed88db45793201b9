import { mkdir, readFile, rm } from "node:fs/promises";
import { dirname } from "node:path";
import type { JWK } from "jose";
import type { PartnerCredentials } from "../../packages/partner-sdk/src/index";
import { writeFileAtomic } from "./files";
import type { OperatorKey } from "./operator-token";
import { LOCAL_FILE, shown } from "./paths";

/** `.dev/local.json`, as operator-api.md "Local development" describes it. */
export interface LocalConfig {
  base_url: string;
  settlement_currency: string;
  operator: OperatorKey;
  partners: LocalPartner[];
  /** The demo member's reference at each partner it is linked to (when the member endpoints exist). */
  demo_member?: { refs: Record<string, string> };
}

export interface LocalPartner {
  id: string;
  name: string;
  kid: string;
  alg: "EdDSA" | "ES256";
  private_jwk: JWK;
  earn_units: string[];
  burn_units: string[];
}

export async function readLocalConfig(file = LOCAL_FILE): Promise<LocalConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") {
      throw new Error(`${shown(file)} does not exist: run \`npm start\` first (it writes it once the exchange is up)`);
    }
    throw e;
  }
  const config = JSON.parse(text) as LocalConfig;
  if (typeof config.base_url !== "string" || !config.operator || !Array.isArray(config.partners)) {
    throw new Error(`${shown(file)} does not look like a local exchange config (base_url, operator, partners)`);
  }
  return config;
}

/**
 * `npm start` removes the file of an earlier run before anything else and writes the new one
 * only when the exchange is up and seeded, in one atomic step: whoever waits for the file to
 * appear finds a complete file of this run, never a stale or half-written one.
 */
export async function removeLocalConfig(file = LOCAL_FILE): Promise<void> {
  await rm(file, { force: true });
}

export async function writeLocalConfig(config: LocalConfig, file = LOCAL_FILE): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFileAtomic(file, `${JSON.stringify(config, null, 2)}\n`, 0o600);
}

export function partnerCredentials(config: LocalConfig, partnerId: string): PartnerCredentials {
  const p = config.partners.find((x) => x.id === partnerId);
  if (!p) {
    throw new Error(`no partner ${partnerId} in the local config; known: ${config.partners.map((x) => x.id).join(", ")}`);
  }
  return { partnerId: p.id, kid: p.kid, alg: p.alg, privateJwk: p.private_jwk };
}
