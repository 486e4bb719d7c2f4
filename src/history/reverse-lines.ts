/**
 * A file's lines from its end to its start, read in blocks, so that reading the newest records costs
 * what they take, not what the file holds (SPEC §7). The bytes after the last newline are a record being
 * written, or one a full disk cut short: they are never yielded.
 */
import { readSync } from 'node:fs';

export const BLOCK_BYTES = 64 * 1024;

/** Bytes at a position: an open file (fileBytes), or memory in tests. */
export interface ByteSource {
  readonly size: number;
  /** Reads up to `length` bytes at `position` into the start of `buffer`; returns how many it read. */
  read(buffer: Buffer, length: number, position: number): number;
}

export function fileBytes(fd: number, size: number): ByteSource {
  return { size, read: (buffer, length, position) => readSync(fd, buffer, 0, length, position) };
}

export interface BackwardOptions {
  /**
   * Only lines containing these bytes (which hold no newline), found in each block by the native
   * search instead of line by line; and besides them one other line a block (the one crossing its
   * end), by which a caller can tell how far back the reading has come.
   */
  readonly containing?: Buffer;
  readonly blockBytes?: number;
}

const NEWLINE = 0x0a;

/**
 * Lines without their newline, the last line first; empty lines are skipped. Every line is a slice of
 * a block of its own (a block is never reused), so a caller may keep it. A file that shrinks while it
 * is read (truncated in place) ends the lines at what could still be read.
 */
export function* linesBackward(source: ByteSource, options: BackwardOptions = {}): Generator<Buffer> {
  const blockBytes = options.blockBytes ?? BLOCK_BYTES;
  let end = source.size;
  // A line whose start lies in a block not read yet: its pieces, the last piece first.
  let pieces: Buffer[] = [];
  // The first newline seen (from the end) ends the last complete line; what follows it is torn.
  let sawNewline = false;
  while (end > 0) {
    const start = Math.max(0, end - blockBytes);
    const block = Buffer.allocUnsafe(end - start);
    if (source.read(block, block.length, start) < block.length) return;
    end = start;
    const first = block.indexOf(NEWLINE);
    if (first === -1) {
      pieces.push(block);
      continue;
    }
    const last = block.lastIndexOf(NEWLINE);
    const crossing = joined(block.subarray(last + 1), pieces);
    if (sawNewline && crossing.length > 0) yield crossing;
    sawNewline = true;
    yield* linesWithin(block, first, last, options.containing);
    pieces = first > 0 ? [block.subarray(0, first)] : [];
  }
  if (sawNewline && pieces.length > 0) yield joined(Buffer.alloc(0), pieces);
}

/** The lines between the newlines at `first` and `last` (both in `block`), the last first. */
function* linesWithin(block: Buffer, first: number, last: number, containing: Buffer | undefined): Generator<Buffer> {
  if (containing === undefined) {
    for (let lineEnd = last, newline = block.lastIndexOf(NEWLINE, last - 1); lineEnd > first; lineEnd = newline, newline = newline > 0 ? block.lastIndexOf(NEWLINE, newline - 1) : -1) {
      if (lineEnd > newline + 1) yield block.subarray(newline + 1, lineEnd);
    }
    return;
  }
  // Found forwards (the fast direction), then handed out last first.
  const found: Buffer[] = [];
  for (let hit = block.indexOf(containing, first + 1); hit !== -1 && hit < last; ) {
    const lineStart = block.lastIndexOf(NEWLINE, hit) + 1;
    const lineEnd = block.indexOf(NEWLINE, hit);
    found.push(block.subarray(lineStart, lineEnd));
    hit = block.indexOf(containing, lineEnd + 1);
  }
  for (let index = found.length - 1; index >= 0; index--) yield found[index];
}

function joined(first: Buffer, laterPiecesLastFirst: Buffer[]): Buffer {
  return laterPiecesLastFirst.length === 0 ? first : Buffer.concat([first, ...laterPiecesLastFirst.reverse()]);
}
