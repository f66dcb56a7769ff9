/**
 * The pure parts of image conversion: reference parsing and normalisation (Docker CLI rules), flist naming
 * (docs/compatibility.md §2), WWW-Authenticate parsing, platform choice, config → metadata, `/.startup.toml`, registry policy.
 */
import { describe, expect, it } from "vitest";
import { parseChallenges } from "../src/oci/auth.ts";
import { exposedPorts, imageMetadata } from "../src/oci/image-metadata.ts";
import { manifestKind } from "../src/oci/manifest.ts";
import { parsePlatform, platformMatches, selectManifest } from "../src/oci/platform.ts";
import { checkRegistryAllowed, registryBaseUrl, registryPolicyFromEnv } from "../src/oci/policy.ts";
import { flistName, formatReference, parseReference } from "../src/oci/reference.ts";
import { startupToml, tomlString } from "../src/oci/startup.ts";
import { DockerRequestSchema, RegistryError, conversionErrorStatus } from "../src/oci/index.ts";
import { IngestError } from "../src/ingest/index.ts";

const D = `sha256:${"ab".repeat(32)}`;

describe("parseReference", () => {
  it.each([
    ["ubuntu", { registry: "docker.io", repository: "library/ubuntu", tag: "latest" }],
    ["ubuntu:22.04", { registry: "docker.io", repository: "library/ubuntu", tag: "22.04" }],
    ["library/ubuntu", { registry: "docker.io", repository: "library/ubuntu", tag: "latest" }],
    ["threefolddev/ubuntu:22.04", { registry: "docker.io", repository: "threefolddev/ubuntu", tag: "22.04" }],
    ["docker.io/ubuntu", { registry: "docker.io", repository: "library/ubuntu", tag: "latest" }],
    ["docker.io/library/ubuntu:22.04", { registry: "docker.io", repository: "library/ubuntu", tag: "22.04" }],
    ["index.docker.io/org/app", { registry: "docker.io", repository: "org/app", tag: "latest" }],
    ["registry-1.docker.io/org/app:1", { registry: "docker.io", repository: "org/app", tag: "1" }],
    ["ghcr.io/org/app:v1", { registry: "ghcr.io", repository: "org/app", tag: "v1" }],
    ["ghcr.io/app", { registry: "ghcr.io", repository: "app", tag: "latest" }],
    ["localhost:5000/app", { registry: "localhost:5000", repository: "app", tag: "latest" }],
    ["localhost/app", { registry: "localhost", repository: "app", tag: "latest" }],
    ["127.0.0.1:5000/a/b/c:x_y.z-1", { registry: "127.0.0.1:5000", repository: "a/b/c", tag: "x_y.z-1" }],
    ["Registry.Example.COM/app", { registry: "registry.example.com", repository: "app", tag: "latest" }],
    [`app@${D}`, { registry: "docker.io", repository: "library/app", digest: D }],
    [`ghcr.io/org/app:v1@${D}`, { registry: "ghcr.io", repository: "org/app", tag: "v1", digest: D }],
    ["  ubuntu  ", { registry: "docker.io", repository: "library/ubuntu", tag: "latest" }],
    ["my_org/my-app__x", { registry: "docker.io", repository: "my_org/my-app__x", tag: "latest" }],
  ])("%s", (input, expected) => {
    expect(parseReference(input)).toEqual(expected);
  });

  it.each([
    ["", /empty/],
    ["Ubuntu", /lowercase/],
    ["ubuntu:", /tag/],
    ["ubuntu:-x", /tag/],
    [`ubuntu:${"a".repeat(129)}`, /tag/],
    ["ubuntu@sha256:abc", /digest/],
    ["ubuntu@md5:" + "a".repeat(32), /digest/],
    ["a//b", /empty repository path/],
    ["/ubuntu", /empty repository path/],
    ["ubuntu/", /empty repository path/],
    ["-bad/app", /not a valid repository path component/],
    ["ghcr.io:port/app", /not a registry/],
    ["app@latest", /'@' must be followed by a digest/],
    [`${"a".repeat(250)}/bbbbbbbbbb`, /longer than 255/],
  ])("refuses %s", (input, message) => {
    expect(() => parseReference(input)).toThrow(message);
    try {
      parseReference(input);
    } catch (err) {
      expect(err).toMatchObject({ name: "RegistryError", code: "invalid-reference" });
    }
  });

  it.each([
    "user:Secret-pw1@registry.example/app:v1",
    "user@registry.example/app",
    "user:Secret-pw1@localhost:5000/app",
    "https://user:Secret-pw1@registry.example/app",
    "user:Secret@pw1@registry.example/app",
    `user:Secret-pw1@registry.example/app@sha256:${"a".repeat(64)}`,
  ])("refuses inline credentials in %s with that reason, never quoting the password", (input) => {
    let err: unknown;
    try {
      parseReference(input);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ name: "RegistryError", code: "invalid-reference" });
    const message = (err as Error).message;
    expect(message).toBe(
      "invalid image reference: credentials cannot be part of the image reference (user:password@registry/…); send them as the username and password (or token) fields",
    );
    expect(message).not.toMatch(/Secret|pw1/);
  });

  it("formats the fully qualified form", () => {
    expect(formatReference(parseReference("ubuntu"))).toBe("docker.io/library/ubuntu:latest");
    expect(formatReference(parseReference(`ghcr.io/a/b:v1@${D}`))).toBe(`ghcr.io/a/b@${D}`);
  });
});

