/**
 * `zhub flist <command> …` (local flist tools), `zhub <hub command> …` (hub/commands.ts), `zhub completion
 * <shell>` and `zhub --version`: dispatch and error reporting. Exit codes: 0 success, 1 failure (bad input,
 * missing chunks, store errors, the hub's refusals: one readable line on stderr), 2 usage error.
 */
import { SHELLS, type Shell, completionScript } from "./completion.ts";
import { FLIST_COMMANDS, FLIST_USAGE } from "./flist.ts";
import { HUB_COMMANDS, HUB_USAGE } from "./hub/commands.ts";
import { type Io, UsageError, processIo } from "./io.ts";
import { VERSION } from "./version.ts";

const USAGE = `usage: zhub flist <command> [options]   (zhub flist --help for the commands)
       zhub <login|whoami|upload|push|merge|ls|link|rename|promote|tag|untag|rm|job> …   (zhub help for the hub commands)
       zhub completion <bash|zsh|fish>   (a shell completion script)
       zhub --version
`;

const COMPLETION_USAGE = `usage: zhub completion <bash|zsh|fish>
  bash: source <(zhub completion bash), or save it as ~/.local/share/bash-completion/completions/zhub
  zsh:  source <(zhub completion zsh) after compinit, or save it as _zhub in a directory of $fpath
  fish: zhub completion fish | source, or save it as ~/.config/fish/completions/zhub.fish
`;

const isHelp = (word: string | undefined) => word === "--help" || word === "-h" || word === "help";

export async function run(argv: string[], io: Io = processIo): Promise<number> {
  const [area, command, ...rest] = argv;
  if (area === undefined || isHelp(area)) {
    await io.out(area === undefined ? USAGE : `${HUB_USAGE}\n${FLIST_USAGE}\n${COMPLETION_USAGE}`);
    return area === undefined ? 2 : 0;
  }
  if (area === "--version" || area === "-V" || area === "version") {
    await io.out(`zhub ${VERSION}\n`);
    return 0;
  }
  if (area === "completion") return completion(argv.slice(1), io);
  if (Object.hasOwn(HUB_COMMANDS, area)) return runHub(area, HUB_COMMANDS[area as keyof typeof HUB_COMMANDS], argv.slice(1), io);
  if (area !== "flist") return usage(io, `unknown command '${area}'`, USAGE);
  if (command === undefined || isHelp(command)) {
    await io.out(FLIST_USAGE);
    return command === undefined ? 2 : 0;
  }
  if (!Object.hasOwn(FLIST_COMMANDS, command)) return usage(io, `unknown flist command '${command}'`, FLIST_USAGE);
  if (rest.includes("--help") || rest.includes("-h")) {
    await io.out(FLIST_USAGE);
    return 0;
  }
  try {
    return await FLIST_COMMANDS[command as keyof typeof FLIST_COMMANDS](rest, io);
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

async function completion(args: string[], io: Io): Promise<number> {
  const [shell, ...extra] = args;
  if (isHelp(shell)) {
    await io.out(COMPLETION_USAGE);
    return 0;
  }
  if (shell === undefined || extra.length > 0) return usage(io, "completion: expected one shell", COMPLETION_USAGE);
  if (!(SHELLS as readonly string[]).includes(shell)) return usage(io, `completion: unknown shell '${shell}'`, COMPLETION_USAGE);
  await io.out(completionScript(shell as Shell));
  return 0;
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
