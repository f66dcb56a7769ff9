/**
 * Progress of long runs on stderr: a bar redrawn in place when stderr is a terminal, plain lines (at most one
 * every few seconds) otherwise, so logs stay readable. Nothing is printed for runs shorter than `delayMs`.
 */
export interface ProgressState {
  /** Units done and expected (bytes of the source); `total` 0 when unknown (directories). */
  done: number;
  total: number;
  /** Free text after the figures, e.g. "1234 files". */
  detail: string;
}

export class Progress {
  private readonly started = Date.now();
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly delayMs = 1000,
  ) {}

  update(state: ProgressState): void {
    const now = Date.now();
    if (now - this.started < this.delayMs) return;
    const tty = this.stream.isTTY === true;
    if (now - this.lastDraw < (tty ? 100 : 5000)) return;
    this.lastDraw = now;
    this.drawn = true;
    const elapsed = (now - this.started) / 1000;
    const mib = (n: number) => (n / (1024 * 1024)).toFixed(1);
    const amount = state.total > 0 ? `${mib(state.done)}/${mib(state.total)} MiB` : `${mib(state.done)} MiB`;
    const line = `${this.label}: ${amount} ${state.detail} (${elapsed.toFixed(0)} s)`;
    if (!tty) {
      this.stream.write(`${line}\n`);
      return;
    }
    const width = 30;
    const ratio = state.total > 0 ? Math.min(1, state.done / state.total) : 0;
    const bar = state.total > 0 ? `[${"#".repeat(Math.round(ratio * width)).padEnd(width, ".")}] ${(ratio * 100).toFixed(0).padStart(3)}% ` : "";
    this.stream.write(`\r\x1b[K${bar}${line}`);
  }

  /** Ends the bar line so that later output starts on a fresh line. */
  done(): void {
    if (this.drawn && this.stream.isTTY === true) this.stream.write("\n");
  }
}
