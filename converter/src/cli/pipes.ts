/**
 * A reader that stops early (`zhub ls | head -1`, `… | grep -q x`) closes its end of the pipe, and the next write
 * fails with EPIPE. Node ignores SIGPIPE, so without this the write error is an uncaught 'error' event: a stack
 * trace. A command line tool stops quietly instead. The status is 0, not a SIGPIPE-like 141: the output was not
 * wanted any more, and `set -o pipefail` scripts (`if zhub flist find x | grep -q y`) keep working.
 * A closed stderr only drops the diagnostics: the command goes on and its exit status still tells.
 */

export function isClosedPipe(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === "EPIPE";
}

/** Ends the process quietly: nobody reads its output any more. */
export function exitForClosedStdout(): never {
  process.exit(0);
}

/** For a process entry point: EPIPE on stdout ends the process quietly, on stderr it is ignored. */
export function quietOnClosedPipes(): void {
  process.stdout.on("error", (err) => {
    if (isClosedPipe(err)) exitForClosedStdout();
    throw err;
  });
  process.stderr.on("error", (err) => {
    if (!isClosedPipe(err)) throw err;
  });
}
