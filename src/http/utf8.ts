/**
 * Strict UTF-8 (partner-api.md §1: a body that is not valid UTF-8 is refused). The decoding is
 * the platform's fatal TextDecoder; `firstInvalidUtf8` only finds where the bytes go wrong, so
 * the error can say which byte to look at.
 */

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * The text of `bytes`, or undefined when they are not UTF-8. A leading byte order mark is kept
 * (as U+FEFF), never silently dropped: the caller decides what it means.
 */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Second-byte range and length of every lead byte of a well-formed sequence (Unicode 15,
 * table 3-7): overlong forms (C0, C1, E0 80..9F, F0 80..8F), UTF-16 surrogates (ED A0..BF) and
 * code points past U+10FFFF (F4 90.., F5..FF) have no entry.
 */
function leadByte(b: number): { length: number; lo: number; hi: number } | undefined {
  if (b >= 0xc2 && b <= 0xdf) return { length: 2, lo: 0x80, hi: 0xbf };
  if (b === 0xe0) return { length: 3, lo: 0xa0, hi: 0xbf };
  if (b === 0xed) return { length: 3, lo: 0x80, hi: 0x9f };
  if (b >= 0xe1 && b <= 0xef) return { length: 3, lo: 0x80, hi: 0xbf };
  if (b === 0xf0) return { length: 4, lo: 0x90, hi: 0xbf };
  if (b >= 0xf1 && b <= 0xf3) return { length: 4, lo: 0x80, hi: 0xbf };
  if (b === 0xf4) return { length: 4, lo: 0x80, hi: 0x8f };
  return undefined;
}

/** Length of the well-formed sequence starting at `i`, or 0 when none starts there. */
function sequenceAt(bytes: Uint8Array, i: number): number {
  const b = bytes[i] ?? 0;
  if (b < 0x80) return 1;
  const lead = leadByte(b);
  if (!lead) return 0;
  const second = bytes[i + 1];
  if (second === undefined || second < lead.lo || second > lead.hi) return 0;
  for (let k = 2; k < lead.length; k++) {
    const next = bytes[i + k];
    if (next === undefined || next < 0x80 || next > 0xbf) return 0;
  }
  return lead.length;
}

/** Offset of the first byte that starts no well-formed UTF-8 sequence; -1 when all are well formed. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const length = sequenceAt(bytes, i);
    if (length === 0) return i;
    i += length;
  }
  return -1;
}

/** UTF-8 length of a well-formed string (for byte offsets in error messages). */
export function utf8Length(s: string): number {
  return new TextEncoder().encode(s).length;
}
