/**
 * A local stand-in for the ThreeFold Connect login service (login.threefold.me) as the hub sees it, with real
 * keys (docs/compatibility.md §4.4):
 *
 *   GET /api/users/<doubleName>   {"doubleName", "publicKey": base64 Ed25519}   (404 for unknown users)
 *   GET /?appid&publickey&state&redirecturl&scope
 *        what the phone app's approval ends in: a 302 back to `http://<appid><redirecturl>?signedAttempt=…`,
 *        the attempt Ed25519-signed by the approving user's key, its `data` a NaCl box for the hub's `publickey`
 *        holding the user's email (web-signin-peer.ts builds it exactly as the real service does)
 *
 * The test decides who approves the next sign-in and how it goes wrong (`approveAs(name, fault)`: a bad
 * signature, an unverified email, a tampered state, …) or cancels it (`?error=`). The hub's own key pair is
 * made here too: `workerVars()` are the Worker variables that point a hub at this stand-in.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import {
  type Fault,
  type PeerUser,
  makeHubKey,
  makeUser,
  signedAttempt,
  userRecord,
} from "../../worker/test/web-signin-peer.ts";

export type { Fault, PeerUser };

export interface TfconnectStandIn {
  url: string;
  /** The hub's X25519 key pair (base64); the private half goes to the Worker as HUB_TFCONNECT_PRIVATE_KEY. */
  hubKey: { privateKey: string; publicKey: string };
  /** HUB_TFCONNECT_URL and HUB_TFCONNECT_PRIVATE_KEY for `startStack({ workerVars })`. */
  workerVars(): Record<string, string>;
  /** Publishes a user (a fresh Ed25519 key) on /api/users/<doubleName>. */
  addUser(doubleName: string, email?: string): PeerUser;
  /** Who approves the next sign-ins, and what goes wrong (none by default). */
  approveAs(doubleName: string, fault?: Fault): void;
  /** The next sign-ins are cancelled in the app (`?error=CancelledByUser`). */
  cancel(): void;
  /** The login requests received (their query parameters), newest last. */
  logins: URLSearchParams[];
  stop(): Promise<void>;
}

export async function startTfconnect(): Promise<TfconnectStandIn> {
  const hubKey = makeHubKey();
  const users = new Map<string, PeerUser>();
  const logins: URLSearchParams[] = [];
  let approval: { user: string; fault?: Fault } | "cancel" | null = null;

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://stand-in");
    const send = (status: number, type: string, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "Content-Type": type, "Cache-Control": "no-store", ...headers });
      res.end(body);
    };
    if (req.method !== "GET") return send(405, "text/plain", "method not allowed\n");

    const userPath = /^\/api\/users\/([^/]+)$/.exec(url.pathname);
    if (userPath) {
      const user = users.get(decodeURIComponent(userPath[1]!));
      if (!user) return send(404, "application/json", JSON.stringify({ error: "user not found" }));
      return send(200, "application/json", JSON.stringify(userRecord(user)));
    }

    if (url.pathname === "/") {
      const q = url.searchParams;
      logins.push(q);
      const appid = q.get("appid");
      const publickey = q.get("publickey");
      const state = q.get("state");
      const redirecturl = q.get("redirecturl");
      if (!appid || !publickey || !state || !redirecturl || !redirecturl.startsWith("/")) {
        return send(400, "text/plain", "missing appid, publickey, state or redirecturl\n");
      }
      // The real service redirects to https://<appid><redirecturl>; the local hub speaks plain HTTP.
      const back = `http://${appid}${redirecturl}`;
      if (approval === "cancel") return send(302, "text/plain", "", { Location: `${back}?error=CancelledByUser` });
      const user = approval ? users.get(approval.user) : undefined;
      if (!approval || !user) return send(409, "text/plain", "no user set to approve this sign-in (approveAs)\n");
      const attempt = signedAttempt(user, { state, appId: appid, hubPublicKey: publickey, fault: approval.fault });
      return send(302, "text/plain", "", { Location: `${back}?signedAttempt=${encodeURIComponent(attempt)}` });
    }
    return send(404, "text/plain", "not found\n");
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    hubKey,
    workerVars: () => ({ HUB_TFCONNECT_URL: url, HUB_TFCONNECT_PRIVATE_KEY: hubKey.privateKey }),
    addUser(doubleName, email) {
      const user = makeUser(doubleName, email);
      users.set(doubleName, user);
      return user;
    },
    approveAs(doubleName, fault) {
      approval = { user: doubleName, fault };
    },
    cancel() {
      approval = "cancel";
    },
    logins,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
