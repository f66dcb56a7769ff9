/**
 * `zhub flist <command> …` (local flist tools) and `zhub <hub command> …` (hub/commands.ts) dispatch and error
 * reporting. Exit codes: 0 success, 1 failure (bad input, missing chunks, store errors, the hub's refusals: one
 * readable line on stderr), 2 usage error.
 */
import { FLIST_COMMANDS, FLIST_USAGE } from "./flist.ts";
import { HUB_COMMANDS, HUB_USAGE } from "./hub/commands.ts";
import { type Io, UsageError, processIo } from "./io.ts";

const USAGE = `usage: zhub flist <command> [options]   (zhub flist --help for the commands)
       zhub <login|whoami|upload|push|merge|ls|link|rename|promote|tag|untag|rm|job> …   (zhub help for the hub commands)
`;

export async function run(argv: string[], io: Io = processIo): Promise<number> {
  const [area, command, ...rest] = argv;
  if (area === undefined || area === "--help" || area === "-h" || area === "help") {
    await io.out(area === undefined ? USAGE : `${HUB_USAGE}\n${FLIST_USAGE}`);
    return area === undefined ? 2 : 0;
  }
  const hubCommand = HUB_COMMANDS[area];
  if (hubCommand !== undefined) return runHub(area, hubCommand, argv.slice(1), io);
  if (area !== "flist") return usage(io, `unknown command '${area}'`, USAGE);
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    await io.out(FLIST_USAGE);
    return command === undefined ? 2 : 0;
  }
  const handler = FLIST_COMMANDS[command];
  if (handler === undefined) return usage(io, `unknown flist command '${command}'`, FLIST_USAGE);
  try {
    return await handler(rest, io);
  } catch (err) {
    if (err instanceof UsageError) return usage(io, `flist ${command}: ${err.message}`, FLIST_USAGE);
    const message = err instanceof Error ? err.message : String(err);
    await io.err(`zhub: flist ${command}: ${message}\n`);
    if (process.env.ZHUB_DEBUG && err instanceof Error && err.stack) await io.err(`${err.stack}\n`);
    return 1;
  }
}

async function usage(io: Io, message: string, text: string): Promise<number> {
  await io.err(`zhub: ${message}\n${text}`);
  return 2;
}

async function runHub(name: string, handler: (args: string[], io: Io) => Promise<number>, args: string[], io: Io): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    await io.out(HUB_USAGE);
    return 0;
  }
  try {
    return await handler(args, io);
  } catch (err) {
    if (err instanceof UsageError) return usage(io, `${name}: ${err.message}`, HUB_USAGE);
    const message = err instanceof Error ? err.message : String(err);
    await io.err(`zhub: ${name}: ${message}\n`);
    if (process.env.ZHUB_DEBUG && err instanceof Error && err.stack) await io.err(`${err.stack}\n`);
    return 1;
  }
}
