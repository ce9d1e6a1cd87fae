/** A one-line progress bar: redrawn in place on a terminal, a line every few seconds otherwise. */
export class ProgressBar {
  private lastLine = 0;
  private readonly tty = Boolean(process.stdout.isTTY);

  constructor(
    private readonly label: string,
    private readonly width = 30,
  ) {}

  update(done: number, total: number, extra = ''): void {
    const now = Date.now();
    if (!this.tty && now - this.lastLine < 2000 && done < total) return;
    this.lastLine = now;
    const ratio = total > 0 ? Math.min(1, done / total) : 1;
    const filled = Math.round(ratio * this.width);
    const bar = '█'.repeat(filled) + '░'.repeat(this.width - filled);
    const line = `${this.label} ${bar} ${(ratio * 100).toFixed(0).padStart(3)}%  ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')}${extra ? `  ${extra}` : ''}`;
    if (this.tty) process.stdout.write(`\r\x1b[2K${line}`);
    else process.stdout.write(`${line}\n`);
  }

  done(summary: string): void {
    if (this.tty) process.stdout.write('\n');
    process.stdout.write(`${summary}\n`);
  }
}
