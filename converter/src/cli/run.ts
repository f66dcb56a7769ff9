/**
 * `zhub <area> <command> …` dispatch and error reporting. Exit codes: 0 success, 1 failure (bad input, missing
 * chunks, store errors: one readable line on stderr), 2 usage error.
 */
import { FLIST_COMMANDS, FLIST_USAGE } from "./flist.ts";
import { type Io, UsageError, processIo } from "./io.ts";

const USAGE = `usage: zhub flist <command> [options]   (zhub flist --help for the commands)\n`;

export async function run(argv: string[], io: Io = processIo): Promise<number> {
  const [area, command, ...rest] = argv;
  if (area === undefined || area === "--help" || area === "-h" || area === "help") {
    await io.out(area === undefined ? USAGE : FLIST_USAGE);
    return area === undefined ? 2 : 0;
  }
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
