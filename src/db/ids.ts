/** Opaque prefixed ids (`mbr_…`, `txn_…`, `stl_…`): 16 random bytes, base32-ish lowercase. */
export const ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

/** The random part of every id: 16 symbols of ID_ALPHABET (80 bits from the crypto RNG). */
export function randomIdPart(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let out = "";
  for (const b of bytes) out += ID_ALPHABET[b & 31];
  return out;
}

export function newId(prefix: string): string {
  return `${prefix}_${randomIdPart()}`;
}

export function randomToken(bytes = 16): string {
  const buf = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(buf, (b) => b.toString(16).padStart(2, "0")).join("");
}
