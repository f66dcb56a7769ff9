/**
 * A 0-db server in front of a ChunkStore: what `npm start` listens with on the flists' `backend` address, so that
 * Zero-OS nodes, zflist and `zhub flist check/get` read the chunks the local hub stores (in its file store).
 *
 * It speaks what real readers and writers send (docs/zdb.md has the replies observed from 0-db 2.0.7 and from
 * zflist): PING, GET, EXISTS, SET/SETX, SELECT <ns> [password | SECURE <sha1>], AUTH, INFO, NSLIST; anything else is
 * `-Command not supported`, as 0-db answers. The chunks live in one namespace (`default`, or the one of
 * HUB_BACKEND); with a password, reads stay public and writes need `SELECT <ns> <password>` (how hub.grid.tf runs
 * 0-db). A named namespace leaves `default` empty and read-only, like 0-db started with `--protect`. There is no
 * admin: namespaces are fixed by the configuration, so AUTH is always refused (as by a 0-db whose admin password
 * nobody has) and there is no DEL.
 *
 * Each connection answers in request order; reads run concurrently, operations on one key in order.
 */
import { createHash, randomBytes } from "node:crypto";
import net from "node:net";
import { type Reply, RequestReader, RespProtocolError, reply } from "./resp-requests.ts";
import type { ChunkStore } from "./types.ts";

/** 0-db's key limit (`libzdb/index.h`). */
const MAX_KEY_BYTES = 255;
/** 0-db's namespace password limit. */
const MAX_PASSWORD_BYTES = 255;
/** Requests of one connection being answered before we stop reading from it. */
const MAX_IN_FLIGHT = 64;
/** Request bytes of one connection held before we stop reading from it. */
const MAX_IN_FLIGHT_BYTES = 32 * 1024 * 1024;

export interface ZdbServerOptions {
  /** Where the chunks are (the file store of `npm start`). */
  store: ChunkStore;
  host: string;
  port: number;
  /** The namespace that holds the chunks (default `default`). */
  namespace?: string;
  /** Its password: needed to write (`SELECT <ns> <password>`), never to read. */
  password?: string | null;
  /** A store failure while answering (the client gets `-Internal error`). */
  onError?: (err: Error) => void;
}

interface Namespace {
  name: string;
  password: string | null;
  /**
   * null: the empty `default` next to a named chunk namespace, read-only and refusing every password (0-db's
   * `default` under `--protect`, whose admin password nobody has here).
   */
  store: ChunkStore | null;
}

interface Session {
  ns: Namespace;
  writable: boolean;
  /** One-shot challenge of `AUTH SECURE CHALLENGE`, for `SELECT <ns> SECURE <sha1>`. */
  challenge: string | null;
}

const text = (b: Buffer): string => b.toString("latin1");

export class ZdbServer {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly namespaces: Namespace[];
  private readonly bootTime = Math.floor(Date.now() / 1000);
  private readonly instanceId = randomBytes(4).readUInt32BE() % 10_000_000;
  private clients = 0;
  private commands = 0;
  private failed = 0;

  private constructor(private readonly options: ZdbServerOptions, readonly host: string, readonly port: number, server: net.Server) {
    this.server = server;
    const name = options.namespace ?? "default";
    const chunks: Namespace = { name, password: options.password ?? null, store: options.store };
    this.namespaces = name === "default" ? [chunks] : [{ name: "default", password: null, store: null }, chunks];
    server.on("connection", (socket) => this.accept(socket));
  }

