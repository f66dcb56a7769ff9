/**
 * IP addresses in every spelling a resolver or URL parser accepts, reduced to bytes so that a range check cannot be
 * dodged by writing the same address differently:
 *
 * - IPv4 as `inet_aton` reads it (and the WHATWG URL parser, and getaddrinfo for numeric hosts): one to four parts,
 *   each decimal, octal (`0` prefix) or hex (`0x` prefix), the last part filling the remaining bytes, so
 *   `2130706433`, `0177.0.0.1`, `0x7f.1` and `127.1` are all 127.0.0.1; a trailing dot is accepted;
 * - IPv6 with `::` compression, an embedded dotted IPv4 in the last 32 bits (`::ffff:127.0.0.1`), optional
 *   brackets and an optional zone (`fe80::1%eth0`, ignored).
 *
 * Pure code (no Node imports) so any runtime can use it.
 */

export interface IpAddress {
  family: 4 | 6;
  /** 4 bytes for IPv4, 16 for IPv6, network order. */
  bytes: Uint8Array;
}

/** One inet_aton part: decimal, `0`-prefixed octal or `0x`-prefixed hex; undefined when it is not a number. */
function parsePart(part: string): number | undefined {
  let digits = part;
  let radix = 10;
  if (/^0x/i.test(part)) {
    digits = part.slice(2);
    radix = 16;
    // `0x` alone is 0 for the URL parser; inet_aton refuses it. Reading it as an address is the safe side.
    if (digits === "") return 0;
  } else if (part.length > 1 && part.startsWith("0")) {
    digits = part.slice(1);
    radix = 8;
  }
  const valid = radix === 16 ? /^[0-9a-f]+$/i : radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!valid.test(digits)) return undefined;
  // Long digit strings are still numbers (too large ones are refused by the caller's range check).
  const value = digits.length > 15 ? Number.POSITIVE_INFINITY : parseInt(digits, radix);
  return value;
}

export function parseIpv4(text: string): IpAddress | undefined {
  let parts = text.split(".");
  if (parts.length > 1 && parts[parts.length - 1] === "") parts = parts.slice(0, -1);
  if (parts.length === 0 || parts.length > 4 || parts.some((p) => p === "")) return undefined;
  const values: number[] = [];
  for (const part of parts) {
    const value = parsePart(part);
    if (value === undefined) return undefined;
    values.push(value);
  }
  const last = values.pop() as number;
  if (values.some((v) => v > 255)) return undefined;
  if (last >= 256 ** (4 - values.length)) return undefined;
  const bytes = new Uint8Array(4);
  values.forEach((v, i) => (bytes[i] = v));
  let rest = last;
  for (let i = 3; i >= values.length; i--) {
    bytes[i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  return { family: 4, bytes };
}

/** Strict dotted quad (the only IPv4 form allowed inside an IPv6 address). */
function parseDottedQuad(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return Uint8Array.from(parts.map(Number));
}

export function parseIpv6(input: string): IpAddress | undefined {
  let text = input;
  if (text.startsWith("[") && text.endsWith("]")) text = text.slice(1, -1);
  const zone = text.indexOf("%");
  if (zone >= 0) text = text.slice(0, zone);
  if (!text.includes(":")) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (half: string): number[] | undefined => {
    if (half === "") return [];
    const out: number[] = [];
    const pieces = half.split(":");
    for (const [i, piece] of pieces.entries()) {
      if (i === pieces.length - 1 && piece.includes(".")) {
        const quad = parseDottedQuad(piece);
        if (quad === undefined) return undefined;
        out.push(((quad[0] as number) << 8) | (quad[1] as number), ((quad[2] as number) << 8) | (quad[3] as number));
      } else if (/^[0-9a-f]{1,4}$/i.test(piece)) {
        out.push(parseInt(piece, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = groups(halves[0] as string);
  const tail = halves.length === 2 ? groups(halves[1] as string) : [];
  if (head === undefined || tail === undefined) return undefined;
  // An embedded IPv4 is only allowed at the very end.
  if (halves.length === 2 && (halves[0] as string).includes(".")) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  all.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return { family: 6, bytes };
}

/** The address `host` denotes when it is an IP literal in any spelling (brackets allowed for IPv6); else undefined. */
export function parseIp(host: string): IpAddress | undefined {
  const text = host.trim();
  return text.includes(":") ? parseIpv6(text) : parseIpv4(text);
}

/** `::ffff:a.b.c.d` is the IPv4 address a.b.c.d on a dual-stack socket: treat it as that address. */
export function unmapped(address: IpAddress): IpAddress {
  const b = address.bytes;
  if (address.family === 6 && b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) {
    return { family: 4, bytes: b.slice(12) };
  }
  return address;
}

/** Canonical text: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run compressed). */
export function formatIp(address: IpAddress): string {
  const b = address.bytes;
  if (address.family === 4) return Array.from(b).join(".");
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] as number) << 8) | (b[i + 1] as number));
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(":");
  if (best < 0) return hex(groups);
  return `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLength))}`;
}
