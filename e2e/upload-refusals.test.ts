/**
 * Refused uploads on the real local stack, sent as clients send them (node:http writing the whole body):
 *
 *  - a form over HUB_UPLOAD_FORM_MAX_BYTES is answered 413 with its JSON message every time, whether its length is
 *    declared or it comes chunked: the Worker drains the body before answering (http/drain.ts), so the client never
 *    sees a connection reset instead;
 *  - a streamed upload refused on its name is answered the same way, and creates nothing;
 *  - names cross the wire as UTF-8 bytes: `X-Original-Name: ☃-é.tar.gz` publishes `☃-é.flist`;
 *  - a wrong file says what it is: a text file named `.tar.gz` gets the same 422 and words from the Worker (form
 *    upload, refused before any job) as from the real converter (streamed upload, a failed job); a zip named `.zip`
 *    is named as a zip (form) or refused on its name alone (streamed).
 */
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gzipFile, writeTar } from "./support/flists.ts";
import { type Stack, startStack } from "./support/stack.ts";

const CAP = 1024 * 1024;
const USER = "e2e-refusals";
let stack: Stack;
let work: string;

beforeAll(async () => {
  work = await fs.promises.mkdtemp(path.join(os.tmpdir(), "zhub-refusals-"));
  stack = await startStack({ workerVars: { HUB_UPLOAD_FORM_MAX_BYTES: String(CAP) } });
});

afterAll(async () => {
  await stack?.stop();
  if (work) await fs.promises.rm(work, { recursive: true, force: true });
});

/** A name as HTTP carries it in a header: its UTF-8 bytes (node:http writes each char below 256 as one byte). */
const asHeader = (s: string) => Buffer.from(s, "utf8").toString("latin1");

interface Answer {
  status: number;
  body: string;
}

/**
 * Sends `head`, then `size` filler bytes, then `tail`, with a declared length or chunked, on a fresh connection;
 * answers what the client saw (a transport error is thrown, as the client would report it).
 */
function send(method: string, route: string, headers: Record<string, string>, parts: { head?: Buffer; size: number; tail?: Buffer }, chunked = false): Promise<Answer> {
  const head = parts.head ?? Buffer.alloc(0);
  const tail = parts.tail ?? Buffer.alloc(0);
  const total = head.length + parts.size + tail.length;
  return new Promise((resolve, reject) => {
    const req = http.request(
      new URL(route, stack.hubUrl),
      { method, agent: false, headers: { ...headers, ...(chunked ? {} : { "content-length": String(total) }) } },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.write(head);
    const piece = Buffer.alloc(64 * 1024, 7);
    let left = parts.size;
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, piece.length);
        left -= n;
        if (!req.write(piece.subarray(0, n))) return void req.once("drain", pump);
      }
      req.end(tail);
    };
    pump();
  });
}

