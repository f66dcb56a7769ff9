/**
 * `npm run deploy`: provisions what the hub needs on a Cloudflare account and deploys it, idempotently (run.ts;
 * docs/self-hosting.md). `--dry-run` prints the plan and changes nothing. Exit 1 on a refused or failed run, with
 * the reason on stderr; 2 on bad arguments.
 */
import { DeployError, deploy } from "./run.ts";
import { USAGE, UsageError, parseOptions } from "./options.ts";
import { WranglerError } from "./wrangler.ts";

async function main(): Promise<void> {
  let options;
  try {
    options = parseOptions(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(err.message ? `npm run deploy: ${err.message}\n${USAGE}` : USAGE);
    process.exit(err.message ? 2 : 0);
  }
  try {
    await deploy(options, process.env, { line: (text) => console.log(text) });
  } catch (err) {
    // Refusals and wrangler's failures are explained by their message; anything else keeps its stack.
    const known = err instanceof DeployError || err instanceof WranglerError;
    console.error(`npm run deploy: ${known ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  }
}

await main();
