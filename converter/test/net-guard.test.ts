/**
 * The outbound-connection guard (converter/src/net, docs/outbound.md): every spelling of an internal address is
 * recognised, names are resolved and refused when any answer is not public, the operator's exceptions work, and
 * the guarded fetch never opens a connection to a refused host (a recording listener on the loopback port proves
 * it), connects to exactly the address it checked (DNS rebinding), and keeps the name for TLS.
 */
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type LookupAll,
  OutboundGuard,
  OutboundRefusedError,
  classifyHost,
  formatIp,
  guardedFetch,
  inCidr,
  outboundAllowFromEnv,
  outboundRefusal,
  parseCidr,
  parseIp,
} from "../src/net/index.ts";
import { ConfigError, loadConfig } from "../src/service/config.ts";
import { type RecordingListener, startRecordingListener } from "./support/listener.ts";
import { run } from "./support/registry.ts";

describe("address classes, in every spelling", () => {
  const cases: Array<[string, string, string]> = [
    // [host as written, canonical address, class]
    ["127.0.0.1", "127.0.0.1", "loopback"],
    ["2130706433", "127.0.0.1", "loopback"],
    ["0177.0.0.1", "127.0.0.1", "loopback"],
    ["0x7f.1", "127.0.0.1", "loopback"],
    ["0x7F000001", "127.0.0.1", "loopback"],
    ["017700000001", "127.0.0.1", "loopback"],
    ["127.1", "127.0.0.1", "loopback"],
    ["127.0.1", "127.0.0.1", "loopback"],
    ["127.0.0.1.", "127.0.0.1", "loopback"],
    ["127.255.255.254", "127.255.255.254", "loopback"],
    ["[::ffff:127.0.0.1]", "127.0.0.1", "loopback"],
    ["::ffff:7f00:1", "127.0.0.1", "loopback"],
    ["[::1]", "::1", "loopback"],
    ["0:0:0:0:0:0:0:1", "::1", "loopback"],
    ["0.0.0.0", "0.0.0.0", "unspecified"],
    ["0", "0.0.0.0", "unspecified"],
    ["::", "::", "unspecified"],
    ["169.254.169.254", "169.254.169.254", "cloud metadata"],
    ["2852039166", "169.254.169.254", "cloud metadata"],
    ["0xa9.0xfe.0xa9.0xfe", "169.254.169.254", "cloud metadata"],
    ["[::ffff:169.254.169.254]", "169.254.169.254", "cloud metadata"],
    ["fd00:ec2::254", "fd00:ec2::254", "cloud metadata"],
    ["100.100.100.200", "100.100.100.200", "cloud metadata"],
    ["169.254.1.1", "169.254.1.1", "link-local"],
    ["fe80::1%eth0", "fe80::1", "link-local"],
    ["10.1.2.3", "10.1.2.3", "private"],
    ["172.16.0.1", "172.16.0.1", "private"],
    ["172.31.255.255", "172.31.255.255", "private"],
    ["192.168.1.1", "192.168.1.1", "private"],
    ["fd00::1", "fd00::1", "private"],
    ["fdff:ffff::1", "fdff:ffff::1", "private"],
    ["fc00::1", "fc00::1", "private"],
    ["2002:c0a8:101::1", "2002:c0a8:101::1", "private"], // 6to4 of 192.168.1.1
    ["100.64.0.1", "100.64.0.1", "shared (CGNAT)"],
    ["100.127.255.255", "100.127.255.255", "shared (CGNAT)"],
    ["224.0.0.1", "224.0.0.1", "multicast"],
    ["239.255.255.250", "239.255.255.250", "multicast"],
    ["ff02::1", "ff02::1", "multicast"],
    ["64:ff9b::7f00:1", "64:ff9b::7f00:1", "loopback"], // NAT64 of 127.0.0.1
    ["::127.0.0.1", "::7f00:1", "reserved"],
    ["255.255.255.255", "255.255.255.255", "reserved"],
    ["192.0.2.10", "192.0.2.10", "reserved"],
    ["2001:db8::1", "2001:db8::1", "reserved"],
    ["8.8.8.8", "8.8.8.8", "public"],
    ["134744072", "8.8.8.8", "public"],
    ["100.128.0.1", "100.128.0.1", "public"],
    ["172.32.0.1", "172.32.0.1", "public"],
    ["2606:4700:4700::1111", "2606:4700:4700::1111", "public"],
    ["64:ff9b::808:808", "64:ff9b::808:808", "public"], // NAT64 of 8.8.8.8
  ];
  it.each(cases)("%s is %s (%s)", (host, address, addressClass) => {
    expect(classifyHost(host)).toEqual({ address, addressClass });
  });

  it("names and malformed numbers are not IP literals (they go to the resolver, whose answers are classified)", () => {
    for (const host of ["localhost", "registry.example", "1.2.3.256", "08.0.0.1", "0x7g.1", "1.2.3.4.5", "::1::2", "[::1", "a:b"]) {
      expect(parseIp(host), host).toBeUndefined();
    }
  });

  it("formats IPv6 canonically (RFC 5952)", () => {
    expect(formatIp(parseIp("2001:DB8:0:0:1:0:0:1") as NonNullable<ReturnType<typeof parseIp>>)).toBe("2001:db8::1:0:0:1");
    expect(formatIp(parseIp("2001:db8:0:1:1:1:1:1") as NonNullable<ReturnType<typeof parseIp>>)).toBe("2001:db8:0:1:1:1:1:1");
  });
});

