/**
 * The `zhub` hub commands against the real local stack (wrangler dev + converter + redis-server), run as a child
 * process like a user runs them: login, whoami, upload of every fixture tarball (streamed and resumable), ls,
 * link, rename, promote, tag/untag, rm, merge, job --follow, push of a homemade flist, and the errors.
 */
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findView, readFlist } from "../converter/src/flist/index.ts";
import { type Stack, startStack } from "./support/stack.ts";
import { TARBALL_CASES, expected, fixture, flistFiles, gzipFile, readBack, writeTar } from "./support/flists.ts";
import { type Zhub, zhubUser } from "./support/zhub.ts";

const ALICE = "cli-alice";
const REQUEST_MAX_BYTES = 6 * 1024 * 1024;
const BOB = "cli-bob";
let stack: Stack;
let alice: Zhub;
let bob: Zhub;
let aliceToken: string;

beforeAll(async () => {
  // A hub taking at most 6 MiB per request (as Cloudflare's plans cap request bodies): zhub must learn it from
  // GET /api/limits and send larger archives in parts.
  stack = await startStack({ workerVars: { HUB_REQUEST_MAX_BYTES: String(REQUEST_MAX_BYTES) } });
  [alice, bob] = [await zhubUser(), await zhubUser()];
  aliceToken = await stack.token(ALICE);
});

afterAll(async () => {
  await Promise.all([alice?.remove(), bob?.remove()]);
  await stack?.stop();
});

/** Runs zhub as alice and expects exit 0; answers stdout. */
async function ok(user: Zhub, args: string[]): Promise<string> {
  const result = await user.run(args);
  expect(result.code, `zhub ${args.join(" ")}\n${result.stderr}\n${result.stdout}`).toBe(0);
  return result.stdout;
}

async function md5Of(repo: string, name: string): Promise<{ md5: string; bytes: Buffer }> {
  const res = await fetch(`${stack.hubUrl}/${repo}/${name}`);
  expect(res.status, `GET /${repo}/${name}`).toBe(200);
  const bytes = Buffer.from(await res.arrayBuffer());
  const md5 = (await (await fetch(`${stack.hubUrl}/${repo}/${name}.md5`)).text()).trim();
  expect(md5).toBe(createHash("md5").update(bytes).digest("hex"));
  return { md5, bytes };
}

async function listing(repo: string): Promise<{ name: string; type: string; target?: string }[]> {
  const res = await fetch(`${stack.hubUrl}/api/flist/${repo}`);
  return res.status === 200 ? ((await res.json()) as { name: string; type: string; target?: string }[]) : [];
}

describe("zhub login / whoami", () => {
  it("refuses a bad token with the hub's message and stores nothing", async () => {
    const result = await alice.run(["login", "--hub", stack.hubUrl, "--token", "bm90IGEgdG9rZW4="]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("invalid signature");
    expect(fs.existsSync(alice.config)).toBe(false);
  });

  it("stores the hub and the token read from stdin (mode 0600), never printing the token", async () => {
    const result = await alice.run(["login", "--hub", stack.hubUrl], { stdin: `${aliceToken}\n` });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`logged in to ${stack.hubUrl} as ${ALICE}`);
    expect(result.stdout + result.stderr).not.toContain(aliceToken);
    expect(fs.statSync(alice.config).mode & 0o777).toBe(0o600);
    expect(JSON.parse(fs.readFileSync(alice.config, "utf8"))).toMatchObject({ hub: stack.hubUrl, token: aliceToken, user: ALICE });
    expect(await ok(alice, ["whoami"])).toBe(`${ALICE} on ${stack.hubUrl}\n`);

    expect((await bob.run(["login", "--hub", stack.hubUrl, "--token", await stack.token(BOB)])).code).toBe(0);
  });

  it("takes ZHUB_HUB / ZHUB_TOKEN over the file, and says when nobody is logged in", async () => {
    const fresh = await zhubUser();
    try {
      const none = await fresh.run(["whoami", "--hub", stack.hubUrl]);
      expect(none.code).toBe(1);
      expect(none.stderr).toContain("not logged in");
      const env = await fresh.run(["whoami"], { env: { ZHUB_HUB: stack.hubUrl, ZHUB_TOKEN: await stack.token("cli-carol") } });
      expect(env.stdout).toBe(`cli-carol on ${stack.hubUrl}\n`);
    } finally {
      await fresh.remove();
    }
  });
});

