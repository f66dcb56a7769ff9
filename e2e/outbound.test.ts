/**
 * Outbound-request hardening end to end (docs/outbound.md), through the running local stack: docker conversions
 * naming internal addresses in every spelling, and registries that send the converter to one (a redirect, a token
 * realm), are refused with a clear 403 while a listener on the loopback port records that no connection ever
 * arrived; an open port that is not a registry and a closed one answer the same 502; an image reference carrying
 * `user:password@` is refused with that reason, and the password appears in no answer, job and log.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RecordingListener, startRecordingListener } from "../converter/test/support/listener.ts";
import { freePort } from "../converter/test/support/registry.ts";
import { type Stack, startStack } from "./support/stack.ts";

const USER = "e2e-outbound";
const PASSWORD = "Inline-Pa55word-never-echoed";

let stack: Stack;
/** Dual-stack, on `::`: sees connections to 127.0.0.1, ::1, 0.0.0.0… on its port. */
let listener: RecordingListener;
/** Open ports that are not registries (a line of garbage, then close), on 127.0.0.1 and 127.0.0.2. */
let garbage: RecordingListener;
let garbageTls: RecordingListener;
let closedPort: number;
let closedTlsPort: number;
/** An insecure-listed "registry" that sends the client to the listener: a redirect, or a token realm. */
let front: Server;
let frontHost: string;

beforeAll(async () => {
  listener = await startRecordingListener();
  [garbage, garbageTls, closedPort, closedTlsPort] = await Promise.all([
    startRecordingListener({ host: "127.0.0.1", behaviour: "garbage" }),
    startRecordingListener({ host: "127.0.0.2", behaviour: "garbage" }),
    freePort(),
    freePort(),
  ]);
  front = createServer((req, res) => {
    if (req.url?.startsWith("/v2/redirect/")) res.writeHead(307, { location: `https://localhost:${listener.port}/blob` }).end();
    else res.writeHead(401, { "www-authenticate": `Bearer realm="https://127.0.0.1:${listener.port}/token",service="x"` }).end();
  });
  await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
  frontHost = `127.0.0.1:${(front.address() as AddressInfo).port}`;
  stack = await startStack({
    converterEnv: {
      // Plain-HTTP registries the operator trusts on loopback; 127.0.0.2 (HTTPS) allowed by address.
      HUB_INSECURE_REGISTRIES: [frontHost, `127.0.0.1:${garbage.port}`, `127.0.0.1:${closedPort}`].join(","),
      HUB_OUTBOUND_ALLOW: "127.0.0.2/32",
    },
  });
}, 300_000);

afterAll(async () => {
  await stack?.stop();
  front?.closeAllConnections();
  await Promise.all([
    listener?.close(),
    garbage?.close(),
    garbageTls?.close(),
    new Promise<void>((resolve) => (front ? front.close(() => resolve()) : resolve())),
  ]);
});

interface Answer {
  status: number;
  message: string;
  job: string;
  text: string;
}

async function convert(image: string, extra: Record<string, unknown> = {}, query = ""): Promise<Answer> {
  const headers = { ...(await stack.auth(USER)), "content-type": "application/json" };
  const res = await fetch(`${stack.hubUrl}/api/flist/me/docker${query}`, { method: "POST", headers, body: JSON.stringify({ image, ...extra }) });
  const text = await res.text();
  return { status: res.status, message: (JSON.parse(text) as { message?: string }).message ?? "", job: res.headers.get("x-hub-job") ?? "", text };
}

/** The failed job behind an answer: its record and its event log agree with the answer. */
async function expectFailedJob(answer: Answer): Promise<string> {
  expect(answer.job).not.toBe("");
  const record = await (await fetch(`${stack.hubUrl}/api/jobs/${answer.job}`)).text();
  expect(JSON.parse(record)).toMatchObject({ payload: { status: "failed", message: answer.message } });
  const events = await (await fetch(`${stack.hubUrl}/api/jobs/${answer.job}/events`)).text();
  return record + events;
}

