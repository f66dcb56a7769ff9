/**
 * The local front (scripts/lib/front.ts) before a stand-in upstream: requests without a body reuse kept-alive
 * connections to the upstream, and one sent on a connection the upstream drops at that moment (as workerd does when
 * its pipeline timeout ends) is sent again on a new connection, so the client never sees the race; a request with
 * a body gets a connection of its own. The upstream here is a node:http server that counts its connections.
 */
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Front, startFront } from "../scripts/lib/front.ts";

let upstream: http.Server;
let front: Front;
const sockets = new Set<Socket>();
/** Requests answered per connection, in order of the connections. */
const served = new Map<Socket, number>();
/** When set, the next request that arrives on an already used connection is dropped with its connection. */
let dropReused = false;
let dropped = 0;

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    const socket = req.socket;
    const count = served.get(socket) ?? 0;
    if (dropReused && count > 0) {
      dropReused = false;
      dropped++;
      socket.destroy();
      return;
    }
    served.set(socket, count + 1);
    let body = 0;
    req.on("data", (d: Buffer) => (body += d.length));
    req.on("end", () => res.end(JSON.stringify({ method: req.method, body, connection: req.headers.connection ?? null })));
  });
  upstream.keepAliveTimeout = 60_000;
  upstream.on("connection", (s: Socket) => sockets.add(s));
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  front = await startFront({ host: "127.0.0.1", port: 0, upstreamPort: (upstream.address() as AddressInfo).port });
});

afterAll(async () => {
  await front?.close();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
});

describe("the local front", () => {
  it("reuses kept-alive upstream connections for requests without a body", async () => {
    const before = sockets.size;
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${front.url}/x/${i}`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ method: "GET", body: 0, connection: "keep-alive" });
    }
    expect(sockets.size - before).toBe(1);
  });

  it("sends a request again on a new connection when the upstream drops the reused one", async () => {
    await (await fetch(`${front.url}/warm`)).arrayBuffer();
    const before = sockets.size;
    dropReused = true;
    const res = await fetch(`${front.url}/after-drop`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ method: "GET" });
    expect(dropped).toBe(1);
    expect(sockets.size - before).toBe(1);
  });

  it("gives a request with a body a connection of its own", async () => {
    const before = sockets.size;
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${front.url}/upload`, { method: "PUT", body: "x".repeat(1000) });
      expect(await res.json()).toEqual({ method: "PUT", body: 1000, connection: "close" });
    }
    expect(sockets.size - before).toBe(3);
  });
});