describe("allow lists", () => {
  it("CIDR ranges, single addresses, IPv4-mapped addresses", () => {
    const ten = parseCidr("10.0.0.0/8");
    expect(inCidr(parseIp("10.255.255.255") as NonNullable<ReturnType<typeof parseIp>>, ten)).toBe(true);
    expect(inCidr(parseIp("11.0.0.0") as NonNullable<ReturnType<typeof parseIp>>, ten)).toBe(false);
    expect(inCidr(parseIp("::ffff:10.1.2.3") as NonNullable<ReturnType<typeof parseIp>>, ten)).toBe(true);
    expect(inCidr(parseIp("fd12:3456::1") as NonNullable<ReturnType<typeof parseIp>>, parseCidr("fd12::/16"))).toBe(true);
    expect(inCidr(parseIp("192.0.2.8") as NonNullable<ReturnType<typeof parseIp>>, parseCidr("192.0.2.7"))).toBe(false);
  });

  it("HUB_OUTBOUND_ALLOW is read and checked at start-up", () => {
    expect(outboundAllowFromEnv({ HUB_OUTBOUND_ALLOW: " 10.0.0.0/8, fd00::/8,,192.0.2.7 " })).toEqual(["10.0.0.0/8", "fd00::/8", "192.0.2.7"]);
    expect(outboundAllowFromEnv({})).toEqual([]);
    const base = { HUB_URL: "http://127.0.0.1:8787", HUB_CHUNK_STORE: "file:///tmp/x", HUB_BACKEND: "hub.example:9900", INTERNAL_SECRET: "0123456789abcdef" };
    expect(loadConfig({ ...base, HUB_OUTBOUND_ALLOW: "10.0.0.0/8" }).registryPolicy.outboundAllow).toEqual(["10.0.0.0/8"]);
    expect(() => loadConfig({ ...base, HUB_OUTBOUND_ALLOW: "10.0.0.0/33" })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, HUB_OUTBOUND_ALLOW: "10.0.0.0/33" })).toThrow(/HUB_OUTBOUND_ALLOW: '10\.0\.0\.0\/33': the prefix length must be 0\.\.32/);
    expect(() => loadConfig({ ...base, HUB_OUTBOUND_ALLOW: "intranet.example" })).toThrow(/'intranet\.example' is not an IP address or CIDR range/);
    expect(() => loadConfig({ ...base, HUB_INSECURE_REGISTRIES: "::1:5000" })).toThrow(/HUB_INSECURE_REGISTRIES: '::1:5000' is not a host\[:port\]/);
  });
});

/** A resolver answering from a script, counting its calls. */
function scripted(...answers: string[][]): LookupAll & { calls: number } {
  const lookup = Object.assign(
    async () => {
      const answer = answers[Math.min(lookup.calls, answers.length - 1)] as string[];
      lookup.calls++;
      return answer.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
    },
    { calls: 0 },
  );
  return lookup;
}

async function refusal(promise: Promise<unknown>): Promise<OutboundRefusedError> {
  try {
    await promise;
  } catch (err) {
    const refused = outboundRefusal(err);
    if (refused !== undefined) return refused;
    throw err;
  }
  throw new Error("the request was not refused");
}

