/**
 * Stand-in for "no converter is running", for the Worker tests in workerd (worker/vitest.config.ts; it lives
 * here because it runs in Node). No converter runs
 * beside workerd in these tests; a test that needs one answers the Worker's calls itself (support/jobs.ts
 * `stubConverter`). Every other dispatch — a queued job's Queue delivery that no test waits for — reaches this
 * loopback server, which answers what a busy converter answers (503, the job stays queued: docs/jobs-protocol.md).
 *
 * Why not an address that cannot be reached: workerd reports each failed outbound connection of a Queue
 * consumer as an uncaught "internal error" with a native stack dump, even though the Worker catches the fetch's
 * rejection (worker/src/jobs/dispatch.ts), which buried real failures in the test output.
 */
import http from "node:http";

export async function startNoConverter(): Promise<{ url: string; close(): void }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(503, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ status: "error", message: "no converter runs in the Worker tests" }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  // The test run may end while the server is open: it must not keep the process alive.
  server.unref();
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => server.close() };
}