  /** Listens on host:port; a port already taken (or an address not on this machine) is a clear error. */
  static async start(options: ZdbServerOptions): Promise<ZdbServer> {
    const ns = options.namespace ?? "default";
    if (Buffer.byteLength(ns) > 128 || ns.length === 0) throw new Error(`0-db namespace must be 1 to 128 bytes: ${JSON.stringify(ns)}`);
    if (options.password != null && (options.password.length === 0 || Buffer.byteLength(options.password) > MAX_PASSWORD_BYTES)) {
      throw new Error(`0-db namespace password must be 1 to ${MAX_PASSWORD_BYTES} bytes`);
    }
    const server = net.createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        const where = `${options.host}:${options.port}`;
        if (err.code === "EADDRINUSE") reject(new Error(`${where} is already in use`, { cause: err }));
        else if (err.code === "EADDRNOTAVAIL") reject(new Error(`${where} is not an address of this machine`, { cause: err }));
        else reject(new Error(`cannot listen on ${where} (${err.message})`, { cause: err }));
      };
      server.once("error", onError);
      server.listen(options.port, options.host, () => {
        server.off("error", onError);
        resolve();
      });
    });
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : options.port;
    return new ZdbServer(options, options.host, port, server);
  }

  /** `host:port` it listens on (IPv6 hosts in brackets). */
  get address(): string {
    return `${this.host.includes(":") ? `[${this.host}]` : this.host}:${this.port}`;
  }

  /** Stops listening and drops every connection. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    this.clients++;
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => {}); // a client going away mid-reply is not our failure
    new Connection(this, socket);
  }

  /** The namespace a connection starts in. */
  initialSession(): Session {
    const ns = this.namespaces[0]!;
    return { ns, writable: ns.store !== null && ns.password === null, challenge: null };
  }

  namespace(name: string): Namespace | undefined {
    return this.namespaces.find((n) => n.name === name);
  }

  namespaceNames(): string[] {
    return this.namespaces.map((n) => n.name);
  }

  count(failed: boolean): void {
    this.commands++;
    if (failed) this.failed++;
  }

  storeFailed(err: Error): void {
    this.options.onError?.(err);
  }

  info(): Buffer {
    const now = Math.floor(Date.now() / 1000);
    return Buffer.from(
      [
        "# server",
        "server_name: 0-db (zdb)",
        "server_revision: zos-hub",
        "engine_revision: zos-hub",
        `instance_id: ${this.instanceId}`,
        `boot_time: ${this.bootTime}`,
        `uptime: ${now - this.bootTime}`,
        "",
        "# clients",
        `clients_lifetime: ${this.clients}`,
        "",
        "# stats",
        `commands_executed: ${this.commands}`,
        `commands_failed: ${this.failed}`,
        "",
      ].join("\n"),
      "latin1",
    );
  }
}

/** One client: requests parsed as they arrive, answered in order. */
class Connection {
  private readonly reader = new RequestReader();
  private session: Session;
  /** Replies in request order; the head is written as soon as it is ready. */
  private writing: Promise<void> = Promise.resolve();
  private inFlight = 0;
  private inFlightBytes = 0;
  /** The last operation on each key, so that a GET pipelined after a SET of the same key sees it. */
  private readonly lastOnKey = new Map<string, Promise<unknown>>();
  private ended = false;

  constructor(private readonly server: ZdbServer, private readonly socket: net.Socket) {
    this.session = server.initialSession();
    socket.on("data", (data: Buffer) => this.receive(data));
    socket.on("close", () => { this.ended = true; });
  }

  private receive(data: Buffer): void {
    if (this.ended) return;
    const { requests, error } = this.reader.push(data);
    for (const args of requests) {
      let answer: Promise<Reply>;
      try {
        const result = this.command(args);
        answer = result instanceof Promise ? result : Promise.resolve(result);
      } catch (err) {
        answer = Promise.reject(err as Error);
      }
      this.enqueue(answer, args.reduce((n, a) => n + a.length, 0));
    }
    if (error) {
      // The stream cannot be resynchronised: answer as 0-db does, after what is already queued, then hang up.
      this.ended = true;
      this.socket.pause();
      this.enqueue(Promise.resolve(reply.error(error.message)), 0);
      this.writing = this.writing.then(() => { this.socket.end(); });
    }
  }

  private enqueue(answer: Promise<Reply>, bytes: number): void {
    this.inFlight++;
    this.inFlightBytes += bytes;
    if (this.inFlight >= MAX_IN_FLIGHT || this.inFlightBytes >= MAX_IN_FLIGHT_BYTES) this.socket.pause();
    const settled = answer.then(
      (r) => r,
      (err: Error) => {
        this.server.storeFailed(err);
        return reply.error("Internal error");
      },
    );
    this.writing = this.writing.then(async () => {
      const r = await settled;
      this.server.count(r[0]![0] === 0x2d); // "-": an error reply
      this.inFlight--;
      this.inFlightBytes -= bytes;
      if (this.socket.destroyed) return;
      let ok = true;
      for (const piece of r) ok = this.socket.write(piece);
      if (!ok) {
        await new Promise<void>((resolve) => {
          const done = () => {
            this.socket.off("drain", done);
            this.socket.off("close", done);
            resolve();
          };
          this.socket.on("drain", done);
          this.socket.on("close", done);
        });
      }
      if (!this.ended && this.inFlight < MAX_IN_FLIGHT && this.inFlightBytes < MAX_IN_FLIGHT_BYTES) this.socket.resume();
    });
  }

  /** Runs `op` after the earlier operations of this connection on `key`. */
  private onKey<T>(key: Buffer, op: () => Promise<T>): Promise<T> {
    const id = key.toString("hex");
    const before = this.lastOnKey.get(id);
    const run = before ? before.then(op, op) : op();
    const tracked = run.catch(() => {});
    this.lastOnKey.set(id, tracked);
    void tracked.then(() => { if (this.lastOnKey.get(id) === tracked) this.lastOnKey.delete(id); });
    return run;
  }

