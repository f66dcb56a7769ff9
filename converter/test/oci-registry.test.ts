/**
 * The registry side of image conversion against real registries (Debian's docker-registry on loopback): basic auth
 * (htpasswd, bcrypt), token auth (a token service signing ES256 JWTs with an x5c chain the registry trusts), the
 * Docker Hub mirror, allow/deny lists, HTTPS-only outside HUB_INSECURE_REGISTRIES, and the failures a user must
 * see clearly: unknown image, unknown tag, wrong or missing credentials, registry down, a blob that does not match
 * its digest. A failed conversion returns nothing (so nothing is published) and never echoes credentials.
 */
import { createServer, type Server } from "node:http";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { SignJWT, importPKCS8 } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConvertOptions, RegistryError, convertImage } from "../src/oci/index.ts";
import { type ChunkStore, openStore } from "../src/store/index.ts";
import { type RunningRedis, startRedis } from "./support/redis.ts";
import { IngestError } from "../src/ingest/index.ts";
import { startRecordingListener } from "./support/listener.ts";
import { describeTree, makeLayerTar, OciLayout, type RunningRegistry, blobPath, freePort, manifestDescriptor, pushRawImage, run, startRegistry } from "./support/registry.ts";

const USER = "alice";
const PASSWORD = "s3cret-Pa55word";
const WRONG = "wrong-Pa55word-123";

let redis: RunningRedis;
let store: ChunkStore;
let open: RunningRegistry;
let basic: RunningRegistry;
let tokenRegistry: RunningRegistry;
let tokenServer: Server;
/** host:port of the token service (plain HTTP on loopback, so it must be listed as insecure too). */
let realmHost: string;
let oci: OciLayout;
let certDir: string;
let tokenRequests = 0;

function options(registry: RunningRegistry, extra: Partial<ConvertOptions> = {}): ConvertOptions {
  return { store, threads: 1, policy: { insecure: [registry.host] }, ...extra };
}

async function rejection(promise: Promise<unknown>): Promise<RegistryError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof RegistryError) return err;
    throw err;
  }
  throw new Error("the conversion succeeded");
}

/** A token service as distribution's token auth expects: ES256 JWT, x5c = the certificate in the registry's bundle. */
async function startTokenService(service: string, issuer: string): Promise<{ server: Server; realm: string; certificate: string }> {
  certDir = await mkdtemp(join(tmpdir(), "zhub-token-"));
  await run("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
    "-subj", "/CN=zhub test token signer", "-keyout", join(certDir, "key.pem"), "-out", join(certDir, "cert.pem"),
  ]);
  const certificate = await readFile(join(certDir, "cert.pem"), "utf8");
  const der = certificate.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  const key = await importPKCS8(await readFile(join(certDir, "key.pem"), "utf8"), "ES256");
  const server = createServer((req, res) => {
    void (async () => {
      tokenRequests++;
      const url = new URL(req.url ?? "/", "http://localhost");
      const auth = req.headers.authorization ?? "";
      const given = auth.startsWith("Basic ") ? Buffer.from(auth.slice(6), "base64").toString("utf8") : undefined;
      if (given !== `${USER}:${PASSWORD}`) {
        res.writeHead(401, { "content-type": "application/json" }).end('{"details":"bad credentials"}');
        return;
      }
      // Valid users get what they ask for, except on "forbidden/…" repositories (a token without access).
      const access = url.searchParams.getAll("scope").map((scope) => {
        const [type, name, actions] = scope.split(":") as [string, string, string];
        return { type, name, actions: name.startsWith("forbidden/") ? [] : actions.split(",") };
      });
      const now = Math.floor(Date.now() / 1000);
      const token = await new SignJWT({ access })
        .setProtectedHeader({ alg: "ES256", typ: "JWT", x5c: [der] })
        .setIssuer(issuer)
        .setSubject(USER)
        .setAudience(url.searchParams.get("service") ?? "")
        .setIssuedAt(now)
        .setNotBefore(now - 10)
        .setExpirationTime(now + 300)
        .setJti(String(tokenRequests))
        .sign(key);
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token, expires_in: 300 }));
    })();
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { server, realm: `http://127.0.0.1:${port}/token`, certificate };
}

