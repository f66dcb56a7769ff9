/**
 * `npm run token -- <user> [--max-age <duration>]`: mints an API token for <user>, in the original hub's
 * format, and prints it alone on the last line of stdout (notes go to stderr), so `$(npm run -s token -- u)` works.
 *
 * Seed: `HUB_SIGNING_SEED` from the environment when set (production: the same value as the wrangler secret),
 * otherwise the local `.dev.vars` (generated on first use).
 *
 * Expiry: the token format has no expiry field (it must stay byte-compatible), so nothing is embedded. The hub
 * refuses tokens older than its `HUB_TOKEN_MAX_AGE`; this script only tells when that will happen, taking the
 * max age from `--max-age`, else `HUB_TOKEN_MAX_AGE` in the environment, else wrangler.toml.
 */
import { parseArgs } from "node:util";
import { quietOnClosedPipes } from "../converter/src/cli/pipes.ts";
import { refusal, repositoryProblem } from "../protocol/name-rule.ts";
import { isValidSeedHex, signToken } from "../worker/src/auth/tokens.ts";
import { ensureDevVars, wranglerVar } from "./lib/devvars.ts";
import { formatDuration, parseDuration } from "./lib/duration.ts";

const USAGE = "usage: npm run token -- <user> [--max-age <duration: 3600 | 90s | 15m | 12h | 30d | 2w>]";

function die(message: string): never {
  console.error(message);
  process.exit(2);
}

function main(): Promise<void> | void {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: { "max-age": { type: "string" }, help: { type: "boolean", short: "h" } },
    });
  } catch (err) {
    die(`${(err as Error).message}\n${USAGE}`);
  }
  if (parsed.values.help) {
    console.error(USAGE);
    return;
  }
  const [user, ...rest] = parsed.positionals;
  if (!user || rest.length > 0) die(USAGE);
  // The repository rule: the user is also the name of its repository, which the hub refuses to act as otherwise.
  const problem = repositoryProblem(user);
  if (problem) die(`invalid user: ${refusal(user, problem)}`);

  let seed: string;
  let seedSource: string;
  if (process.env.HUB_SIGNING_SEED) {
    seed = process.env.HUB_SIGNING_SEED.trim();
    seedSource = "HUB_SIGNING_SEED from the environment";
  } else {
    const { vars, created } = ensureDevVars();
    seed = vars.HUB_SIGNING_SEED ?? "";
    seedSource = created.includes("HUB_SIGNING_SEED") ? ".dev.vars (new local seed generated)" : ".dev.vars (local seed)";
  }
  if (!isValidSeedHex(seed)) die(`the signing seed (${seedSource}) must be 64 hexadecimal characters`);

  let maxAge: number;
  let maxAgeSource: string;
  try {
    if (parsed.values["max-age"] !== undefined) {
      maxAge = parseDuration(parsed.values["max-age"]);
      maxAgeSource = "--max-age";
    } else if (process.env.HUB_TOKEN_MAX_AGE) {
      maxAge = parseDuration(process.env.HUB_TOKEN_MAX_AGE);
      maxAgeSource = "HUB_TOKEN_MAX_AGE";
    } else {
      maxAge = parseDuration(wranglerVar("HUB_TOKEN_MAX_AGE") ?? "0");
      maxAgeSource = "wrangler.toml HUB_TOKEN_MAX_AGE";
    }
  } catch (err) {
    die((err as Error).message);
  }

  const issuedAt = Math.floor(Date.now() / 1000);
  return signToken(seed, user, issuedAt).then((token) => {
    console.error(`token for ${JSON.stringify(user)}, signed with ${seedSource}`);
    console.error(
      maxAge === 0
        ? `never expires (max age 0 per ${maxAgeSource}); revoke with POST /api/flist/me/tokens/revoke`
        : `expires ${new Date((issuedAt + maxAge) * 1000).toISOString()} (max age ${formatDuration(maxAge)} per ${maxAgeSource}; the hub enforces its own HUB_TOKEN_MAX_AGE)`,
    );
    console.error(`use: curl -H "Authorization: bearer <token>" <hub>/api/flist/me`);
    process.stdout.write(`${token}\n`);
  });
}

// A reader that is gone (`… | zhub login` when zhub failed to start) must not turn into a stack trace here.
quietOnClosedPipes();
await main();