describe("flistName (docs/compatibility.md §2, docker row)", () => {
  it.each([
    ["ubuntu", "ubuntu-latest.flist"],
    ["ubuntu:22.04", "ubuntu-22.04.flist"],
    ["threefolddev/ubuntu:22.04", "threefolddev-ubuntu-22.04.flist"],
    ["ghcr.io/org/app:v1", "ghcr.io-org-app-v1.flist"],
    ["localhost:5000/app", "localhost-5000-app.flist"],
    ["app@sha256:ab", "app@sha256-ab.flist"],
    ["library/ubuntu", "library-ubuntu-latest.flist"],
    ["docker.io/library/nginx:1.25", "docker.io-library-nginx-1.25.flist"],
  ])("%s → %s", (input, name) => {
    expect(flistName(input)).toBe(name);
  });
});

describe("parseChallenges (WWW-Authenticate)", () => {
  it("Docker Hub's Bearer challenge", () => {
    expect(
      parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull"'),
    ).toEqual([
      { scheme: "bearer", params: { realm: "https://auth.docker.io/token", service: "registry.docker.io", scope: "repository:library/ubuntu:pull" } },
    ]);
  });

  it("several challenges, quoted escapes, unquoted values, spacing and case", () => {
    expect(parseChallenges('Basic realm="basic-realm", BEARER  Realm = "https://x/t?a=1" , service=reg , error="insufficient_scope",scope="a \\"b\\""')).toEqual([
      { scheme: "basic", params: { realm: "basic-realm" } },
      { scheme: "bearer", params: { realm: "https://x/t?a=1", service: "reg", error: "insufficient_scope", scope: 'a "b"' } },
    ]);
  });

  it("never throws or loops on junk", () => {
    for (const junk of ["", ",,,", "=", '"unterminated', "Bearer realm=", "Bearer ,realm", "Bearer realm=\"x\" =y", "\u0000\u0001"]) {
      expect(Array.isArray(parseChallenges(junk))).toBe(true);
    }
    expect(parseChallenges("Bearer realm=")).toEqual([{ scheme: "bearer", params: { realm: "" } }]);
  });
});

