/** Progress on stderr: a bar redrawn in place on a terminal, sparse plain lines otherwise, silence for short runs. */
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { Progress } from "../src/cli/progress.ts";

function sink(tty: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream & PassThrough;
  let text = "";
  stream.on("data", (d: Buffer) => (text += d.toString()));
  (stream as { isTTY?: boolean }).isTTY = tty;
  return { stream, text: () => text };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("Progress", () => {
  it("draws a bar with \\r on a terminal, and ends the line when done", async () => {
    const out = sink(true);
    const progress = new Progress("create", out.stream, 0);
    progress.update({ done: 50 * 1024 * 1024, total: 100 * 1024 * 1024, detail: "12 files" });
    progress.done();
    await tick();
    expect(out.text()).toMatch(/^\r\x1b\[K\[#{15}\.{15}\]  50% create: 50\.0\/100\.0 MiB 12 files \(\d+ s\)\n$/);
  });

  it("prints plain lines (no control characters), at most one every few seconds, when not a terminal", async () => {
    const out = sink(false);
    const progress = new Progress("create", out.stream, 0);
    for (let i = 1; i <= 100; i++) progress.update({ done: i * 1024 * 1024, total: 0, detail: `${i} files` });
    progress.done();
    await tick();
    expect(out.text()).toBe(`create: 1.0 MiB 1 files (0 s)\n`);
  });

  it("says nothing for runs shorter than its delay", async () => {
    const out = sink(true);
    const progress = new Progress("create", out.stream, 60_000);
    progress.update({ done: 1, total: 2, detail: "" });
    progress.done();
    await tick();
    expect(out.text()).toBe("");
  });
});
