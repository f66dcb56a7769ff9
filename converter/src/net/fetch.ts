/**
 * `fetch` for requests whose destination comes from user input: an undici Agent whose every new connection goes
 * through the OutboundGuard first (guard.ts) and is then opened to one of the addresses the guard checked, with the
 * TLS server name and the Host header still the URL's host (certificates are verified against the name). Because
 * the check is made per connection, it covers every request of the agent: redirect hops (followed by the caller
 * or by fetch itself), token realms, reconnections after keep-alive, and a name that re-resolves elsewhere later.
 *
 * A refused connection makes fetch reject with an error whose `cause` chain holds the OutboundRefusedError
 * (`outboundRefusal(err)` finds it); nothing was sent anywhere.
 */
import tls from "node:tls";
import { Agent, buildConnector, fetch as undiciFetch } from "undici";
import { OutboundGuard, type OutboundPolicy } from "./guard.ts";

export type Fetch = typeof fetch;

/** Per connection attempt; one attempt per checked address. */
const CONNECT_TIMEOUT_MS = 10_000;

export interface GuardedFetchOptions {
  /** Certificates trusted in addition to the system's (a private CA). */
  ca?: string | Buffer;
}

/** An undici dispatcher that connects only where `guard` allows (see above). */
export function guardedAgent(guard: OutboundGuard, options: GuardedFetchOptions = {}): Agent {
  const tlsOptions = options.ca !== undefined ? { ca: [...tls.rootCertificates, options.ca.toString()] } : {};
  const connector = buildConnector({ timeout: CONNECT_TIMEOUT_MS, ...tlsOptions });
  const connect: buildConnector.connector = (options, callback) => {
    const port = options.port !== "" && options.port !== undefined ? Number(options.port) : options.protocol === "https:" ? 443 : 80;
    guard.resolve(options.hostname, port).then(
      (addresses) => {
        // Try each checked address in turn (dual-stack names), reporting the last failure.
        const attempt = (i: number): void => {
          const address = addresses[i] as (typeof addresses)[number];
          const done: buildConnector.Callback = (err, socket) => {
            if (err !== null && i + 1 < addresses.length) return attempt(i + 1);
            if (err !== null) return callback(err, null);
            callback(null, socket as NonNullable<typeof socket>);
          };
          try {
            // `host` (name:port) stays as it was: undici derives the TLS server name from it.
            connector({ ...options, hostname: address.address }, done);
          } catch (err) {
            // A synchronous throw here would otherwise become an unhandled rejection of this promise chain.
            done(err instanceof Error ? err : new Error(String(err)), null);
          }
        };
        attempt(0);
      },
      (err: unknown) => callback(err instanceof Error ? err : new Error(String(err)), null),
    );
  };
  return new Agent({ connect });
}

/** A fetch whose connections are all guarded (same contract as the global fetch). */
export function guardedFetch(guard: OutboundGuard | OutboundPolicy = {}, options: GuardedFetchOptions = {}): Fetch {
  const dispatcher = guardedAgent(guard instanceof OutboundGuard ? guard : new OutboundGuard(guard), options);
  return ((input: Parameters<Fetch>[0], init?: RequestInit) =>
    undiciFetch(input as Parameters<typeof undiciFetch>[0], { ...(init as Parameters<typeof undiciFetch>[1]), dispatcher })) as unknown as Fetch;
}