beforeAll(async () => {
  const token = await startTokenService("zhub-test-registry", "zhub-test-issuer");
  tokenServer = token.server;
  realmHost = new URL(token.realm).host;
  [redis, open, basic, tokenRegistry, oci] = await Promise.all([
    startRedis(),
    startRegistry(),
    startRegistry({ basic: { username: USER, password: PASSWORD } }),
    startRegistry({ token: { realm: token.realm, service: "zhub-test-registry", issuer: "zhub-test-issuer", certificate: token.certificate } }),
    OciLayout.create(),
  ]);
  store = await openStore(redis.url);
  await oci.newImage("small");
  await oci.addLayer("small", [{ name: "hello.txt", data: "hello from a small image\n" }]);
  await oci.config("small", ["--config.cmd", "/hello"]);
  await oci.newImage("corrupt");
  await oci.addLayer("corrupt", [{ name: "victim.bin", data: Buffer.alloc(200_000, 7) }]);
  await oci.push("small", `${open.host}/test/small:v1`);
  await oci.push("small", `${open.host}/library/small:latest`);
  await oci.push("corrupt", `${open.host}/test/corrupt:v1`);
  await oci.push("small", `${basic.host}/private/small:v1`, { creds: `${USER}:${PASSWORD}` });
  await oci.push("small", `${tokenRegistry.host}/private/small:v1`, { creds: `${USER}:${PASSWORD}` });
}, 180_000);

afterAll(async () => {
  await store?.close();
  await Promise.all([redis?.stop(), open?.stop(), basic?.stop(), tokenRegistry?.stop(), oci?.remove()]);
  await new Promise<void>((resolve) => (tokenServer ? tokenServer.close(() => resolve()) : resolve()));
  if (certDir) await rm(certDir, { recursive: true, force: true });
});

describe("registry authentication", () => {
  it("basic auth (htpasswd): pulls with the right credentials, clear errors otherwise, never echoing them", async () => {
    const image = `${basic.host}/private/small:v1`;
    const ok = await convertImage(image, options(basic, { credentials: { username: USER, password: PASSWORD } }));
    expect(ok.metadata.get("entrypoint")).toBe('["/hello"]');
    const wrong = await rejection(convertImage(image, options(basic, { credentials: { username: USER, password: WRONG } })));
    expect(wrong.code).toBe("unauthorized");
    expect(wrong.message).toBe(`registry ${basic.host} refused the credentials given for ${basic.host}/private/small:v1`);
    const none = await rejection(convertImage(image, options(basic)));
    expect(none.code).toBe("unknown-image");
    expect(none.message).toMatch(/does not exist or is private \(no credentials were given\)/);
    for (const err of [wrong, none]) {
      const text = `${err.message} ${String(err.stack)} ${JSON.stringify(err)}`;
      for (const secret of [PASSWORD, WRONG, Buffer.from(`${USER}:${WRONG}`).toString("base64")]) expect(text).not.toContain(secret);
    }
  });

  it("token auth (WWW-Authenticate: Bearer realm, service, scope): token fetched with the credentials, then the pull", async () => {
    const image = `${tokenRegistry.host}/private/small:v1`;
    const credentials = { username: USER, password: PASSWORD };
    // The realm is another host: credentials go there only over HTTPS or to a listed insecure host.
    const plain = await rejection(convertImage(image, options(tokenRegistry, { credentials })));
    expect(plain).toMatchObject({ code: "registry-error", message: expect.stringContaining(`http://${realmHost} is not HTTPS`) });
    const before = tokenRequests;
    const policy = { insecure: [tokenRegistry.host, realmHost] };
    const ok = await convertImage(image, options(tokenRegistry, { credentials, policy }));
    expect(ok.metadata.get("entrypoint")).toBe('["/hello"]');
    expect(tokenRequests).toBe(before + 1); // one token for the manifest and every blob
    const wrong = await rejection(convertImage(image, options(tokenRegistry, { credentials: { username: USER, password: WRONG }, policy })));
    expect(wrong.code).toBe("unauthorized");
    expect(wrong.message).not.toContain(WRONG);
    const none = await rejection(convertImage(image, options(tokenRegistry, { policy })));
    expect(none.code).toBe("authentication-required");
    // A bearer token the caller already has is sent as it is; a bad one is refused as wrong credentials.
    const forbidden = await rejection(convertImage(`${tokenRegistry.host}/forbidden/small:v1`, options(tokenRegistry, { credentials, policy })));
    expect(forbidden).toMatchObject({ code: "denied", message: `${tokenRegistry.host}/forbidden/small:v1 does not exist or the credentials given do not allow pulling it` });
    const badToken = await rejection(convertImage(image, options(tokenRegistry, { credentials: { token: "not-a-valid-token" }, policy })));
    expect(badToken.code).toBe("unauthorized");
    expect(badToken.message).not.toContain("not-a-valid-token");
  });

  it("credentials must be {username, password} or {token}", async () => {
    const bad = await rejection(
      convertImage(`${open.host}/test/small:v1`, options(open, { credentials: { username: USER } as never })),
    );
    expect(bad.code).toBe("invalid-reference");
  });
});