describe("internal addresses are refused before any connection", () => {
  it("every spelling of loopback, unspecified and metadata addresses: 403, and the listener saw nothing", async () => {
    const p = listener.port;
    const hostile: Array<[string, RegExp]> = [
      [`127.0.0.1:${p}/x:latest`, /127\.0\.0\.1 is a loopback address/],
      [`localhost:${p}/x:latest`, /localhost resolves to an address this hub does not connect to/],
      [`[::1]:${p}/x:latest`, /::1 is a loopback address/],
      [`0.0.0.0:${p}/x:latest`, /0\.0\.0\.0 is an unspecified address/],
      [`127.1:${p}/x:latest`, /127\.0\.0\.1 is a loopback address/],
      [`2130706433:${p}/x:latest`, /127\.0\.0\.1 is a loopback address/],
      [`0177.0.0.1:${p}/x:latest`, /127\.0\.0\.1 is a loopback address/],
      [`0x7f.1:${p}/x:latest`, /127\.0\.0\.1 is a loopback address/],
      [`[::ffff:127.0.0.1]:${p}/x:latest`, /127\.0\.0\.1 is a loopback address/],
      [`169.254.169.254/x:latest`, /169\.254\.169\.254 is a cloud metadata address/],
      [`169.254.169.254:${p}/x:latest`, /169\.254\.169\.254 is a cloud metadata address/],
    ];
    for (const [image, reason] of hostile) {
      const answer = await convert(image);
      expect(answer.status, `${image}: ${answer.text}`).toBe(403);
      expect(answer.message).toMatch(/^registry \S+ is not allowed: /);
      expect(answer.message).toMatch(reason);
      await expectFailedJob(answer);
    }
    expect(listener.connections).toEqual([]);
  });

  it("a redirect or a token realm pointing at an internal address is refused at that hop", async () => {
    const redirect = await convert(`${frontHost}/redirect/app:v1`);
    expect(redirect.status, redirect.text).toBe(403);
    expect(redirect.message).toBe(`localhost:${listener.port} (a redirect of registry ${frontHost}) is not allowed: localhost resolves to an address this hub does not connect to`);
    await expectFailedJob(redirect);
    const realm = await convert(`${frontHost}/realm/app:v1`);
    expect(realm.status, realm.text).toBe(403);
    expect(realm.message).toBe(
      `the token service of ${frontHost} (127.0.0.1:${listener.port}) is not allowed: 127.0.0.1 is a loopback address, which this hub does not connect to`,
    );
    await expectFailedJob(realm);
    expect(listener.connections).toEqual([]);
  });
});

describe("no port-scan oracle", () => {
  it("an open port that is not a registry and a closed port give the same answer, over HTTP and HTTPS", async () => {
    const targets = [`127.0.0.1:${garbage.port}`, `127.0.0.1:${closedPort}`, `127.0.0.2:${garbageTls.port}`, `127.0.0.2:${closedTlsPort}`];
    const answers: string[] = [];
    for (const host of targets) {
      const answer = await convert(`${host}/x:v1`);
      expect(answer.status, answer.text).toBe(502);
      const events = await expectFailedJob(answer);
      answers.push(answer.message.replace(host, "HOST"));
      expect(events).not.toMatch(/ECONNREFUSED|TLS|reset|timed out/i);
    }
    expect(new Set(answers)).toEqual(new Set(["could not reach registry HOST"]));
    // The open ports were really reached (so the answers above are the same for open and closed).
    expect(garbage.connections.length).toBeGreaterThan(0);
    expect(garbageTls.connections.length).toBeGreaterThan(0);
  });
});

describe("inline credentials", () => {
  it("user:password@registry/… is refused with that reason, the password nowhere", async () => {
    const before = (await (await fetch(`${stack.hubUrl}/api/jobs`, { headers: await stack.auth(USER) })).json()) as { payload: { jobs: unknown[] } };
    const answers: Answer[] = [
      await convert(`bob:${PASSWORD}@registry.example/app:v1`),
      await convert(`bob:${PASSWORD}@127.0.0.1:${listener.port}/app:v1`, {}, "?async=1"),
      await convert(`bob:${PASSWORD}@registry.example/app@sha256:${"a".repeat(64)}`, { username: "bob", password: "other-pass-word" }),
    ];
    const form = new FormData();
    form.append("image", `bob:${PASSWORD}@registry.example/app`);
    const res = await fetch(`${stack.hubUrl}/api/flist/me/docker`, { method: "POST", headers: await stack.auth(USER), body: form });
    const formText = await res.text();
    answers.push({ status: res.status, message: (JSON.parse(formText) as { message: string }).message, job: res.headers.get("x-hub-job") ?? "", text: formText });
    for (const answer of answers) {
      expect(answer.status, answer.text).toBe(400);
      expect(answer.message).toBe(
        "invalid image reference: credentials cannot be part of the image reference (user:password@registry/…); send them as the username and password (or token) fields",
      );
      expect(answer.text).not.toContain(PASSWORD);
      expect(answer.job).toBe("");
    }
    // No job was created, so nothing could reach an event log or the converter.
    const after = (await (await fetch(`${stack.hubUrl}/api/jobs`, { headers: await stack.auth(USER) })).json()) as { payload: { jobs: unknown[] } };
    expect(after.payload.jobs.length).toBe(before.payload.jobs.length);
    expect(stack.logs()).not.toContain(PASSWORD);
    expect(listener.connections).toEqual([]);
  });
});
