/**
 * A throw-away TLS certificate for serving the local stack over HTTPS (LXD/Incus refuse plain-HTTP remotes):
 * self-signed for 127.0.0.1 and localhost, generated with openssl into a temporary directory the caller removes.
 * Clients trust it per process, never through the system store: `SSL_CERT_FILE` for Go programs (lxc),
 * `NODE_EXTRA_CA_CERTS` for Node children, `--cacert` for curl, the `ca` option of node:https.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";

export interface TestCert {
  dir: string;
  keyPath: string;
  certPath: string;
  /** Removes the key, the certificate and their directory. */
  remove(): void;
}

export function makeTestCert(): TestCert {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zhub-tls-"));
  const keyPath = path.join(dir, "key.pem");
  const certPath = path.join(dir, "cert.pem");
  execFileSync(
    "openssl",
    [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", keyPath, "-out", certPath, "-days", "2", "-subj", "/CN=zos-hub e2e",
      "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "-addext", "basicConstraints=critical,CA:TRUE",
      "-addext", "extendedKeyUsage=serverAuth",
    ],
    { stdio: "ignore" },
  );
  return { dir, keyPath, certPath, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** GET `url` trusting `certPath`: the status, or null when nothing answers (yet). */
export function httpsStatus(url: string, certPath: string, timeoutMs = 2000): Promise<number | null> {
  return new Promise((resolve) => {
    const req = https.get(url, { ca: fs.readFileSync(certPath), timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode ?? null);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(null));
  });
}

/** Waits until `url` answers 200 over TLS trusted with `certPath`. */
export async function waitForHttps(url: string, certPath: string, alive: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`the server exited before answering on ${url}`);
    if ((await httpsStatus(url, certPath)) === 200) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no HTTPS answer from ${url} after ${timeoutMs / 1000} s`);
}
