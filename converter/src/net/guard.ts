/**
 * The outbound-connection guard: before the hub opens a connection to a host a user named (a registry, its token
 * realm, a redirect target, any URL from user input), the host is resolved here and every address it resolves to
 * is checked (ranges.ts); one forbidden address refuses the host. The caller then connects to exactly the
 * addresses returned (fetch.ts does), never resolving the name again, so DNS rebinding between check and connect
 * has nothing to exploit.
 *
 * The operator opens exceptions (`OutboundPolicy`): address ranges (`HUB_OUTBOUND_ALLOW`) and `host[:port]`
 * endpoints trusted whatever they resolve to (the registries of `HUB_INSECURE_REGISTRIES`, the Docker Hub mirror).
 */
import { lookup as dnsLookup } from "node:dns/promises";
import { formatIp, parseIp, unmapped } from "./ip.ts";
import { type AddressClass, type Cidr, classifyAddress, inCidr, parseCidr } from "./ranges.ts";

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** `dns.lookup(host, { all: true })`; tests pass their own to script answers. */
export type LookupAll = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

export interface OutboundPolicy {
  /** Address ranges the operator allows whatever their class: `10.0.0.0/8`, `fd12::/16`, `192.0.2.7`. */
  allow?: readonly string[];
  /** `host[:port]` endpoints the operator trusts whatever they resolve to; no port = ports 80 and 443. */
  endpoints?: readonly string[];
  lookup?: LookupAll;
}

/** Thrown, before any connection, for a host that is or resolves to an address the hub must not reach. */
export class OutboundRefusedError extends Error {
  override readonly name = "OutboundRefusedError";
  constructor(
    readonly host: string,
    readonly port: number,
    /** The class of the first forbidden address (`loopback`, `private`, …). */
    readonly addressClass: AddressClass,
    /** The forbidden address itself; for a name, what it resolved to (for the operator's log, not the user). */
    readonly address: string,
    /** True when `host` is an IP literal (the user already knows the address and its class). */
    readonly literal: boolean,
  ) {
    super(
      literal
        ? `${address} is ${/^[aeiou]/.test(addressClass) ? "an" : "a"} ${addressClass} address, which this hub does not connect to`
        : `${host} resolves to an address this hub does not connect to`,
    );
  }
}

/** Finds an OutboundRefusedError in an error or its `cause` chain (fetch wraps connect errors). */
export function outboundRefusal(err: unknown): OutboundRefusedError | undefined {
  for (let e = err, depth = 0; e !== null && e !== undefined && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof OutboundRefusedError) return e;
  }
  return undefined;
}

export interface Endpoint {
  host: string;
  ports: readonly number[];
}

/** Lower case, without brackets, IP literals in canonical form: how hosts are compared. */
export function normalHost(host: string): string {
  const text = host.trim().toLowerCase().replace(/^\[(.*)\]$/, "$1").replace(/\.$/, "");
  const ip = parseIp(text);
  return ip === undefined ? text : formatIp(unmapped(ip));
}

/** `host[:port]` (IPv6 in brackets); no port = 80 and 443. Throws on anything else. */
export function parseEndpoint(entry: string): Endpoint {
  const text = entry.trim();
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(text);
  if (match === null || (match[2] !== undefined && Number(match[2]) > 65535)) {
    throw new Error(`'${entry}' is not a host[:port]`);
  }
  return { host: normalHost(match[1] as string), ports: match[2] === undefined ? [80, 443] : [Number(match[2])] };
}

export class OutboundGuard {
  private readonly allow: readonly Cidr[];
  private readonly endpoints: readonly Endpoint[];
  private readonly lookup: LookupAll;

  /** Throws on a malformed allow list entry (checked at start-up with the rest of the configuration). */
  constructor(policy: OutboundPolicy = {}) {
    this.allow = (policy.allow ?? []).map(parseCidr);
    this.endpoints = (policy.endpoints ?? []).map(parseEndpoint);
    this.lookup = policy.lookup ?? ((hostname) => dnsLookup(hostname, { all: true, verbatim: true }));
  }

  /** Whether the operator trusts `host:port` whatever it resolves to. */
  private trusted(host: string, port: number): boolean {
    const h = normalHost(host);
    return this.endpoints.some((e) => e.host === h && e.ports.includes(port));
  }

  /**
   * The addresses to connect to for `host:port`, IPv4 first (a container without IPv6 routes fails fast on AAAA
   * answers, and the caller tries them in order). Throws OutboundRefusedError when any is forbidden, a resolver
   * error (ENOTFOUND…) when the name does not resolve.
   */
  async resolve(host: string, port: number): Promise<ResolvedAddress[]> {
    const name = host.trim().replace(/^\[(.*)\]$/, "$1");
    const literal = parseIp(name);
    const answers: ResolvedAddress[] = [];
    if (literal !== undefined) {
      const plain = unmapped(literal);
      answers.push({ address: formatIp(plain), family: plain.family });
    } else {
      for (const a of await this.lookup(name)) {
        const ip = parseIp(a.address);
        // A resolver answer that is not an address cannot be checked: refuse rather than pass it on.
        if (ip === undefined) throw new OutboundRefusedError(host, port, "reserved", a.address, false);
        const plain = unmapped(ip);
        answers.push({ address: formatIp(plain), family: plain.family });
      }
      if (answers.length === 0) throw Object.assign(new Error(`${name}: no address`), { code: "ENOTFOUND" });
    }
    if (!this.trusted(name, port)) {
      for (const answer of answers) {
        const ip = parseIp(answer.address) as NonNullable<ReturnType<typeof parseIp>>;
        const addressClass = classifyAddress(ip);
        if (addressClass !== "public" && !this.allow.some((c) => inCidr(ip, c))) {
          throw new OutboundRefusedError(host, port, addressClass, answer.address, literal !== undefined);
        }
      }
    }
    return [...answers.filter((a) => a.family === 4), ...answers.filter((a) => a.family === 6)];
  }
}