describe("registry configuration", () => {
  it("Docker Hub references go to the configured mirror (`small` = docker.io/library/small:latest)", async () => {
    const result = await convertImage("small", { store, threads: 1, policy: { dockerHubMirror: `http://${open.host}`, insecure: [open.host] } });
    expect(result.name).toBe("small-latest.flist");
    expect(result.image.reference).toBe("docker.io/library/small:latest");
    expect(result.metadata.get("image")).toBe(`docker.io/library/small@${result.image.manifestDigest}`);
  });

  it("plain HTTP only for HUB_INSECURE_REGISTRIES: HTTPS otherwise, with no fallback", async () => {
    // Loopback is allowed here by address (HUB_OUTBOUND_ALLOW), not as an insecure registry: HTTPS is tried, fails.
    const err = await rejection(convertImage(`${open.host}/test/small:v1`, { store, threads: 1, policy: { outboundAllow: ["127.0.0.0/8"] } }));
    expect(err).toMatchObject({ code: "unreachable", message: `could not reach registry ${open.host}` });
    // The reason is kept for the operator's log only.
    expect(err.detail).toMatch(/TLS failed \(.+\); a plain-HTTP registry must be listed in HUB_INSECURE_REGISTRIES/);
    const mirror = await rejection(convertImage("small", { store, threads: 1, policy: { dockerHubMirror: `http://${open.host}` } }));
    expect(mirror.code).toBe("registry-not-allowed");
  });

  it("allow and deny lists", async () => {
    const denied = await rejection(convertImage(`${open.host}/test/small:v1`, options(open, { policy: { insecure: [open.host], deny: [open.host] } })));
    expect(denied).toMatchObject({ code: "registry-not-allowed", message: `registry ${open.host} is not allowed on this hub` });
    const notAllowed = await rejection(convertImage(`${open.host}/test/small:v1`, options(open, { policy: { insecure: [open.host], allow: ["docker.io", "*.example.com"] } })));
    expect(notAllowed.code).toBe("registry-not-allowed");
    const allowed = await convertImage(`${open.host}/test/small:v1`, options(open, { policy: { insecure: [open.host], allow: [open.host] } }));
    expect(allowed.stats.regular).toBe(1);
  });
});

