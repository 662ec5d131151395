/** Plain-text tables and status lines for the terminal. */

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** One status line that rewrites itself on a terminal, and prints sparsely when piped. */
export class StatusLine {
  private last = 0;
  private shown = '';
  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}
  update(text: string, force = false): void {
    const now = Date.now();
    if (this.stream.isTTY) {
      if (!force && now - this.last < 100) return;
      this.stream.write(`\r\x1b[K${text}`);
      this.shown = text;
    } else {
      if (!force && now - this.last < 5000) return;
      this.stream.write(`${text}\n`);
    }
    this.last = now;
  }
  clear(): void {
    if (this.stream.isTTY && this.shown) this.stream.write('\r\x1b[K');
    this.shown = '';
  }
}
