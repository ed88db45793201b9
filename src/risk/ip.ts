/**
 * IP addresses for the risk rules (operator-api.md "Risk rules"): parsing, normalisation,
 * the subject key an address is counted under, and CIDR matching. Pure functions.
 *
 * - An IPv4-mapped IPv6 address (`::ffff:203.0.113.7`, `::ffff:cb00:7107`) is the IPv4 address.
 * - IPv6 addresses are counted per /64 (one subscriber's LAN), so the subject key of an IPv6
 *   address is its /64 prefix in RFC 5952 form (`2001:db8:0:1::/64`).
 * - The accepted text forms are exactly those of `context.ip` (src/members/routes.ts `isIpAddress`):
 *   dotted-quad IPv4 without leading zeros; RFC 4291 IPv6 with at most one `::` and an optional
 *   IPv4 tail; no zone id, no brackets.
 */

export interface Ip {
  version: 4 | 6;
  /** 4 or 16 bytes, network order. */
  bytes: Uint8Array;
}

export interface Cidr {
  version: 4 | 6;
  /** The network address (host bits zero). */
  bytes: Uint8Array;
  prefix: number;
}

const IPV4_OCTET = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

function parseIpv4Bytes(s: string): Uint8Array | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] ?? "";
    if (!IPV4_OCTET.test(p)) return undefined;
    out[i] = Number(p);
  }
  return out;
}

function parseIpv6Bytes(s: string): Uint8Array | undefined {
  if (s.length < 2 || s.length > 45) return undefined;
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string) => (part === "" ? [] : part.split(":"));
  const head = groupsOf(halves[0] ?? "");
  const groups = [...head, ...(halves.length === 2 ? groupsOf(halves[1] ?? "") : [])];
  const words: number[] = [];
  let headWords = 0;
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i] ?? "";
    if (g.includes(".")) {
      // An embedded IPv4 address only as the last 32 bits, at the very end of the text.
      const v4 = i === groups.length - 1 && !s.endsWith(":") ? parseIpv4Bytes(g) : undefined;
      if (!v4) return undefined;
      words.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
    } else if (HEX_GROUP.test(g)) {
      words.push(Number.parseInt(g, 16));
    } else {
      return undefined;
    }
    if (i === head.length - 1) headWords = words.length;
  }
  if (halves.length === 2 ? words.length > 7 : words.length !== 8) return undefined;
  const all = [...words.slice(0, headWords), ...new Array<number>(8 - words.length).fill(0), ...words.slice(headWords)];
  const out = new Uint8Array(16);
  all.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

/** Parses an address as `context.ip` accepts it; undefined when it is not one. Not normalised. */
export function parseIp(s: string): Ip | undefined {
  if (s.includes(":")) {
    const bytes = parseIpv6Bytes(s);
    return bytes ? { version: 6, bytes } : undefined;
  }
  const bytes = parseIpv4Bytes(s);
  return bytes ? { version: 4, bytes } : undefined;
}

function isV4Mapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/** An IPv4-mapped IPv6 address becomes its IPv4 address; anything else is returned as it is. */
export function normalizeIp(ip: Ip): Ip {
  if (ip.version === 6 && isV4Mapped(ip.bytes)) return { version: 4, bytes: ip.bytes.slice(12) };
  return ip;
}

/** Canonical text: dotted quad, or RFC 5952 IPv6 (lower case, no leading zeros, longest zero run as `::`). */
export function formatIp(ip: Ip): string {
  if (ip.version === 4) return Array.from(ip.bytes).join(".");
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(((ip.bytes[2 * i] ?? 0) << 8) | (ip.bytes[2 * i + 1] ?? 0));
  // The longest run of two or more zero words (the first of equal runs) is compressed.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(":");
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLength))}`;
}

/** Parsed and normalised, or undefined when `s` is not an address `context.ip` accepts. */
export function normalizedIp(s: string): Ip | undefined {
  const ip = parseIp(s);
  return ip ? normalizeIp(ip) : undefined;
}

/**
 * What an address is counted under: the IPv4 address (mapped IPv6 included), or the /64 of an
 * IPv6 address (`2001:db8:0:1::/64`). Throws on a string that is not an address.
 */
export function ipSubjectKey(s: string): string {
  const ip = normalizedIp(s);
  if (!ip) throw new RangeError(`not an IP address: ${s}`);
  if (ip.version === 4) return formatIp(ip);
  const prefix = new Uint8Array(16);
  prefix.set(ip.bytes.subarray(0, 8));
  return `${formatIp({ version: 6, bytes: prefix })}/64`;
}

/**
 * A block-list entry: `203.0.113.0/24`, `2001:db8::/32`, or one address (`/32` or `/128`).
 * Host bits must be zero (`203.0.113.7/24` is refused: which network was meant?). An IPv4-mapped
 * IPv6 range of at least /96 (`::ffff:203.0.113.0/120`) is the IPv4 range. Undefined when invalid.
 */
export function parseCidr(s: string): Cidr | undefined {
  const slash = s.indexOf("/");
  const address = slash < 0 ? s : s.slice(0, slash);
  const ip = parseIp(address);
  if (!ip) return undefined;
  const max = ip.version === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = s.slice(slash + 1);
    if (!/^(?:0|[1-9]\d{0,2})$/.test(p)) return undefined;
    prefix = Number(p);
    if (prefix > max) return undefined;
  }
  for (let bit = prefix; bit < max; bit++) {
    if (((ip.bytes[bit >> 3] ?? 0) >> (7 - (bit & 7))) & 1) return undefined;
  }
  if (ip.version === 6 && prefix >= 96 && isV4Mapped(ip.bytes)) {
    return { version: 4, bytes: ip.bytes.slice(12), prefix: prefix - 96 };
  }
  return { version: ip.version, bytes: ip.bytes, prefix };
}

/** Whether the (normalised) address lies in the range. IPv4 ranges match IPv4 addresses only, and so on. */
export function cidrContains(cidr: Cidr, ip: Ip): boolean {
  if (cidr.version !== ip.version) return false;
  const full = cidr.prefix >> 3;
  for (let i = 0; i < full; i++) if (cidr.bytes[i] !== ip.bytes[i]) return false;
  const rest = cidr.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((cidr.bytes[full] ?? 0) & mask) === ((ip.bytes[full] ?? 0) & mask);
}
