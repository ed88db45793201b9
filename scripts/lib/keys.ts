import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { exportJWK, generateKeyPair, type JWK } from "jose";

/** An Ed25519 key pair as JWKs; both carry `kid` and `alg`. */
export interface KeyPair {
  kid: string;
  alg: "EdDSA";
  private_jwk: JWK;
  public_jwk: JWK;
}

/** `.dev/keys.json`: every key a local run uses, generated once and kept. */
export interface DevKeys {
  version: 1;
  /** Signs operator tokens; its public half is OPERATOR_JWKS. */
  operator: KeyPair;
  /** Signs settlement statements (STATEMENT_SIGNING_JWK); never an operator key. */
  statement: KeyPair;
  /** One key per demo partner, by partner id; the public half is registered through the operator API. */
  partners: Record<string, KeyPair>;
}

/** A fresh Ed25519 key pair. The kid gets a random suffix so a regenerated key never collides with a registered one. */
export async function newKeyPair(kidPrefix: string): Promise<KeyPair> {
  const kid = `${kidPrefix}-${randomBytes(4).toString("hex")}`;
  const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const { kty, crv, x, d } = await exportJWK(privateKey);
  return {
    kid,
    alg: "EdDSA",
    private_jwk: { kty, crv, x, d, kid, alg: "EdDSA" },
    public_jwk: { kty, crv, x, kid, alg: "EdDSA", use: "sig" },
  };
}

function isKeyPair(value: unknown): value is KeyPair {
  const k = value as Partial<KeyPair> | undefined;
  return (
    typeof k?.kid === "string" &&
    k.alg === "EdDSA" &&
    typeof k.private_jwk?.d === "string" &&
    typeof k.public_jwk?.x === "string" &&
    k.public_jwk.d === undefined
  );
}

async function readKeys(file: string): Promise<Partial<DevKeys> | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  try {
    return JSON.parse(text) as Partial<DevKeys>;
  } catch {
    throw new Error(`${file} is not valid JSON; delete the .dev/ directory to start over with fresh keys and data`);
  }
}

/**
 * Loads `.dev/keys.json`, generating whatever is missing (all of it on the first run, a key for a
 * partner added to the seed later), and saves it back (mode 0600) when something was generated.
 */
export async function loadOrCreateKeys(
  file: string,
  partnerIds: readonly string[],
): Promise<{ keys: DevKeys; generated: string[] }> {
  const existing = await readKeys(file);
  const generated: string[] = [];
  const ensure = async (existingPair: unknown, name: string, kidPrefix: string): Promise<KeyPair> => {
    if (isKeyPair(existingPair)) return existingPair;
    generated.push(name);
    return newKeyPair(kidPrefix);
  };
  const operator = await ensure(existing?.operator, "operator", "operator");
  const statement = await ensure(existing?.statement, "statement signing", "statement");
  const partners: Record<string, KeyPair> = {};
  for (const [id, pair] of Object.entries(existing?.partners ?? {})) if (isKeyPair(pair)) partners[id] = pair;
  for (const id of partnerIds) partners[id] = await ensure(partners[id], `partner ${id}`, id);
  const keys: DevKeys = { version: 1, operator, statement, partners };
  if (generated.length > 0) {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
    await chmod(file, 0o600);
  }
  return { keys, generated };
}
