/**
 * `zhub completion bash|zsh|fish`: a completion script for the shell. The commands, flist subcommands and each
 * command's options come from the tables the parsers use (HUB_COMMAND_OPTIONS, FLIST_COMMAND_OPTIONS), written
 * into the script as plain lists: pressing Tab never starts node. Local paths are completed where a command
 * takes them (upload, push, every flist command); hub names (link, rename, rm…) are not, that would need a
 * request per Tab.
 */
import { FLIST_COMMAND_OPTIONS, FLIST_OPTIONS, type FlistCommandName } from "./flist.ts";
import { HUB_COMMAND_OPTIONS, HUB_COMMON_OPTIONS, HUB_OPTIONS, type HubCommandName } from "./hub/commands.ts";
import { VERSION } from "./version.ts";

export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = (typeof SHELLS)[number];

interface Option {
  /** Without the leading `--`. */
  name: string;
  /** Takes a value (`--name N`): the next word is not completed. */
  value: boolean;
}

interface CommandSpec {
  /** `upload`, or `flist create` for a flist subcommand. */
  key: string;
  name: string;
  about: string;
  options: Option[];
  /** Its arguments are local paths. */
  files: boolean;
  /** Its argument is one of these words. */
  choices?: readonly string[];
}

const HUB_ABOUT: Record<HubCommandName, string> = {
  login: "store the hub address and an API token",
  whoami: "the repository the token acts for",
  upload: "upload an archive, converted to a flist by the hub",
  push: "build a flist here, upload the chunks the hub lacks, publish it",
  merge: "merge flists of the hub into one",
  ls: "list a repository",
  link: "link to a flist (crosslink to another repository's)",
  rename: "rename a flist or link",
  promote: "copy another repository's flist into yours",
  tag: "add a flist to a tag",
  untag: "remove a flist from a tag",
  rm: "delete a flist, link or tag",
  job: "show or follow a publishing job",
};

const FLIST_ABOUT: Record<FlistCommandName, string> = {
  create: "build a flist from a directory or archive",
  ls: "list a directory of a flist",
  find: "list every entry of a flist",
  stat: "one entry of a flist",
  get: "extract a file (chunks from the store)",
  cat: "print a file (chunks from the store)",
  merge: "merge flists into one",
  check: "check that every chunk is in the store",
  metadata: "list, show or set metadata",
};

const HELP: Option = { name: "help", value: false };

function optionsOf(names: readonly string[], table: Record<string, { type: "string" | "boolean" }>): Option[] {
  return [...names.map((name) => ({ name, value: table[name]?.type === "string" })), HELP];
}

const hubCommands: CommandSpec[] = (Object.keys(HUB_COMMAND_OPTIONS) as HubCommandName[]).map((name) => ({
  key: name,
  name,
  about: HUB_ABOUT[name],
  options: optionsOf([...HUB_COMMAND_OPTIONS[name], ...HUB_COMMON_OPTIONS], HUB_OPTIONS),
  files: name === "upload" || name === "push",
}));

const flistCommands: CommandSpec[] = (Object.keys(FLIST_COMMAND_OPTIONS) as FlistCommandName[]).map((name) => ({
  key: `flist ${name}`,
  name,
  about: FLIST_ABOUT[name],
  options: optionsOf(FLIST_COMMAND_OPTIONS[name], FLIST_OPTIONS),
  files: true,
}));

const completionCommand: CommandSpec = {
  key: "completion",
  name: "completion",
  about: "print a shell completion script",
  options: [HELP],
  files: false,
  choices: SHELLS,
};

/** The first word: commands, then the flags that stand alone. */
const TOP: Array<{ word: string; about: string }> = [
  ...hubCommands.map((c) => ({ word: c.name, about: c.about })),
  { word: "flist", about: "local flist tools" },
  { word: completionCommand.name, about: completionCommand.about },
  { word: "help", about: "every command and option" },
  { word: "--version", about: "print the version" },
  { word: "--help", about: "every command and option" },
];
const FLIST_TOP = [...flistCommands.map((c) => ({ word: c.name, about: c.about })), { word: "--help", about: "the flist commands" }];
const SPECS = [...hubCommands, ...flistCommands, completionCommand];

const flags = (options: Option[]) => options.map((o) => `--${o.name}`);
const valued = (options: Option[]) => options.filter((o) => o.value).map((o) => `--${o.name}`);
/** Single-quoted for any of the three shells (the texts here hold no newline). */
const quote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

const header = (shell: Shell, load: string, install: string) =>
  `# ${shell} completion for zhub ${VERSION} (zhub completion ${shell})\n# Load it in this shell: ${load}\n# For every new shell: ${install}\n`;