function formParts(filename: string, size: number): { head: Buffer; size: number; tail: Buffer; type: string } {
  const boundary = "----zhub-e2e-boundary";
  return {
    head: Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/gzip\r\n\r\n`),
    size,
    tail: Buffer.from(`\r\n--${boundary}--\r\n`),
    type: `multipart/form-data; boundary=${boundary}`,
  };
}

async function listing(user: string): Promise<unknown> {
  const res = await fetch(`${stack.hubUrl}/api/flist/${encodeURIComponent(user)}`);
  return [res.status, await res.json()];
}

describe("a form over the cap", () => {
  it("is answered 413 with its message, every time, declared or chunked, on both form routes", async () => {
    const auth = await stack.auth(USER);
    const message = `request body larger than ${CAP} bytes: use PUT /api/flist/me/upload/<name>.tar.gz (streamed body) or the resumable protocol POST /api/flist/me/uploads`;
    const runs: [route: string, file: string, chunked: boolean][] = [
      ...Array.from({ length: 8 }, () => ["/api/flist/me/upload", "big.tar.gz", false] as [string, string, boolean]),
      ...Array.from({ length: 3 }, () => ["/api/flist/me/upload", "big.tar.gz", true] as [string, string, boolean]),
      ...Array.from({ length: 3 }, () => ["/api/flist/me/upload-flist", "big.flist", false] as [string, string, boolean]),
    ];
    for (const [i, [route, file, chunked]] of runs.entries()) {
      const form = formParts(file, 16 * CAP);
      const answer = await send("POST", route, { ...auth, "content-type": form.type }, form, chunked);
      expect(answer.status, `run ${i} ${route}${chunked ? " chunked" : ""}: ${answer.body}`).toBe(413);
      expect(JSON.parse(answer.body)).toEqual({ status: "error", message });
    }
    expect(await listing(USER)).toEqual([404, { status: "error", message: "user not found" }]);
  });
});

describe("names over the wire", () => {
  it("a streamed upload refused on its name is answered 400 every time and creates nothing", async () => {
    const auth = await stack.auth(USER);
    for (let i = 0; i < 5; i++) {
      const answer = await send("PUT", "/api/flist/me/upload/ok.tar.gz", { ...auth, "x-original-name": asHeader("evil\u202ecod.exe.tar.gz") }, { size: 8 * CAP });
      expect(answer.status, `run ${i}: ${answer.body}`).toBe(400);
      expect(JSON.parse(answer.body)).toEqual({
        status: "error",
        message: 'invalid name: name "evil\\u202ecod.exe" is not allowed: it contains a bidirectional text control (U+202E)',
      });
    }
    expect(await listing(USER)).toEqual([404, { status: "error", message: "user not found" }]);
  });

  it("X-Original-Name in UTF-8 publishes the name as written", async () => {
    const tarPath = path.join(work, "app.tar");
    await writeTar(tarPath, [{ name: "hello.txt", body: Buffer.from("hello\n") }]);
    await gzipFile(tarPath, `${tarPath}.gz`);
    const archive = await fs.promises.readFile(`${tarPath}.gz`);
    const auth = await stack.auth(USER);
    const res = await new Promise<Answer>((resolve, reject) => {
      const req = http.request(
        new URL("/api/flist/me/upload/app.tar.gz", stack.hubUrl),
        { method: "PUT", agent: false, headers: { ...auth, "x-original-name": asHeader("/home/u/☃-é.tar.gz"), "content-length": String(archive.length) } },
        (r) => {
          let body = "";
          r.setEncoding("utf8");
          r.on("data", (d: string) => (body += d));
          r.on("end", () => resolve({ status: r.statusCode ?? 0, body }));
        },
      );
      req.on("error", reject);
      req.end(archive);
    });
    expect(res.status, res.body).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ status: "success", payload: { name: "☃-é.flist" } });
    const [status, entries] = (await listing(USER)) as [number, { name: string }[]];
    expect(status).toBe(200);
    expect(entries.map((e) => e.name)).toEqual(["☃-é.flist"]);
    expect((await fetch(`${stack.hubUrl}/${USER}/${encodeURIComponent("☃-é")}.flist`)).status).toBe(200);
  });
});

describe("wrong files say what they are", () => {
  const notes = Buffer.from("my notes, not an archive\n");
  const NOT_AN_ARCHIVE =
    "invalid archive: archive: not a tar or tar.gz archive: the file looks like plain text; accepted: .tar.gz (gzip-compressed tar) or .tar [rule: not-an-archive]";

  async function formUpload(filename: string, bytes: Buffer): Promise<{ status: number; body: { status: string; message?: string } }> {
    const form = new FormData();
    form.append("file", new File([new Uint8Array(bytes)], filename));
    const res = await fetch(`${stack.hubUrl}/api/flist/me/upload`, { method: "POST", headers: await stack.auth(USER), body: form });
    return { status: res.status, body: (await res.json()) as { status: string; message?: string } };
  }

  it("a text file named .tar.gz: the Worker (form) and the converter (streamed) answer 422 in the same words", async () => {
    const form = await formUpload("notes.tar.gz", notes);
    expect(form).toEqual({ status: 422, body: { status: "error", message: NOT_AN_ARCHIVE } });
    const streamed = await fetch(`${stack.hubUrl}/api/flist/me/upload/notes.tar.gz`, {
      method: "PUT",
      headers: await stack.auth(USER),
      body: new Uint8Array(notes),
    });
    expect(streamed.status).toBe(422);
    expect(await streamed.json()).toEqual({ status: "error", message: NOT_AN_ARCHIVE });
  });

  it("a zip: the form upload names it, the streamed one names what is accepted", async () => {
    const zip = Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(600, 1)]);
    const accepted = "accepted: a .tar.gz file (a gzip-compressed tar archive)";
    expect(await formUpload("site.zip", zip)).toEqual({
      status: 400,
      body: { status: "error", message: `this file is not allowed: "site.zip" starts like a zip archive; ${accepted}` },
    });
    const streamed = await fetch(`${stack.hubUrl}/api/flist/me/upload/site.zip`, { method: "PUT", headers: await stack.auth(USER), body: new Uint8Array(zip) });
    expect(streamed.status).toBe(400);
    expect(await streamed.json()).toEqual({ status: "error", message: `this file is not allowed: "site.zip" does not end in .tar.gz; ${accepted}` });
  });
});
