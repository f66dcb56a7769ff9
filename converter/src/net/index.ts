/**
 * Outbound requests to destinations that come from user input (docs/outbound.md): IP parsing in every spelling
 * (ip.ts), the address classes the hub refuses (ranges.ts), the resolve-and-check guard (guard.ts) and a fetch
 * whose connections all go through it (fetch.ts). Operator-configured destinations (HUB_URL, the chunk store) do
 * not use it.
 */
export { type IpAddress, formatIp, parseIp } from "./ip.ts";
export { type AddressClass, type Cidr, classifyAddress, classifyHost, inCidr, parseCidr } from "./ranges.ts";
export {
  type Endpoint,
  type LookupAll,
  type OutboundPolicy,
  OutboundGuard,
  OutboundRefusedError,
  normalHost,
  outboundRefusal,
  parseEndpoint,
} from "./guard.ts";
export { type Fetch, type GuardedFetchOptions, guardedAgent, guardedFetch } from "./fetch.ts";
export { outboundAllowFromEnv } from "./policy.ts";
