/**
 * A TCP listener that records every connection it accepts, for proving that the hub never connected somewhere:
 * by default on `::` with IPv4 too (dual-stack), so it sees connections to 127.0.0.1, 127.x, ::1, 0.0.0.0 and the
 * machine's other local addresses on its port. `behaviour` says what an accepted connection gets: closed at once,
 * or a line of garbage (an open port that is not a registry).
 */
import net from "node:net";

export interface RecordingListener {
  port: number;
  /** Local addresses the accepted connections were made to (`::ffff:127.0.0.1`, `::1`, …). */
  connections: string[];
  close(): Promise<void>;
}

export async function startRecordingListener(options: { host?: string; port?: number; behaviour?: "close" | "garbage" } = {}): Promise<RecordingListener> {
  const connections: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections.push(socket.localAddress ?? "?");
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    if (options.behaviour === "garbage") socket.end("SSH-2.0-not-a-registry\r\n");
    else socket.destroy();
  });
  const host = options.host ?? "::";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: options.port ?? 0, host, ipv6Only: false }, () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