describe("platforms", () => {
  it("parses and normalises like containerd", () => {
    expect(parsePlatform("linux/arm64")).toEqual({ os: "linux", architecture: "arm64" });
    expect(parsePlatform("linux/arm/v7")).toEqual({ os: "linux", architecture: "arm", variant: "v7" });
    expect(parsePlatform("arm64")).toEqual({ os: "linux", architecture: "arm64" });
    expect(() => parsePlatform("linux/arm/v7/x")).toThrow(/invalid platform/);
    expect(() => parsePlatform("linux/../x")).toThrow(/invalid platform/);
    expect(platformMatches({ os: "linux", architecture: "arm64" }, { os: "linux", architecture: "arm64", variant: "v8" })).toBe(true);
    expect(platformMatches({ os: "linux", architecture: "aarch64" }, { os: "linux", architecture: "arm64" })).toBe(true);
    expect(platformMatches({ os: "linux", architecture: "x86_64" }, { os: "linux", architecture: "amd64" })).toBe(true);
    expect(platformMatches({ os: "linux", architecture: "arm" }, { os: "linux", architecture: "arm", variant: "v7" })).toBe(true);
    expect(platformMatches({ os: "linux", architecture: "arm", variant: "v6" }, { os: "linux", architecture: "arm", variant: "v7" })).toBe(false);
    expect(platformMatches({ os: "linux", architecture: "amd64" }, { os: "windows", architecture: "amd64" })).toBe(false);
  });

  it("skips buildx attestation entries in the list of what exists", () => {
    const index = {
      schemaVersion: 2 as const,
      manifests: [
        { mediaType: "m", digest: D, size: 1, platform: { os: "linux", architecture: "amd64" } },
        { mediaType: "m", digest: D, size: 1, platform: { os: "unknown", architecture: "unknown" } },
      ],
    };
    expect(selectManifest(index, { os: "linux", architecture: "amd64" }, "img").digest).toBe(D);
    expect(() => selectManifest(index, { os: "linux", architecture: "riscv64" }, "img")).toThrow("img has no linux/riscv64 image (available: linux/amd64)");
  });
});

describe("manifest kinds", () => {
  it("tells indexes, manifests and schema 1 apart, with or without mediaType", () => {
    expect(manifestKind("application/vnd.docker.distribution.manifest.v1+prettyjws", { schemaVersion: 1 })).toBe("schema1");
    expect(manifestKind(null, { schemaVersion: 1, fsLayers: [] })).toBe("schema1");
    expect(manifestKind("application/vnd.oci.image.index.v1+json", { schemaVersion: 2 })).toBe("index");
    expect(manifestKind("application/json", { schemaVersion: 2, manifests: [] })).toBe("index");
    expect(manifestKind(null, { schemaVersion: 2, config: {}, layers: [] })).toBe("manifest");
    expect(manifestKind("application/vnd.docker.distribution.manifest.list.v2+json; charset=utf-8", {})).toBe("index");
    expect(manifestKind("text/html", "<html>")).toBe("unknown");
  });
});

describe("image config → metadata", () => {
  it("entrypoint + cmd, env split at the first '=', ports, volumes, workdir, user, labels, image", () => {
    const rows = imageMetadata(
      {
        config: {
          Entrypoint: ["/docker-entrypoint.sh"],
          Cmd: ["nginx", "-g", "daemon off;"],
          Env: ["PATH=/usr/bin", "EMPTY=", "BARE", "X=a=b", "PATH=/bin"],
          ExposedPorts: { "80/tcp": {}, "443": {}, "9000-9002/udp": {}, "bad/port": {}, "0/tcp": {} },
          Volumes: { "/var/cache/nginx": {} },
          WorkingDir: "/srv",
          User: "101:101",
          Labels: { maintainer: "NGINX <x@y>", "has space": "dropped", "": "dropped" },
        },
      },
      "docker.io/library/nginx@" + D,
    );
    expect(Object.fromEntries(rows)).toEqual({
      entrypoint: '["/docker-entrypoint.sh", "nginx", "-g", "daemon off;"]',
      environ: '{"PATH": "/bin", "EMPTY": "", "BARE": "", "X": "a=b"}',
      port: '{"tcp/80": 80, "tcp/443": 443, "udp/9000": 9000, "udp/9001": 9001, "udp/9002": 9002}',
      volume: '{"/var/cache/nginx": {}}',
      workdir: "/srv",
      user: "101:101",
      "label.maintainer": "NGINX <x@y>",
      image: "docker.io/library/nginx@" + D,
    });
    expect([...rows.keys()][0]).toBe("entrypoint");
  });

  it("leaves out what the image does not set", () => {
    expect(Object.fromEntries(imageMetadata({}, "i"))).toEqual({ image: "i" });
    expect(Object.fromEntries(imageMetadata({ config: { Cmd: null, Env: [], Entrypoint: null, WorkingDir: "" } }, "i"))).toEqual({ image: "i" });
    expect(exposedPorts(["1-2000/tcp"])).toEqual([]); // a range too wide to be a real service
  });
});