function bash(): string {
  const arms = SPECS.map(
    (c) =>
      `    ${quote(c.key)}) opts=${quote(flags(c.options).join(" "))}; values=${quote(valued(c.options).join(" "))}` +
      `${c.files ? "; files=1" : ""}${c.choices ? `; choices=${quote(c.choices.join(" "))}` : ""} ;;`,
  );
  return `${header("bash", "source <(zhub completion bash)", "zhub completion bash > ~/.local/share/bash-completion/completions/zhub   (the bash-completion package loads it)")}
_zhub() {
  local cur=\${COMP_WORDS[COMP_CWORD]-} prev=\${COMP_WORDS[COMP_CWORD-1]-} key=\${COMP_WORDS[1]-} first=2
  local opts="" values="" files="" choices=""
  COMPREPLY=()
  if (( COMP_CWORD == 1 )); then
    mapfile -t COMPREPLY < <(compgen -W ${quote(TOP.map((t) => t.word).join(" "))} -- "$cur")
    return 0
  fi
  if [[ $key == flist ]]; then
    if (( COMP_CWORD == 2 )); then
      mapfile -t COMPREPLY < <(compgen -W ${quote(FLIST_TOP.map((t) => t.word).join(" "))} -- "$cur")
      return 0
    fi
    key="flist \${COMP_WORDS[2]-}"
    first=3
  fi
  case $key in
${arms.join("\n")}
    *) return 0 ;;
  esac
  # The value of an option (--name N): anything goes.
  if [[ -n $prev && " $values " == *" $prev "* ]]; then return 0; fi
  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
  elif [[ -n $choices ]]; then
    (( COMP_CWORD == first )) && mapfile -t COMPREPLY < <(compgen -W "$choices" -- "$cur")
  elif [[ -n $files ]]; then
    compopt -o filenames 2>/dev/null
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
  fi
  return 0
}
complete -F _zhub zhub
`;
}

function zsh(): string {
  const described = (items: Array<{ word: string; about: string }>) =>
    items.map((t) => quote(`${t.word.replaceAll(":", "\\:")}:${t.about}`)).join(" ");
  const arms = SPECS.map(
    (c) =>
      `    ${quote(c.key)}) opts=(${flags(c.options).join(" ")}); values=(${valued(c.options).join(" ")})` +
      `${c.files ? "; files=1" : ""}${c.choices ? `; choices=(${c.choices.join(" ")})` : ""} ;;`,
  );
  return `#compdef zhub
${header("zsh", "source <(zhub completion zsh)   (after compinit)", "zhub completion zsh > ~/.zfunc/_zhub   (with fpath=(~/.zfunc $fpath) before compinit in ~/.zshrc)")}
# What to offer for words[CURRENT]: REPLY is the kind (commands: reply holds word:description pairs;
# words: reply holds words; files; none).
_zhub_candidates() {
  local key=\${words[2]-} prev=\${words[CURRENT-1]-} cur=\${words[CURRENT]-}
  local -a opts values choices
  local files=0 first=3
  reply=()
  REPLY=none
  if (( CURRENT == 2 )); then
    reply=(${described(TOP)})
    REPLY=commands
    return
  fi
  if [[ $key == flist ]]; then
    if (( CURRENT == 3 )); then
      reply=(${described(FLIST_TOP)})
      REPLY=commands
      return
    fi
    key="flist \${words[3]-}"
    first=4
  fi
  case $key in
${arms.join("\n")}
    *) return ;;
  esac
  # The value of an option (--name N): anything goes.
  if (( \${values[(Ie)$prev]} )); then return; fi
  if [[ $cur == -* ]]; then
    reply=($opts)
    REPLY=words
  elif (( \${#choices} )); then
    if (( CURRENT == first )); then reply=($choices); REPLY=words; fi
  elif (( files )); then
    REPLY=files
  fi
}

_zhub() {
  local -a reply
  local REPLY
  _zhub_candidates
  case $REPLY in
    commands) _describe -t commands 'zhub command' reply ;;
    words) compadd -a reply ;;
    files) _files ;;
  esac
}

if [[ \${funcstack[1]-} == _zhub ]]; then
  _zhub "$@"
else
  compdef _zhub zhub
fi
`;
}

function fish(): string {
  const lines: string[] = [
    "complete -c zhub -f",
    ...TOP.map((t) =>
      t.word.startsWith("--")
        ? `complete -c zhub -n __zhub_at -l ${t.word.slice(2)}${t.word === "--version" ? " -s V" : ""} -d ${quote(t.about)}`
        : `complete -c zhub -n __zhub_at -a ${t.word} -d ${quote(t.about)}`,
    ),
    ...FLIST_TOP.map((t) =>
      t.word.startsWith("--")
        ? `complete -c zhub -n '__zhub_at flist' -l ${t.word.slice(2)} -d ${quote(t.about)}`
        : `complete -c zhub -n '__zhub_at flist' -a ${t.word} -d ${quote(t.about)}`,
    ),
  ];
  for (const c of SPECS) {
    const when = quote(`__zhub_in ${c.key}`);
    for (const o of c.options) lines.push(`complete -c zhub -n ${when} -l ${o.name}${o.value ? " -r" : ""}`);
    if (c.files) lines.push(`complete -c zhub -n ${when} -F`);
    if (c.choices) lines.push(`complete -c zhub -n ${quote(`__zhub_at ${c.key}`)} -a ${quote(c.choices.join(" "))}`);
  }
  return `${header("fish", "zhub completion fish | source", "zhub completion fish > ~/.config/fish/completions/zhub.fish")}
# Exactly these words come before the one being completed (after zhub itself).
function __zhub_at
    set -l words (commandline -opc)
    set -e words[1]
    test (count $words) -eq (count $argv); and test "$words" = "$argv"
end

# The command (and flist subcommand) typed is this one.
function __zhub_in
    set -l words (commandline -opc)
    set -e words[1]
    test (count $words) -ge (count $argv); or return 1
    for i in (seq (count $argv))
        test "$words[$i]" = "$argv[$i]"; or return 1
    end
end

${lines.join("\n")}
`;
}

export function completionScript(shell: Shell): string {
  return { bash, zsh, fish }[shell]();
}