  /** A reply now, or the promise of one (store access). */
  private command(args: Buffer[]): Reply | Promise<Reply> {
    const name = text(args[0]!).toUpperCase();
    switch (name) {
      case "":
        return reply.error("This is not a valid command");
      case "PING":
        return reply.status("PONG");
      case "GET":
      case "EXISTS": {
        if (args.length !== 2) return reply.error("Unexpected arguments");
        const key = args[1]!;
        if (key.length === 0) return reply.error("Invalid argument");
        if (key.length > MAX_KEY_BYTES) return reply.error("Invalid key");
        const store = this.session.ns.store;
        if (name === "EXISTS") {
          if (!store) return reply.integer(0);
          return this.onKey(key, async () => reply.integer((await store.exists([key]))[0] ? 1 : 0));
        }
        if (!store) return reply.nil();
        return this.onKey(key, async () => {
          const value = await store.get(key);
          return value === null ? reply.nil() : reply.bulk(value);
        });
      }
      case "SET":
      case "SETX":
        return this.set(args);
      case "SELECT":
        return this.select(args);
      case "AUTH":
        return this.auth(args);
      case "INFO":
        return reply.bulk(this.server.info());
      case "NSLIST":
        return reply.array(this.server.namespaceNames().map((n) => reply.bulk(Buffer.from(n))));
      case "NSNEW":
      case "NSDEL":
      case "NSSET":
        return reply.error("Permission denied");
      default:
        return reply.error("Command not supported");
    }
  }

  /** 0-db's order of checks: arguments, timestamp (admin only), key size, read-only, empty key. */
  private set(args: Buffer[]): Reply | Promise<Reply> {
    if (args.length === 4) return reply.error("Permission denied");
    if (args.length !== 3) return reply.error("Unexpected arguments");
    const [, key, value] = args as [Buffer, Buffer, Buffer];
    if (key.length > MAX_KEY_BYTES) return reply.error("Key too large");
    const { ns, writable } = this.session;
    if (!writable || !ns.store) return reply.error("Namespace is in read-only mode");
    if (key.length === 0) return reply.error("Invalid argument, key needed");
    const store = ns.store;
    return this.onKey(key, async () => {
      // 0-db answers nil when the value is already there, unchanged.
      const current = await store.get(key);
      if (current !== null && Buffer.from(current.buffer, current.byteOffset, current.byteLength).equals(value)) return reply.nil();
      await store.put(key, value);
      return reply.bulk(key);
    });
  }

  private select(args: Buffer[]): Reply {
    if (args.length < 2) return reply.error("Invalid argument");
    const ns = this.server.namespace(text(args[1]!));
    if (!ns) return reply.error("Namespace not found");
    if (args.length > 4) return reply.error("Too many arguments");
    if (args.length === 4) {
      if (text(args[2]!).toUpperCase() !== "SECURE") return reply.error("Only SECURE extra method supported");
      const challenge = this.session.challenge;
      if (challenge === null) return reply.error("No CHALLENGE requested, secure authentication not available");
      const hash = text(args[3]!).toLowerCase();
      if (hash.length !== 40) return reply.error("Invalid hash length");
      this.session.challenge = null;
      if (!ns.store) return reply.error("Access denied");
      if (ns.password !== null && createHash("sha1").update(`${challenge}:${ns.password}`).digest("hex") !== hash) {
        return reply.error("Access denied");
      }
      return this.enter(ns, true);
    }
    if (args.length === 3) {
      if (args[2]!.length > MAX_PASSWORD_BYTES) return reply.error("Password too long");
      if (!ns.store || (ns.password !== null && text(args[2]!) !== ns.password)) return reply.error("Access denied");
      return this.enter(ns, true);
    }
    // Without a password: a namespace with one is public (read-only), as hub.grid.tf runs it.
    return this.enter(ns, ns.password === null);
  }

  private enter(ns: Namespace, writable: boolean): Reply {
    this.session = { ns, writable: writable && ns.store !== null, challenge: this.session.challenge };
    return reply.status("OK");
  }

  /** No admin here: refused like a 0-db whose admin password nobody has (the challenge serves SELECT … SECURE). */
  private auth(args: Buffer[]): Reply {
    if (args.length === 2) return reply.error("Access denied");
    if (args.length !== 3) return reply.error("Unexpected arguments");
    if (text(args[1]!).toUpperCase() !== "SECURE") return reply.error("Only SECURE extra method supported");
    if (text(args[2]!).toUpperCase() === "CHALLENGE") {
      this.session.challenge = randomBytes(8).toString("hex");
      return reply.status(this.session.challenge);
    }
    if (this.session.challenge === null) return reply.error("No CHALLENGE requested, secure authentication not available");
    this.session.challenge = null;
    return reply.error("Access denied");
  }
}
