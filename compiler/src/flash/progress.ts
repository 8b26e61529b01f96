/**
 * A one-line progress bar with bytes and rate. On a terminal it redraws in place; in a log
 * (CI, a pipe) it prints a line at each quarter so the output stays short and readable.
 */
export interface ProgressSink {
  start(label: string, total: number): void;
  update(done: number): void;
  finish(summary: string): void;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

export function formatRate(bytes: number, seconds: number): string {
  return seconds > 0 ? `${formatBytes(Math.round(bytes / seconds))}/s` : "-";
}

export class ProgressBar implements ProgressSink {
  private label = "";
  private total = 0;
  private started = 0;
  private lastQuarter = -1;

  constructor(
    private readonly write: (text: string) => void,
    private readonly interactive: boolean,
    private readonly width = 24,
    private readonly now: () => number = () => performance.now(),
  ) {}

  start(label: string, total: number): void {
    this.label = label;
    this.total = total;
    this.started = this.now();
    this.lastQuarter = -1;
    this.update(0);
  }

  update(done: number): void {
    const fraction = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const seconds = (this.now() - this.started) / 1000;
    const filled = Math.round(fraction * this.width);
    const line =
      `${this.label} [${"#".repeat(filled)}${"-".repeat(this.width - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}% ` +
      `${formatBytes(done)}/${formatBytes(this.total)} ${formatRate(done, seconds)}`;
    if (this.interactive) {
      this.write(`\r${line}\x1b[K`);
      return;
    }
    const quarter = Math.floor(fraction * 4);
    if (quarter !== this.lastQuarter) {
      this.lastQuarter = quarter;
      this.write(`${line}\n`);
    }
  }

  finish(summary: string): void {
    this.write(this.interactive ? `\r${summary}\x1b[K\n` : `${summary}\n`);
  }
}