describe("OutboundGuard.resolve", () => {
  it("refuses a name that resolves to loopback (the system resolver: localhost), without naming the address", async () => {
    const err = await refusal(new OutboundGuard().resolve("localhost", 5000));
    expect(err).toMatchObject({ host: "localhost", port: 5000, addressClass: "loopback", literal: false });
    expect(err.message).toBe("localhost resolves to an address this hub does not connect to");
    const literal = await refusal(new OutboundGuard().resolve("0x7f.1", 80));
    expect(literal.message).toBe("127.0.0.1 is a loopback address, which this hub does not connect to");
    expect((await refusal(new OutboundGuard().resolve("0.0.0.0", 80))).message).toBe("0.0.0.0 is an unspecified address, which this hub does not connect to");
  });

  it("refuses when ANY answer is forbidden, whatever comes first", async () => {
    await expect(refusal(new OutboundGuard({ lookup: scripted(["8.8.8.8", "10.0.0.1"]) }).resolve("mixed.example", 443))).resolves.toMatchObject({ addressClass: "private", address: "10.0.0.1" });
    await expect(refusal(new OutboundGuard({ lookup: scripted(["::ffff:169.254.169.254"]) }).resolve("meta.example", 80))).resolves.toMatchObject({ addressClass: "cloud metadata" });
    await expect(refusal(new OutboundGuard({ lookup: scripted(["not-an-address"]) }).resolve("odd.example", 80))).resolves.toBeInstanceOf(OutboundRefusedError);
  });

  it("answers the checked public addresses, IPv4 first", async () => {
    const guard = new OutboundGuard({ lookup: scripted(["2606:4700:4700::1111", "1.1.1.1"]) });
    expect(await guard.resolve("dual.example", 443)).toEqual([
      { address: "1.1.1.1", family: 4 },
      { address: "2606:4700:4700::1111", family: 6 },
    ]);
    expect(await new OutboundGuard().resolve("134744072", 443)).toEqual([{ address: "8.8.8.8", family: 4 }]);
  });

  it("the operator's exceptions: endpoints (exact host and port) and address ranges", async () => {
    const endpoint = new OutboundGuard({ endpoints: ["localhost:5000", "[::1]:6000", "registry.lan"] });
    expect((await endpoint.resolve("localhost", 5000)).map((a) => a.address)).toContain("127.0.0.1");
    await expect(refusal(endpoint.resolve("localhost", 5001))).resolves.toMatchObject({ addressClass: "loopback" });
    await expect(refusal(endpoint.resolve("127.0.0.1", 5000))).resolves.toMatchObject({ addressClass: "loopback" });
    expect(await endpoint.resolve("::1", 6000)).toEqual([{ address: "::1", family: 6 }]);
    const lan = new OutboundGuard({ endpoints: ["registry.lan"], lookup: scripted(["192.168.1.9"]) });
    expect(await lan.resolve("registry.lan", 443)).toEqual([{ address: "192.168.1.9", family: 4 }]);
    await expect(refusal(lan.resolve("registry.lan", 22))).resolves.toMatchObject({ addressClass: "private" });
    const ranges = new OutboundGuard({ allow: ["127.0.0.0/8"] });
    expect(await ranges.resolve("127.0.0.5", 1)).toEqual([{ address: "127.0.0.5", family: 4 }]);
    await expect(refusal(ranges.resolve("::1", 1))).resolves.toMatchObject({ addressClass: "loopback" });
  });
});

