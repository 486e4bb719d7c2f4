import type { OutputStream } from './spawner.js';

/** The longest line emitted as one record; longer lines are cut into pieces of this size. */
export const MAX_LINE_BYTES = 64 * 1024;

const NEWLINE = 0x0a;

export type LineListener = (stream: OutputStream, line: string) => void;

/** The unfinished last line of one stream: a fixed buffer, so memory stays bounded. */
class PartialLine {
  private buffer: Buffer | undefined;
  length = 0;

  append(data: Buffer, start: number, end: number, emit: (line: string) => void): void {
    while (start < end) {
      if (this.length === MAX_LINE_BYTES) emit(this.take());
      this.buffer ??= Buffer.allocUnsafe(MAX_LINE_BYTES);
      const copied = data.copy(this.buffer, this.length, start, Math.min(end, start + MAX_LINE_BYTES - this.length));
      this.length += copied;
      start += copied;
    }
  }

  take(): string {
    const line = this.buffer === undefined ? '' : this.buffer.toString('utf8', 0, this.length);
    this.length = 0;
    return line;
  }

  /** The bytes held, unconsumed (issue 17: a handover passes them on, never as a line of their own). */
  bytes(): Buffer {
    return this.buffer === undefined ? Buffer.alloc(0) : Buffer.from(this.buffer.subarray(0, this.length));
  }
}

/**
 * SPEC §2: splits one run's stdout and stderr into lines and keeps at most `limit` bytes of them
 * (both streams together); the rest is only counted. Memory: one 64 KiB buffer per stream at most.
 */
export class OutputSplitter {
  bytesKept = 0;
  bytesDropped = 0;
  private readonly partial: Record<OutputStream, PartialLine> = {
    stdout: new PartialLine(),
    stderr: new PartialLine(),
  };

  constructor(
    private readonly limit: number,
    private readonly onLine: LineListener,
  ) {}

  push(stream: OutputStream, chunk: Buffer): void {
    const room = this.limit - this.bytesKept;
    if (room <= 0) {
      this.bytesDropped += chunk.length; // past the limit: count only, no scanning
      return;
    }
    const kept = chunk.length <= room ? chunk : chunk.subarray(0, room);
    this.bytesKept += kept.length;
    this.bytesDropped += chunk.length - kept.length;
    this.split(stream, kept);
    // Nothing more will be kept: the unfinished lines are final now.
    if (this.bytesKept >= this.limit) this.end();
  }

  /** Issue 17: each stream's unfinished last line, as bytes, for the next daemon. */
  partialBytes(): Record<OutputStream, Buffer> {
    return { stdout: this.partial.stdout.bytes(), stderr: this.partial.stderr.bytes() };
  }

  /** Issue 17: the unfinished line a previous daemon passed on (already counted there). */
  resume(stream: OutputStream, bytes: Buffer): void {
    this.partial[stream].append(bytes, 0, bytes.length, (line) => this.onLine(stream, line));
  }

  /** Emits the unfinished last line of each stream, if any. */
  end(): void {
    this.flush('stdout');
    this.flush('stderr');
  }

  private flush(stream: OutputStream): void {
    if (this.partial[stream].length > 0) this.onLine(stream, this.partial[stream].take());
  }

  private split(stream: OutputStream, data: Buffer): void {
    const partial = this.partial[stream];
    const emit = (line: string) => this.onLine(stream, line);
    let start = 0;
    while (start < data.length) {
      const newline = data.indexOf(NEWLINE, start);
      if (newline === -1) {
        partial.append(data, start, data.length, emit);
        return;
      }
      let line: string;
      if (partial.length === 0 && newline - start <= MAX_LINE_BYTES) {
        line = data.toString('utf8', start, newline);
      } else {
        partial.append(data, start, newline, emit);
        line = partial.take();
      }
      emit(line.endsWith('\r') ? line.slice(0, -1) : line); // CRLF output reads like LF output
      start = newline + 1;
    }
  }
}