describe("zhub upload", () => {
  for (const { tarball, flist, reference } of TARBALL_CASES) {
    it(`${tarball} → ${ALICE}/${flist}, the job followed to its end`, async () => {
      const result = await alice.run(["upload", fixture(tarball), "--metadata", "maintainer=cli@example.org"]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toMatch(/^job [0-9a-f-]{36}$/m);
      // Not a terminal: the job's progress as plain lines, the last at 100%.
      expect(result.stderr).toContain(`${flist}: 100% Image ready !`);
      expect(result.stdout).toMatch(new RegExp(`^${ALICE}/${flist.replaceAll(".", "\\.")}: published \\(\\d+ files, .*md5 [0-9a-f]{32}\\n$`));
      const { bytes, md5 } = await md5Of(ALICE, flist);
      expect(result.stdout).toContain(md5);
      const find = expected(reference, "find.json");
      expect(findView(await readFlist(bytes))).toEqual(find);
      const meta = (await (await fetch(`${stack.hubUrl}/api/flist/${ALICE}/${flist}/metadata`)).json()) as Record<string, unknown>;
      expect(meta.maintainer).toBe("cli@example.org");
    });
  }

  it("--async prints the job; job --follow waits for it; job prints its state", async () => {
    const started = await ok(alice, ["upload", fixture("tree-overlay.tar.gz"), "--name", "async-overlay", "--async"]);
    const id = /^job ([0-9a-f-]{36})$/m.exec(started)?.[1];
    expect(id).toBeDefined();
    const followed = await alice.run(["job", id!, "--follow"]);
    expect(followed.code, followed.stderr).toBe(0);
    expect(followed.stdout).toMatch(new RegExp(`^${ALICE}/async-overlay\\.flist: published`));
    const state = JSON.parse(await ok(alice, ["job", id!, "--json"])) as { status: string; result: { md5: string } };
    expect(state.status).toBe("succeeded");
    expect(state.result.md5).toBe((await md5Of(ALICE, "async-overlay.flist")).md5);
  });

  it("--resumable uploads in parts (R2 multipart) and publishes the same flist", async () => {
    // 5 MiB parts (the smallest R2 allows): tree-main.tar.gz (2.1 MiB) is one part; a generated 11 MiB archive three.
    const resumed = await ok(alice, ["upload", fixture("tree-main.tar.gz"), "--name", "parts-main", "--resumable", "--part-size", "5"]);
    expect(resumed).toContain("parts-main.flist: published");
    expect(findView(await readFlist((await md5Of(ALICE, "parts-main.flist")).bytes))).toEqual(expected("main", "find.json"));

    const big = path.join(alice.dir, "big.tar");
    await writeTar(big, [{ name: "random.bin", body: randomBytes(11 * 1024 * 1024) }]);
    const gz = `${big}.gz`;
    await gzipFile(big, gz);
    const result = await alice.run(["upload", gz, "--name", "parts-big", "--resumable", "--part-size", "5"]);
    expect(result.code, result.stderr).toBe(0);
    const tree = await readFlist((await md5Of(ALICE, "parts-big.flist")).bytes);
    expect(flistFiles(tree).get("random.bin")?.size).toBe(11 * 1024 * 1024);
  });

  it("sends an archive larger than the hub's request limit in parts by itself (GET /api/limits)", async () => {
    const limits = (await (await fetch(`${stack.hubUrl}/api/limits`)).json()) as { payload: { streamedMaxBytes: number } };
    expect(limits.payload.streamedMaxBytes).toBe(REQUEST_MAX_BYTES);
    const big = path.join(alice.dir, "over-limit.tar");
    await writeTar(big, [{ name: "random.bin", body: randomBytes(REQUEST_MAX_BYTES + 1024 * 1024) }]);
    const gz = `${big}.gz`;
    await gzipFile(big, gz);
    expect(fs.statSync(gz).size).toBeGreaterThan(REQUEST_MAX_BYTES);
    // One PUT of it would be refused (413): the upload succeeding means zhub chose the parts.
    const direct = await fetch(`${stack.hubUrl}/api/flist/me/upload/over-limit.tar.gz`, {
      method: "PUT",
      headers: { authorization: `bearer ${aliceToken}`, "content-type": "application/octet-stream" },
      body: fs.readFileSync(gz),
    });
    expect(direct.status).toBe(413);
    const result = await alice.run(["upload", gz, "--name", "over-limit"]);
    expect(result.code, result.stderr).toBe(0);
    const tree = await readFlist((await md5Of(ALICE, "over-limit.flist")).bytes);
    expect(flistFiles(tree).get("random.bin")?.size).toBe(REQUEST_MAX_BYTES + 1024 * 1024);
  });

  it("fails with the job's reason (exit 1) for a broken archive, nothing published", async () => {
    const broken = path.join(alice.dir, "broken.tar.gz");
    fs.writeFileSync(broken, fs.readFileSync(fixture("tree-main.tar.gz")).subarray(0, 100_000));
    const result = await alice.run(["upload", broken]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/broken\.flist: failed: .*(invalid archive|truncated|unexpected end)/i);
    expect((await fetch(`${stack.hubUrl}/${ALICE}/broken.flist`, { method: "HEAD" })).status).toBe(404);
  });
});

describe("zhub catalog commands", () => {
  it("ls, link, rename, promote, tag, untag, rm", async () => {
    const names = (await ok(alice, ["ls"])).split("\n").map((l) => l.split(/\s+/)[0]);
    expect(names).toEqual(expect.arrayContaining(["tree-main.flist", "tree-overlay.flist"]));
    expect(JSON.parse(await ok(alice, ["ls", ALICE, "--json"]))).toEqual(await listing(ALICE));

    expect(await ok(alice, ["link", "tree-main", "latest"])).toBe("latest.flist -> tree-main.flist\n");
    expect((await listing(ALICE)).find((e) => e.name === "latest.flist")).toMatchObject({ type: "symlink", target: "tree-main.flist" });
    expect(await ok(alice, ["ls"])).toMatch(/^latest\.flist\s+symlink\s+.*-> tree-main\.flist$/m);

    await ok(alice, ["rename", "async-overlay", "renamed-overlay"]);
    const afterRename = (await listing(ALICE)).map((e) => e.name);
    expect(afterRename).toContain("renamed-overlay.flist");
    expect(afterRename).not.toContain("async-overlay.flist");

    // Bob promotes alice's flist into his repository, links across, and tags it.
    await ok(bob, ["promote", `${ALICE}/tree-main`, "main-copy"]);
    expect((await md5Of(BOB, "main-copy.flist")).md5).toBe((await md5Of(ALICE, "tree-main.flist")).md5);
    await ok(bob, ["link", `${ALICE}/tree-overlay`, "alice-overlay"]);
    expect((await md5Of(BOB, "alice-overlay.flist")).md5).toBe((await md5Of(ALICE, "tree-overlay.flist")).md5);
    await ok(bob, ["tag", "v1", `${ALICE}/tree-main`]);
    const tag = await fetch(`${stack.hubUrl}/api/flist/${BOB}/tags/v1`);
    expect(tag.status).toBe(200);
    expect(((await tag.json()) as { name: string }[]).map((e) => e.name)).toEqual(["tree-main.flist"]);
    await ok(bob, ["untag", "v1", `${ALICE}/tree-main`]);
    const untagged = await fetch(`${stack.hubUrl}/api/flist/${BOB}/tags/v1`);
    // An emptied tag either lists nothing or is gone.
    if (untagged.status === 200) expect(await untagged.json()).toEqual([]);
    else expect(untagged.status).toBe(404);

    expect(await ok(alice, ["rm", "renamed-overlay"])).toBe("renamed-overlay removed\n");
    expect((await listing(ALICE)).map((e) => e.name)).not.toContain("renamed-overlay.flist");
  });

  it("reports the hub's refusal (exit 1) and usage errors (exit 2)", async () => {
    const missing = await alice.run(["rename", "no-such-flist", "other"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^zhub: rename: .+/);
    const usage = await alice.run(["promote", "not-a-source", "x"]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("expected repo/name");
    expect((await alice.run(["upload"])).code).toBe(2);
    expect((await alice.run(["frobnicate"])).code).toBe(2);
  });

  it("--repo acts for an organisation the user belongs to", async () => {
    const member = await fetch(`${stack.hubUrl}/internal/members/cli-org/${ALICE}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${stack.internalSecret}` },
    });
    expect(member.status).toBe(200);
    expect(await ok(alice, ["whoami", "--repo", "cli-org"])).toBe(`cli-org on ${stack.hubUrl}\n`);
    await ok(alice, ["upload", fixture("tree-overlay.tar.gz"), "--repo", "cli-org"]);
    expect((await listing("cli-org")).map((e) => e.name)).toEqual(["tree-overlay.flist"]);
    const refused = await bob.run(["whoami", "--repo", "cli-org"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('not a member of repository "cli-org"');
  });
});

describe("zhub merge", () => {
  it("merges two uploads like zflist (the fixture's merged listing)", async () => {
    const out = await ok(alice, ["merge", "merged", `${ALICE}/tree-main.flist`, `${ALICE}/tree-overlay`]);
    expect(out).toMatch(new RegExp(`^${ALICE}/merged\\.flist: published`));
    const listingRes = await fetch(`${stack.hubUrl}/api/flist/${ALICE}/merged.flist`);
    expect(await listingRes.json()).toEqual(expected("merged", "find.json"));
    const refused = await alice.run(["merge", "bad", `${ALICE}/no-such`, `${ALICE}/tree-main`]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${ALICE}/no-such.flist does not exists`);
  });
});

describe("zhub push", () => {
  it("builds a directory locally, uploads only the missing chunks, publishes it", async () => {
    const dir = path.join(alice.dir, "homemade-dir");
    fs.mkdirSync(path.join(dir, "etc"), { recursive: true });
    const big = randomBytes(1_200_000);
    fs.writeFileSync(path.join(dir, "big.bin"), big);
    fs.writeFileSync(path.join(dir, "etc", "motd"), `pushed ${Date.now()}\n`);
    fs.symlinkSync("etc/motd", path.join(dir, "motd"));

    // No --backend: zhub asks the hub (GET /api/backend) for the backend to write into the flist.
    const first = await alice.run(["push", dir, "--name", "pushed"]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/chunks: 0 already on the hub, 4 uploaded/);
    expect(first.stdout).toMatch(new RegExp(`^${ALICE}/pushed\\.flist: published`));
    const { bytes } = await md5Of(ALICE, "pushed.flist");
    const tree = await readFlist(bytes);
    const [host, port] = stack.backend.split(":");
    expect(JSON.parse(tree.metadata.get("backend")!)).toEqual({ host, port: Number(port) });
    const files = flistFiles(tree);
    const store = await stack.store();
    expect((await readBack(store, files.get("big.bin")!)).equals(big)).toBe(true);
    expect(findView(tree).content.map((e) => e.path).sort()).toEqual(["/big.bin", "/etc", "/etc/motd", "/motd"]);

    // Again with one more file: only its chunk travels.
    fs.writeFileSync(path.join(dir, "etc", "extra"), randomBytes(1000));
    const second = await alice.run(["push", dir, "--name", "pushed", "--backend", stack.backend]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/chunks: 4 already on the hub, 1 uploaded/);
  });
});