describe("redirects and cancellation", () => {
  /** A loopback server; `handle` answers each request. */
  async function serve(handle: (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => Promise<void>) {
    const server = createServer((req, res) => void handle(req, res).catch(() => res.destroy()));
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    return { host: `127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) };
  }

  it("follows redirects (blob storage), keeps Authorization on the registry's origin, and checks every hop's scheme", async () => {
    const seen: Array<{ where: string; authorization: string | undefined }> = [];
    // The "storage" origin: records what it is sent and forwards to the real registry.
    const storage = await serve(async (req, res) => {
      seen.push({ where: "storage", authorization: req.headers.authorization });
      const upstream = await fetch(`http://${open.host}${req.url ?? "/"}`, { headers: { accept: req.headers.accept ?? "*/*" } });
      res.writeHead(upstream.status, Object.fromEntries([...upstream.headers].filter(([k]) => k !== "content-encoding")));
      res.end(Buffer.from(await upstream.arrayBuffer()));
    });
    // The "registry" origin: answers everything with a 307 to storage.
    const front = await serve(async (req, res) => {
      seen.push({ where: "front", authorization: req.headers.authorization });
      res.writeHead(307, { location: `http://${storage.host}${req.url ?? "/"}` }).end();
    });
    try {
      const image = `${front.host}/test/small:v1`;
      const ok = await convertImage(image, { store, threads: 1, credentials: { token: "caller-token" }, policy: { insecure: [front.host, storage.host] } });
      expect(ok.metadata.get("entrypoint")).toBe('["/hello"]');
      expect(seen.filter((s) => s.where === "front").every((s) => s.authorization === "Bearer caller-token")).toBe(true);
      expect(seen.filter((s) => s.where === "storage").length).toBeGreaterThan(0);
      expect(seen.filter((s) => s.where === "storage").every((s) => s.authorization === undefined)).toBe(true);
      // A hop to a plain-HTTP host that is not listed is refused.
      const err = await rejection(convertImage(image, { store, threads: 1, policy: { insecure: [front.host] } }));
      expect(err).toMatchObject({ code: "registry-error", message: `a redirect of registry ${front.host} to http://${storage.host} is not HTTPS (plain HTTP only for HUB_INSECURE_REGISTRIES)` });
    } finally {
      await Promise.all([front.close(), storage.close()]);
    }
  });

  it("non-public registries, token realms and redirect hops are refused before any connection", async () => {
    const listener = await startRecordingListener();
    const target = `127.0.0.1:${listener.port}`;
    // An insecure-listed "registry" that sends the client elsewhere: a redirect, or a token realm, on loopback.
    const front = await serve(async (req, res) => {
      if (req.url?.includes("/redirected/")) res.writeHead(307, { location: `https://localhost:${listener.port}/blob` }).end();
      else res.writeHead(401, { "www-authenticate": `Bearer realm="https://${target}/token",service="x"` }).end();
    });
    try {
      const policy = { insecure: [front.host] };
      const direct = await rejection(convertImage(`${target}/test/small:v1`, { store, threads: 1, policy }));
      expect(direct).toMatchObject({ code: "registry-not-allowed", message: `registry ${target} is not allowed: 127.0.0.1 is a loopback address, which this hub does not connect to` });
      const named = await rejection(convertImage(`localhost:${listener.port}/test/small:v1`, { store, threads: 1, policy }));
      expect(named).toMatchObject({ code: "registry-not-allowed", message: `registry localhost:${listener.port} is not allowed: localhost resolves to an address this hub does not connect to` });
      expect(named.detail).toMatch(/^localhost resolved to (127\.0\.0\.1|::1) \(loopback\)$/);
      const redirected = await rejection(convertImage(`${front.host}/redirected/small:v1`, { store, threads: 1, policy }));
      expect(redirected).toMatchObject({
        code: "registry-not-allowed",
        message: `localhost:${listener.port} (a redirect of registry ${front.host}) is not allowed: localhost resolves to an address this hub does not connect to`,
      });
      const realm = await rejection(convertImage(`${front.host}/test/small:v1`, { store, threads: 1, policy }));
      expect(realm).toMatchObject({ code: "registry-not-allowed", message: `the token service of ${front.host} (${target}) is not allowed: 127.0.0.1 is a loopback address, which this hub does not connect to` });
      expect(listener.connections).toEqual([]);
    } finally {
      await Promise.all([front.close(), listener.close()]);
    }
  });

  it("a cancelled conversion stops and rejects with the signal's reason", async () => {
    const controller = new AbortController();
    const reason = new Error("job cancelled");
    const err = await convertImage(`${open.host}/test/corrupt:v1`, {
      ...options(open),
      signal: controller.signal,
      onProgress: (e) => {
        if (e.message.startsWith("Downloading layer 1")) controller.abort(reason);
      },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBe(reason);
    const already = new AbortController();
    already.abort(reason);
    await expect(convertImage(`${open.host}/test/small:v1`, { ...options(open), signal: already.signal })).rejects.toBe(reason);
  });

  it("a cancellation as the build starts rejects once, with nothing left unhandled (which would end a Node process)", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const controller = new AbortController();
      const reason = new Error("job cancelled");
      const conversion = convertImage(`${open.host}/test/small:v1`, {
        ...options(open),
        signal: controller.signal,
        onProgress: (e) => {
          if (e.message.startsWith("Building flist")) controller.abort(reason);
        },
      });
      await expect(conversion).rejects.toBe(reason);
      await new Promise((r) => setTimeout(r, 100)); // unhandled rejections are reported after a turn of the loop
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});

describe("failures are clear and return nothing", () => {
  it("unknown image, unknown tag, unknown digest", async () => {
    const image = await rejection(convertImage(`${open.host}/test/nothing-here:v1`, options(open)));
    expect(image).toMatchObject({ code: "unknown-image", message: `${open.host}/test/nothing-here:v1: no such image on ${open.host}` });
    const tag = await rejection(convertImage(`${open.host}/test/small:v9`, options(open)));
    expect(tag).toMatchObject({ code: "unknown-tag", message: `${open.host}/test/small:v9: no such tag or digest (the repository exists)` });
    const digest = await rejection(convertImage(`${open.host}/test/small@sha256:${"0".repeat(64)}`, options(open)));
    expect(digest.code).toBe("unknown-tag");
  });

  it("registry down", async () => {
    const port = await freePort();
    const err = await rejection(convertImage(`127.0.0.1:${port}/test/small:v1`, { store, threads: 1, policy: { insecure: [`127.0.0.1:${port}`] } }));
    expect(err).toMatchObject({ code: "unreachable", message: `could not reach registry 127.0.0.1:${port}`, detail: "connection refused (ECONNREFUSED)" });
  });

  it("an open port that is not a registry and a closed one give the same answer (no port-scan oracle)", async () => {
    const listener = await startRecordingListener({ host: "127.0.0.1", behaviour: "garbage" });
    const closed = await freePort();
    try {
      const messages: string[] = [];
      for (const insecure of [true, false]) {
        for (const port of [listener.port, closed]) {
          const host = `127.0.0.1:${port}`;
          const policy = insecure ? { insecure: [host] } : { outboundAllow: ["127.0.0.1"] };
          const err = await rejection(convertImage(`${host}/test/small:v1`, { store, threads: 1, policy }));
          expect(err.code).toBe("unreachable");
          messages.push(err.message.replace(String(port), "PORT"));
        }
      }
      expect(new Set(messages)).toEqual(new Set(["could not reach registry 127.0.0.1:PORT"]));
      expect(listener.connections.length).toBe(2);
    } finally {
      await listener.close();
    }
  });

  it("a registry that stops sending in the middle of a blob fails the conversion instead of hanging", async () => {
    // A loopback proxy in front of the real registry that forwards everything but stops blob bodies after 64 KiB.
    const proxy = createServer((req, res) => {
      void (async () => {
        const upstream = await fetch(`http://${open.host}${req.url ?? "/"}`, { headers: { accept: req.headers.accept ?? "*/*" } });
        const headers = Object.fromEntries([...upstream.headers].filter(([k]) => k !== "content-encoding"));
        res.writeHead(upstream.status, headers);
        if (!/\/blobs\/sha256:/.test(req.url ?? "") || upstream.body === null) {
          res.end(Buffer.from(await upstream.arrayBuffer()));
          return;
        }
        let sent = 0;
        for await (const chunk of upstream.body as unknown as AsyncIterable<Uint8Array>) {
          const take = Math.min(chunk.byteLength, 65536 - sent);
          if (take > 0) res.write(chunk.subarray(0, take));
          sent += take;
          if (sent >= 65536) break; // …and never end the response
        }
      })();
    });
    const port = await freePort();
    await new Promise<void>((resolve) => proxy.listen(port, "127.0.0.1", resolve));
    try {
      const host = `127.0.0.1:${port}`;
      await oci.newImage("stall");
      await oci.addLayer("stall", [{ name: "noise.bin", data: (await import("node:crypto")).randomBytes(1_000_000) }]);
      await oci.push("stall", `${open.host}/test/stall:v1`);
      const started = Date.now();
      const err = await rejection(convertImage(`${host}/test/stall:v1`, { store, threads: 1, timeoutMs: 500, policy: { insecure: [host] } }));
      expect(err.code).toBe("unreachable");
      expect(err.message).toMatch(new RegExp(`registry ${host} stopped sending blob sha256:[0-9a-f]{64} of ${host}/test/stall:v1`));
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });

  it("a layer blob that does not match its digest fails the conversion", async () => {
    // Uncompressed layer: the tar still reads after the change, so only the digest check can catch it.
    const tarBytes = await makeLayerTar([{ name: "victim.txt", data: "x".repeat(5000) }]);
    const pushed = await pushRawImage(open.host, "test/tampered", "v1", [{ bytes: tarBytes, mediaType: "application/vnd.oci.image.layer.v1.tar" }], {});
    const digest = (pushed.layers[0] as { digest: string }).digest;
    const file = blobPath(open.storage, digest);
    const bytes = await readFile(file);
    bytes[600] = "y".charCodeAt(0); // inside victim.txt's content
    await writeFile(file, bytes);
    const err = await rejection(convertImage(`${open.host}/test/tampered:v1`, options(open)));
    expect(err).toMatchObject({ code: "digest-mismatch", message: expect.stringContaining(`blob ${digest} does not match its digest`) });

    // gzip layer (skopeo-pushed): whichever notices first, the gzip check or the digest, the error names the layer.
    const manifest = await manifestDescriptor(open.host, "test/corrupt", "v1");
    const layer = (manifest.body as { layers: { digest: string }[] }).layers[0] as { digest: string };
    const gz = await readFile(blobPath(open.storage, layer.digest));
    gz[gz.length - 12] = (gz[gz.length - 12] as number) ^ 0xff;
    await writeFile(blobPath(open.storage, layer.digest), gz);
    const gzErr = await rejection(convertImage(`${open.host}/test/corrupt:v1`, options(open)));
    expect(["digest-mismatch", "bad-layer"]).toContain(gzErr.code);
    expect(gzErr.message).toContain(layer.digest);
  });
});

describe("layer encodings and hostile layers", () => {
  it("uncompressed (application/vnd.oci.image.layer.v1.tar) layers, whiteouts across them; empty layers (0 bytes, gzip'd empty tar)", async () => {
    const one = await makeLayerTar([
      { name: "app/", type: "directory" },
      { name: "app/run.sh", data: "#!/bin/sh\n", mode: 0o755 },
      { name: "app/old.txt", data: "old\n" },
    ]);
    const two = await makeLayerTar([{ name: "app/.wh.old.txt" }, { name: "app/new.txt", data: "new\n", uid: 7, gid: 8 }]);
    const type = "application/vnd.oci.image.layer.v1.tar";
    const gzipEmpty = { bytes: gzipSync(Buffer.alloc(1024)), mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip" };
    const zeroBytes = { bytes: Buffer.alloc(0), mediaType: type };
    await pushRawImage(open.host, "test/plain", "v1", [{ bytes: one, mediaType: type }, zeroBytes, gzipEmpty, { bytes: two, mediaType: type }], {
      config: { Entrypoint: ["/app/run.sh"], Env: ["A=1"] },
    });
    const result = await convertImage(`${open.host}/test/plain:v1`, options(open));
    const tree = await describeTree(result.tree.root, store);
    expect([...tree.keys()]).toEqual(["app", "app/new.txt", "app/run.sh"]);
    expect(tree.get("app/new.txt")).toMatch(/^file 644 7:8 size=4 /);
    expect(result.metadata.get("entrypoint")).toBe('["/app/run.sh"]');
    expect(result.metadata.get("environ")).toBe('{"A": "1"}');
    expect(result.stats.layers).toBe(4);
  });

  it("every layer is read with the hostile-archive rules: traversal is refused, the layer named, nothing returned", async () => {
    const good = await makeLayerTar([{ name: "ok.txt", data: "fine\n" }]);
    const evil = await makeLayerTar([{ name: "../../etc/cron.d/evil", data: "* * * * * root sh\n" }]);
    const type = "application/vnd.oci.image.layer.v1.tar";
    const pushed = await pushRawImage(open.host, "test/evil", "v1", [{ bytes: good, mediaType: type }, { bytes: evil, mediaType: type }], {});
    const err = await convertImage(`${open.host}/test/evil:v1`, options(open)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(IngestError);
    const layer = `layer 2 (${(pushed.layers[1] as { digest: string }).digest})`;
    expect(err).toMatchObject({ rule: "dot-dot", entry: "../../etc/cron.d/evil", layer });
    expect((err as Error).message).toBe(`${layer}: "../../etc/cron.d/evil": '..' path components are not allowed [rule: dot-dot]`);
  });
});