describe("/.startup.toml", () => {
  it("the original's layout, with Cmd kept after a multi-element entrypoint (the original dropped it)", () => {
    expect(startupToml({ config: { Entrypoint: ["/init", "--verbose"], Cmd: ["serve"], Env: ["A=1", "weird.key=\"q\"\n"], WorkingDir: "" } })).toBe(
      [
        "[startup]",
        "",
        "[startup.entry]",
        'name = "core.system"',
        "",
        "[startup.entry.args]",
        'name = "/init"',
        'args = ["--verbose", "serve"]',
        'dir = "/"',
        "",
        "[startup.entry.args.env]",
        'A = "1"',
        '"weird.key" = "\\"q\\"\\n"',
        "",
      ].join("\n"),
    );
  });

  it("Cmd alone, and neither (the original ran /bin/sh)", () => {
    expect(startupToml({ config: { Cmd: ["/bin/app", "x"] } })).toContain('name = "/bin/app"\nargs = ["x"]\ndir = "/"');
    expect(startupToml({})).toContain('[startup.entry.args]\nname = "/bin/sh"\ndir = "/"\n');
    expect(tomlString("tab\there\u0001\\")).toBe('"tab\\there\\u0001\\\\"');
  });
});

describe("registry policy", () => {
  it("from the environment", () => {
    const policy = registryPolicyFromEnv({
      HUB_INSECURE_REGISTRIES: " 127.0.0.1:5000, Registry.Local:80 ,",
      HUB_REGISTRY_DENY: "evil.example",
      HUB_DOCKERHUB_MIRROR: "https://mirror.example/",
    });
    expect(policy).toEqual({ insecure: ["127.0.0.1:5000", "registry.local:80"], outboundAllow: [], allow: [], deny: ["evil.example"], dockerHubMirror: "https://mirror.example" });
    expect(registryBaseUrl(policy, "docker.io")).toBe("https://mirror.example");
    expect(registryBaseUrl(policy, "127.0.0.1:5000")).toBe("http://127.0.0.1:5000");
    expect(registryBaseUrl(policy, "ghcr.io")).toBe("https://ghcr.io");
    expect(registryBaseUrl({}, "docker.io")).toBe("https://registry-1.docker.io");
    expect(() => checkRegistryAllowed(policy, "evil.example")).toThrow("registry evil.example is not allowed on this hub");
    expect(() => checkRegistryAllowed({ allow: ["*.example.com"] }, "r.example.com")).not.toThrow();
    expect(() => checkRegistryAllowed({ allow: ["*.example.com"] }, "example.com.evil")).toThrow();
    expect(() => registryPolicyFromEnv({ HUB_DOCKERHUB_MIRROR: "ftp://x" })).toThrow(/HUB_DOCKERHUB_MIRROR/);
  });
});

describe("docker request and error statuses", () => {
  it("validates the request at the edge", () => {
    expect(DockerRequestSchema.parse({ image: " ubuntu ", startupToml: true })).toEqual({ image: "ubuntu", startupToml: true });
    expect(DockerRequestSchema.parse({ image: "x", credentials: { token: "t" } }).credentials).toEqual({ token: "t" });
    for (const bad of [{}, { image: "" }, { image: "x", extra: 1 }, { image: "x", credentials: { username: "u" } }, { image: "x", credentials: { username: "u", password: "p", token: "t" } }]) {
      expect(DockerRequestSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });

  it("maps failures to HTTP statuses", () => {
    expect(conversionErrorStatus(new RegistryError("unknown-tag", "x"))).toBe(404);
    expect(conversionErrorStatus(new RegistryError("unauthorized", "x"))).toBe(401);
    expect(conversionErrorStatus(new RegistryError("unreachable", "x"))).toBe(502);
    expect(conversionErrorStatus(new IngestError("e", "dot-dot", "x"))).toBe(422);
    expect(conversionErrorStatus(new Error("store down"))).toBe(500);
  });
});
