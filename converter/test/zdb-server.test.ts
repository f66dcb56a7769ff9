/**
 * The embedded 0-db server (converter/src/store/zdb-server.ts) answers what clients send exactly as the real 0-db
 * 2.0.7 does. Each script runs on a fresh connection to both servers, set up alike — chunks in namespace `hub`
 * with a password and public reads, `default` read-only (real zdb: `--protect`) — and every reply must be the
 * same bytes. Then the real clients: zflist writes (INFO, SELECT ns pw, GET, SET) and reads back (check, get)
 * through the embedded server.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, type ChunkStore } from "../src/store/index.ts";
import { ZdbServer } from "../src/store/zdb-server.ts";
import { encodeRequest, RawResp } from "./support/resp-client.ts";
import { type RunningZdb, startZdb } from "./support/zdb.ts";
import { zflistBinary } from "./support/reference-tools.ts";

const run = promisify(execFile);
const NS = "hub";
const PW = "hub-write-pw";

let work: string;
let zdb: RunningZdb;
let embedded: ZdbServer;
let files: ChunkStore;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "zhub-zdbserver-"));
  zdb = await startZdb({ namespace: NS, password: PW, protect: true });
  files = await openStore(`file://${join(work, "chunks")}`);
  embedded = await ZdbServer.start({ store: files, host: "127.0.0.1", port: 0, namespace: NS, password: PW });
});

afterAll(async () => {
  await embedded?.close();
  await files?.close();
  await zdb?.destroy();
  if (work) await rm(work, { recursive: true, force: true });
});

type Args = (string | Buffer)[];

/** Runs the same requests on both servers (fresh connections) and returns both reply lists, as text. */
async function both(script: Args[]): Promise<[string[], string[]]> {
  const out: string[][] = [];
  for (const port of [zdb.port, embedded.port]) {
    const conn = await RawResp.connect(port);
    try {
      const replies: string[] = [];
      for (const args of script) replies.push((await conn.call(...args))?.toString("latin1") ?? "(closed)");
      out.push(replies);
    } finally {
      conn.close();
    }
  }
  return [out[0]!, out[1]!];
}

async function expectSame(script: Args[]): Promise<string[]> {
  const [real, ours] = await both(script);
  const table = script.map((args, i) => `${args.map((a) => (typeof a === "string" ? a.slice(0, 40) : `<${a.length} bytes>`)).join(" ")} -> ${JSON.stringify(real[i])}`);
  expect(ours, `0-db answered:\n${table.join("\n")}`).toEqual(real);
  return real;
}

const binKey = Buffer.from([0x00, 0x0d, 0x0a, 0xff, 0x24, 0x2a, 0x10, 0x20, 1, 2, 3, 4, 5, 6, 7, 8]);
const longKey = "k".repeat(256);
const maxKey = "m".repeat(255);

