/**
 * `npm run converter` / the container's command: the converter service, configured by the environment
 * (docs/jobs-protocol.md "Configuration"). SIGTERM/SIGINT stop it: running jobs are abandoned without a `fail`,
 * so the Worker dispatches them again when their leases expire.
 */
import { ConfigError, loadConfig } from "./config.ts";
import { startConverter } from "./server.ts";

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`converter: ${err.message}`);
    process.exit(2);
  }
  throw err;
}

const service = await startConverter(config).catch((err: unknown) => {
  console.error(`converter: cannot listen on ${config.host}:${config.port}: ${(err as Error).message}`);
  process.exit(1);
});
service.log.info(
  `converter listening on ${service.url} (hub ${config.hubUrl}, chunk store ${config.storeDescription}, backend ${config.backendText}, ${config.concurrency} jobs at a time)`,
);

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  service.log.info(`converter: ${signal}, stopping`);
  const force = setTimeout(() => process.exit(1), 10_000);
  force.unref();
  void service.close().then(() => process.exit(0));
};
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGINT"));
