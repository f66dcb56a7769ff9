/**
 * Which addresses the hub may connect to on a user's behalf: public unicast only. Everything else is a class with a
 * name (for messages and logs): the host itself, private networks, link-local (where cloud metadata services live),
 * carrier-grade NAT, multicast, and the reserved/special-purpose blocks of the IANA registries (RFC 6890 and
 * successors). IPv6 is allowed only inside global unicast (2000::/3) minus its special blocks; the IPv6 forms that
 * carry an IPv4 address (mapped, NAT64, 6to4) are judged by that IPv4 address.
 *
 * Pure code (no Node imports) so any runtime can use it.
 */
import { type IpAddress, formatIp, parseIp, unmapped } from "./ip.ts";

export type AddressClass =
  | "public"
  | "unspecified"
  | "loopback"
  | "private"
  | "link-local"
  | "shared (CGNAT)"
  | "multicast"
  | "cloud metadata"
  | "reserved";

export interface Cidr {
  family: 4 | 6;
  bytes: Uint8Array;
  bits: number;
}

/** `10.0.0.0/8`, `fd00::/8`, or one address (`192.0.2.7`, `::1`: a /32 or /128). Throws on anything else. */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf("/");
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const address = parseIp(addressText);
  if (address === undefined) throw new Error(`'${text}' is not an IP address or CIDR range`);
  const max = address.family === 4 ? 32 : 128;
  let bits = max;
  if (slash >= 0) {
    const bitsText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(bitsText) || Number(bitsText) > max) throw new Error(`'${text}': the prefix length must be 0..${max}`);
    bits = Number(bitsText);
  }
  const plain = unmapped(address);
  if (plain.family === 4 && address.family === 6) bits = Math.max(0, bits - 96);
  return { family: plain.family, bytes: plain.bytes, bits };
}

export function inCidr(address: IpAddress, cidr: Cidr): boolean {
  const a = unmapped(address);
  if (a.family !== cidr.family) return false;
  let bits = cidr.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((a.bytes[i] as number) & mask) !== ((cidr.bytes[i] as number) & mask)) return false;
  }
  return true;
}

const table = (entries: Array<[string, AddressClass]>): Array<[Cidr, AddressClass]> => entries.map(([c, k]) => [parseCidr(c), k]);

/** Metadata endpoints first: they sit inside the ranges below, but the name says more. */
const METADATA = table([
  ["169.254.169.254", "cloud metadata"], // AWS, GCP, Azure, OpenStack, DigitalOcean, …
  ["169.254.170.2", "cloud metadata"], // AWS ECS task metadata
  ["100.100.100.200", "cloud metadata"], // Alibaba Cloud
  ["192.0.0.192", "cloud metadata"], // Oracle Cloud
  ["fd00:ec2::254", "cloud metadata"], // AWS over IPv6
]);

const IPV4 = table([
  ["0.0.0.0/8", "unspecified"],
  ["10.0.0.0/8", "private"],
  ["100.64.0.0/10", "shared (CGNAT)"],
  ["127.0.0.0/8", "loopback"],
  ["169.254.0.0/16", "link-local"],
  ["172.16.0.0/12", "private"],
  ["192.0.0.0/24", "reserved"], // IETF protocol assignments
  ["192.0.2.0/24", "reserved"], // documentation
  ["192.88.99.0/24", "reserved"], // 6to4 relay anycast (deprecated)
  ["192.168.0.0/16", "private"],
  ["198.18.0.0/15", "reserved"], // benchmarking
  ["198.51.100.0/24", "reserved"], // documentation
  ["203.0.113.0/24", "reserved"], // documentation
  ["224.0.0.0/4", "multicast"],
  ["240.0.0.0/4", "reserved"], // future use, and 255.255.255.255 (broadcast)
]);

const IPV6 = table([
  ["::/128", "unspecified"],
  ["::1/128", "loopback"],
  ["::/96", "reserved"], // IPv4-compatible (deprecated)
  ["64:ff9b:1::/48", "reserved"], // local-use NAT64
  ["100::/64", "reserved"], // discard-only
  ["2001::/23", "reserved"], // IETF protocol assignments (Teredo, ORCHID, …)
  ["2001:db8::/32", "reserved"], // documentation
  ["3fff::/20", "reserved"], // documentation
  ["fc00::/7", "private"], // unique local
  ["fe80::/10", "link-local"],
  ["fec0::/10", "private"], // site-local (deprecated)
  ["ff00::/8", "multicast"],
]);

const GLOBAL_UNICAST = parseCidr("2000::/3");
const NAT64 = parseCidr("64:ff9b::/96");
const SIX_TO_FOUR = parseCidr("2002::/16");

function lookupTable(address: IpAddress, entries: Array<[Cidr, AddressClass]>): AddressClass | undefined {
  return entries.find(([cidr]) => inCidr(address, cidr))?.[1];
}

/** The class of an address; only `public` may be connected to without the operator's leave. */
export function classifyAddress(input: IpAddress): AddressClass {
  const address = unmapped(input);
  const metadata = lookupTable(address, METADATA);
  if (metadata !== undefined) return metadata;
  if (address.family === 4) return lookupTable(address, IPV4) ?? "public";
  // IPv6 forms that reach an IPv4 address through a translator or tunnel: that IPv4 address decides.
  if (inCidr(address, NAT64)) return classifyAddress({ family: 4, bytes: address.bytes.slice(12) });
  if (inCidr(address, SIX_TO_FOUR)) {
    const embedded = classifyAddress({ family: 4, bytes: address.bytes.slice(2, 6) });
    if (embedded !== "public") return embedded;
  }
  const special = lookupTable(address, IPV6);
  if (special !== undefined) return special;
  return inCidr(address, GLOBAL_UNICAST) ? "public" : "reserved";
}

/** `classifyAddress` of an IP literal in any spelling; undefined when `host` is not an IP literal (a name). */
export function classifyHost(host: string): { address: string; addressClass: AddressClass } | undefined {
  const ip = parseIp(host);
  if (ip === undefined) return undefined;
  return { address: formatIp(unmapped(ip)), addressClass: classifyAddress(ip) };
}