describe("embedded 0-db server: the same replies as 0-db 2.0.7", () => {
  it("PING, unknown commands, case of command names", async () => {
    const replies = await expectSame([["PING"], ["ping"], ["PING", "hello"], ["FOO"], ["COMMAND"], ["HELLO", "3"], ["CLIENT", "SETINFO", "lib-name", "x"], ["QUIT"], [""], ["PING"]]);
    expect(replies.slice(0, 4)).toEqual(["+PONG\r\n", "+PONG\r\n", "+PONG\r\n", "-Command not supported\r\n"]);
  });

  it("the default namespace next to a named one: empty and read-only", async () => {
    await expectSame([["GET", "a"], ["EXISTS", "a"], ["SET", "a", "b"], ["SELECT", "default"], ["SET", "a", "b"], ["GET", "a"]]);
  });

  it("writer: SELECT <ns> <password>, SET answers the key (nil when unchanged), GET, EXISTS", async () => {
    const replies = await expectSame([
      ["SELECT", NS, PW],
      ["GET", binKey], ["EXISTS", binKey],
      ["SET", binKey, "value-1"], ["SET", binKey, "value-1"], ["SET", binKey, "value-2"],
      ["GET", binKey], ["EXISTS", binKey],
      ["set", "lower", "case"], ["get", "lower"], ["SETX", "setx", "alias"], ["GET", "setx"],
      ["SET", maxKey, "x"], ["GET", maxKey],
      ["SET", "empty-value", ""], ["GET", "empty-value"], ["EXISTS", "empty-value"],
    ]);
    expect(replies[3]).toBe(`$16\r\n${binKey.toString("latin1")}\r\n`);
    expect(replies[4]).toBe("$-1\r\n");
    expect(replies[6]).toBe("$7\r\nvalue-2\r\n");
  });

  it("public reader: SELECT <ns> without the password reads, cannot write; a wrong password is refused and changes nothing", async () => {
    await expectSame([["SELECT", NS, PW], ["SET", "pub", "lic"]]);
    await expectSame([
      ["SELECT", NS], ["GET", "pub"], ["EXISTS", "pub"], ["SET", "pub", "x"],
      ["SELECT", NS, "wrong"], ["SET", "pub", "x"], ["GET", "pub"],
      ["SELECT", NS, "p".repeat(300)],
      ["SELECT", "default"], ["GET", "pub"],
    ]);
  });

  it("argument and key checks, in 0-db's order", async () => {
    await expectSame([
      ["GET"], ["GET", "a", "b"], ["GET", ""], ["GET", longKey], ["EXISTS"], ["EXISTS", "a", "b"], ["EXISTS", ""], ["EXISTS", longKey],
      ["SET"], ["SET", "a"], ["SET", "a", "b", "c"], ["SET", "a", "b", "c", "d"], ["SET", longKey, "v"], ["SET", "", "v"],
      ["SELECT", NS, PW],
      ["SET", longKey, "v"], ["SET", "", "v"], ["SET", "a", "b", "c"],
    ]);
  });

  it("SELECT variants and errors", async () => {
    await expectSame([
      ["SELECT"], ["SELECT", "nope"], ["SELECT", "nope", "pw"], ["SELECT", "a", "b", "c"], ["SELECT", NS, "b", "c"],
      ["SELECT", NS, "SECURE", "abc"], ["SELECT", NS, "SECURE", "0".repeat(40)], ["SELECT", NS, PW, "x", "y"],
      ["SELECT", "default", "anything"], ["SELECT", NS, "SECURE"],
    ]);
  });

  it("AUTH: no admin here (refused), SECURE CHALLENGE gives a one-shot challenge that SELECT … SECURE accepts", async () => {
    await expectSame([["AUTH"], ["AUTH", "wrong"], ["AUTH", "a", "b"], ["AUTH", "a", "b", "c"], ["AUTH", "SECURE", "x"]]);
    for (const port of [zdb.port, embedded.port]) {
      const conn = await RawResp.connect(port);
      try {
        const challenge = (await conn.call("AUTH", "SECURE", "CHALLENGE"))!.toString();
        expect(challenge).toMatch(/^\+[0-9a-f]{16}\r\n$/);
        const c = challenge.slice(1, -2);
        expect((await conn.call("AUTH", "SECURE", "0".repeat(40)))!.toString()).toBe("-Access denied\r\n");
        // The challenge was used up.
        expect((await conn.call("SELECT", NS, "SECURE", "0".repeat(40)))!.toString()).toBe("-No CHALLENGE requested, secure authentication not available\r\n");
        const again = (await conn.call("AUTH", "SECURE", "CHALLENGE"))!.toString().slice(1, -2);
        const wrong = createHash("sha1").update(`${again}:nope`).digest("hex");
        expect((await conn.call("SELECT", NS, "SECURE", wrong))!.toString()).toBe("-Access denied\r\n");
        const third = (await conn.call("AUTH", "SECURE", "CHALLENGE"))!.toString().slice(1, -2);
        const right = createHash("sha1").update(`${third}:${PW}`).digest("hex");
        expect((await conn.call("SELECT", NS, "SECURE", right))!.toString()).toBe("+OK\r\n");
        expect((await conn.call("SET", "secure-key", "v"))!.toString()).toMatch(/^(\$10\r\nsecure-key|\$-1)\r\n$/);
        expect(c).not.toBe(again);
      } finally {
        conn.close();
      }
    }
  });

  it("namespace administration is refused; NSLIST names the namespaces", async () => {
    await expectSame([["NSNEW", "x"], ["NSSET", NS, "public", "0"], ["NSDEL", NS], ["NSLIST"]]);
  });

  it("INFO is 0-db's text (zflist looks for the server name)", async () => {
    for (const port of [zdb.port, embedded.port]) {
      const conn = await RawResp.connect(port);
      const info = (await conn.call("INFO"))!.toString("latin1");
      conn.close();
      expect(info).toMatch(/^\$\d+\r\n# server\nserver_name: 0-db \(zdb\)\n/);
      expect(info).toContain("\n# clients\n");
    }
  });

  it("protocol errors: 0-db's messages (the embedded server then closes the connection)", async () => {
    const cases: [string, Buffer][] = [
      ["inline command", Buffer.from("PING\r\n")],
      ["empty array", Buffer.from("*0\r\n")],
      ["not a number", Buffer.from("*x\r\n")],
      ["too many arguments", Buffer.from("*1025\r\n")],
      ["an integer argument", Buffer.from("*1\r\n:4\r\n")],
      ["a value above 8 MiB", Buffer.from(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${8 * 1024 * 1024 + 1}\r\n`)],
    ];
    for (const [label, bytes] of cases) {
      const answers: string[] = [];
      for (const port of [zdb.port, embedded.port]) {
        const conn = await RawResp.connect(port);
        answers.push((await conn.raw(bytes))?.toString() ?? "(closed)");
        if (port === embedded.port) expect(await conn.closedByServer(), label).toBe(true);
        conn.close();
      }
      expect(answers[1], label).toBe(answers[0]);
    }
  });

  it("an 8 MiB value (0-db's limit) is stored and read back; requests arrive in any pieces", async () => {
    const big = Buffer.alloc(8 * 1024 * 1024, 7);
    big[big.length - 1] = 9;
    const conn = await RawResp.connect(embedded.port);
    try {
      expect((await conn.call("SELECT", NS, PW))!.toString()).toBe("+OK\r\n");
      expect((await conn.call("SET", "big", big))!.toString()).toBe("$3\r\nbig\r\n");
      const got = (await conn.call("GET", "big"))!;
      expect(got.subarray(0, 10).toString()).toBe("$8388608\r\n");
      expect(got.subarray(10, -2).equals(big)).toBe(true);
      // One byte at a time, several requests pipelined.
      const bytes = Buffer.concat([encodeRequest(["SET", "pieces", "abc"]), encodeRequest(["GET", "pieces"]), encodeRequest(["EXISTS", "pieces"])]);
      for (const b of bytes) conn.write(Buffer.from([b]));
      expect((await conn.next())!.toString()).toBe("$6\r\npieces\r\n");
      expect((await conn.next())!.toString()).toBe("$3\r\nabc\r\n");
      expect((await conn.next())!.toString()).toBe(":1\r\n");
    } finally {
      conn.close();
    }
  });

  it("pipelined requests are answered in order; a GET after a SET of the same key sees the value", async () => {
    const conn = await RawResp.connect(embedded.port);
    try {
      const n = 300;
      const requests = [encodeRequest(["SELECT", NS, PW])];
      for (let i = 0; i < n; i++) requests.push(encodeRequest(["SET", `p${i}`, `v${i}`]), encodeRequest(["GET", `p${i}`]), encodeRequest(["EXISTS", `q${i}`]));
      conn.write(Buffer.concat(requests));
      expect((await conn.next())!.toString()).toBe("+OK\r\n");
      for (let i = 0; i < n; i++) {
        expect((await conn.next())!.toString()).toBe(`$${`p${i}`.length}\r\np${i}\r\n`);
        expect((await conn.next())!.toString()).toBe(`$${`v${i}`.length}\r\nv${i}\r\n`);
        expect((await conn.next())!.toString()).toBe(":0\r\n");
      }
    } finally {
      conn.close();
    }
  });

  it("a port already taken is a clear error", async () => {
    const err = await ZdbServer.start({ store: files, host: "127.0.0.1", port: zdb.port }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe(`127.0.0.1:${zdb.port} is already in use`);
  });
});

describe("embedded 0-db server and the real zflist", () => {
  it("zflist writes through it (namespace + password) and reads back through the flist's backend (public)", async () => {
    const dir = join(work, "zflist");
    const src = join(dir, "src");
    await mkdir(join(src, "sub"), { recursive: true });
    const big = Buffer.alloc(1_300_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;
    await writeFile(join(src, "sub", "big.bin"), big);
    await writeFile(join(src, "hello.txt"), "hello from zflist\n");
    const env = { ...process.env, ZFLIST_MNT: join(dir, "mnt"), ZFLIST_JSON: "1" };
    const zflist = (args: string[], extra: Record<string, string> = {}) => run(zflistBinary(), args, { env: { ...env, ...extra } });
    await mkdir(env.ZFLIST_MNT, { recursive: true });
    const backend = JSON.stringify({ host: "127.0.0.1", port: embedded.port, namespace: NS, password: PW });
    await zflist(["init"]);
    await zflist(["putdir", src, "/"], { ZFLIST_BACKEND: backend });
    await zflist(["metadata", "backend", "--host", "127.0.0.1", "--port", String(embedded.port), "--namespace", NS]);
    const flist = join(dir, "out.flist");
    await zflist(["commit", flist]);
    await zflist(["close"]).catch(() => {});
    await zflist(["open", flist]);
    try {
      const check = JSON.parse((await zflist(["check"])).stdout) as { success: boolean; response: { regular: number; failure: number } };
      expect(check).toMatchObject({ success: true, response: { regular: 2, failure: 0 } });
      await zflist(["get", "/sub/big.bin", join(dir, "big.out")]);
      expect((await readFile(join(dir, "big.out"))).equals(big)).toBe(true);
    } finally {
      await zflist(["close"]);
    }
  });
});