describe("guardedFetch connects only where the guard allows", () => {
  let listener: RecordingListener;
  let http: Server;
  let httpPort: number;
  const requests: Array<{ host: string | undefined; local: string | undefined }> = [];

  beforeAll(async () => {
    listener = await startRecordingListener();
    // An HTTP server on 127.0.0.1 that closes every connection (so each request needs a new, checked one).
    http = createHttpServer((req, res) => {
      requests.push({ host: req.headers.host, local: req.socket.localAddress });
      if (req.url === "/redirect") res.writeHead(302, { location: `http://localhost:${listener.port}/internal`, connection: "close" }).end();
      else res.writeHead(200, { connection: "close" }).end("ok");
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    httpPort = (http.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await listener?.close();
    http?.closeAllConnections();
    await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
  });

  it("every hostile spelling of a loopback or internal host is refused and no connection arrives", async () => {
    const fetchOut = guardedFetch();
    const p = listener.port;
    const hosts = ["127.0.0.1", "localhost", "[::1]", "0.0.0.0", "127.1", "2130706433", "0177.0.0.1", "0x7f.1", "[::ffff:127.0.0.1]", "[::]", "127.0.0.2"];
    for (const host of hosts) {
      for (const scheme of ["http", "https"]) {
        const err = await refusal(fetchOut(`${scheme}://${host}:${p}/v2/`));
        expect(err.port, host).toBe(p);
      }
    }
    await expect(refusal(fetchOut("http://169.254.169.254/latest/meta-data/"))).resolves.toMatchObject({ addressClass: "cloud metadata" });
    await expect(refusal(fetchOut(`http://[fd00::1]:${p}/`))).resolves.toMatchObject({ addressClass: "private" });
    expect(listener.connections).toEqual([]);
  });

  it("a redirect to an internal host is refused at that hop (the first hop was allowed)", async () => {
    const fetchOut = guardedFetch({ endpoints: [`127.0.0.1:${httpPort}`] });
    const err = await refusal(fetchOut(`http://127.0.0.1:${httpPort}/redirect`));
    expect(err).toMatchObject({ host: "localhost", port: listener.port });
    expect(requests.at(-1)?.host).toBe(`127.0.0.1:${httpPort}`);
    expect(listener.connections).toEqual([]);
  });

  it("DNS rebinding: the connection goes to the address checked; a later answer is checked again, never trusted", async () => {
    // 127.0.0.1 stands for a public address here (allowed); 127.0.0.2, on the same port, for an internal one.
    const internal = await startRecordingListener({ host: "127.0.0.2", port: httpPort });
    try {
      const lookup = scripted(["127.0.0.1"], ["127.0.0.2"]);
      const fetchOut = guardedFetch({ allow: ["127.0.0.1/32"], lookup });
      const res = await fetchOut(`http://rebind.example:${httpPort}/first`);
      expect(await res.text()).toBe("ok");
      // One resolution for the one connection: the socket was opened to the checked address, not re-resolved.
      expect(lookup.calls).toBe(1);
      expect(requests.at(-1)).toEqual({ host: `rebind.example:${httpPort}`, local: "127.0.0.1" });
      // The server closed the connection: the next request resolves again, gets the internal answer, is refused.
      await expect(refusal(fetchOut(`http://rebind.example:${httpPort}/second`))).resolves.toMatchObject({ addressClass: "loopback", address: "127.0.0.2" });
      expect(lookup.calls).toBe(2);
      expect(internal.connections).toEqual([]);
    } finally {
      await internal.close();
    }
  });

  it("a name with several checked addresses: the next one is tried when one does not answer", async () => {
    const fetchOut = guardedFetch({ allow: ["127.0.0.0/8"], lookup: scripted(["127.0.0.3", "127.0.0.1"]) });
    expect(await (await fetchOut(`http://two.example:${httpPort}/`)).text()).toBe("ok");
  });

  it("TLS to the pinned address still verifies the certificate against the name (SNI = the name)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "zhub-guard-tls-"));
    try {
      await run("openssl", [
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
        "-subj", "/CN=registry.example", "-addext", "subjectAltName=DNS:registry.example",
        "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
      ]);
      const [key, cert] = await Promise.all([readFile(join(dir, "key.pem")), readFile(join(dir, "cert.pem"))]);
      const names: string[] = [];
      const server = createHttpsServer({ key, cert }, (_req, res) => res.writeHead(200, { connection: "close" }).end("secure"));
      server.on("secureConnection", (socket) => names.push(String((socket as unknown as { servername?: string }).servername)));
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const port = (server.address() as AddressInfo).port;
      try {
        const fetchOut = guardedFetch({ allow: ["127.0.0.1/32"], lookup: scripted(["127.0.0.1"]) }, { ca: cert });
        expect(await (await fetchOut(`https://registry.example:${port}/`)).text()).toBe("secure");
        expect(names).toEqual(["registry.example"]);
        // The same server reached by another name fails verification: the name, not the address, is what counts.
        const other = guardedFetch({ allow: ["127.0.0.1/32"], lookup: scripted(["127.0.0.1"]) }, { ca: cert });
        const err = await other(`https://elsewhere.example:${port}/`).then(() => undefined, (e: unknown) => e);
        expect(String((err as { cause?: { code?: string } }).cause?.code)).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
      } finally {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
