/**
 * SPEC §8: the last ≤ 10 kB of a run's output for its hook document and ping body: stdout and stderr
 * lines interleaved in the order they came. Memory stays at the bound whatever the job prints: older
 * lines are let go as newer ones arrive, and a line longer than the bound keeps only its end.
 */

/** Bytes of output a hook document or a ping body carries (healthchecks keeps 10 kB of a self-hosted ping's body). */
export const TAIL_BYTES = 10_000;

/** The last `limit` bytes of `text` as UTF-8, cut at a character boundary (never half a character). */
export function lastBytes(text: string, limit: number): string {
  // A UTF-16 unit is at most 3 UTF-8 bytes: a string this short cannot be over the limit.
  if (text.length * 3 <= limit) return text;
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= limit) return text;
  let start = bytes.length - limit;
  while (start < bytes.length && (bytes[start] & 0xc0) === 0x80) start++; // a continuation byte: not a character's start
  return bytes.subarray(start).toString('utf8');
}

export class OutputTail {
  private lines: string[] = [];
  private head = 0;
  private bytes = 0;
  /** Output let go to stay within the bound. */
  truncated = false;

  constructor(private readonly limit = TAIL_BYTES) {}

  push(line: string): void {
    const kept = lastBytes(line, this.limit - 1);
    if (kept !== line) this.truncated = true;
    this.lines.push(kept);
    this.bytes += Buffer.byteLength(kept) + 1; // and its newline
    while (this.bytes > this.limit && this.head < this.lines.length - 1) {
      this.bytes -= Buffer.byteLength(this.lines[this.head++]) + 1;
      this.truncated = true;
    }
    // Let go of the dropped slots once they are the larger part, so the array does not grow with the output.
    if (this.head > 64 && this.head * 2 > this.lines.length) {
      this.lines = this.lines.slice(this.head);
      this.head = 0;
    }
  }

  /** The kept lines, each ended by a newline. */
  text(): string {
    const kept = this.lines.slice(this.head);
    return kept.length === 0 ? '' : `${kept.join('\n')}\n`;
  }
}
