import { describe, expect, it } from 'vitest';
import { linesBackward, type ByteSource } from '../../src/history/reverse-lines.js';

/** Bytes in memory; counts what was read. */
function memory(text: string | Buffer): ByteSource & { bytesRead: number } {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const source = {
    size: bytes.length,
    bytesRead: 0,
    read(buffer: Buffer, length: number, position: number): number {
      const copied = bytes.copy(buffer, 0, position, position + length);
      source.bytesRead += copied;
      return copied;
    },
  };
  return source;
}

const backward = (text: string, blockBytes: number, containing?: string): string[] =>
  [...linesBackward(memory(text), { blockBytes, containing: containing === undefined ? undefined : Buffer.from(containing) })].map((line) => line.toString());

/** What the lines are, the slow and obvious way: complete lines only, the last first, empty ones dropped. */
function expected(text: string): string[] {
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  return complete.split('\n').filter(Boolean).reverse();
}

const long = 'x'.repeat(70_000);

describe('linesBackward (the last line first, in blocks)', () => {
  it.each([
    { name: 'an empty file', text: '', lines: [] },
    { name: 'only newlines', text: '\n\n\n', lines: [] },
    { name: 'lines, each ended', text: 'a\nbb\nccc\n', lines: ['ccc', 'bb', 'a'] },
    { name: 'a torn last line (being written, or cut by a full disk)', text: 'a\nbb\n{"level":30,"ti', lines: ['bb', 'a'] },
    { name: 'one torn line and nothing else', text: '{"level":30', lines: [] },
    { name: 'empty lines between', text: 'a\n\n\nb\n', lines: ['b', 'a'] },
    { name: 'a carriage return is part of its line (JSON lines have none of their own)', text: 'a\r\nb\n', lines: ['b', 'a\r'] },
    { name: 'a line longer than a block, between short ones', text: `a\n${long}\nb\n`, lines: ['b', long, 'a'] },
    { name: 'a line longer than a block, first in the file', text: `${long}\nb\n`, lines: ['b', long] },
    { name: 'a torn line longer than a block', text: `a\n${long}`, lines: ['a'] },
  ])('$name', ({ text, lines }) => {
    for (const blockBytes of [1, 2, 3, 7, 64 * 1024]) expect(backward(text, blockBytes), `block ${blockBytes}`).toEqual(lines);
  });

  it('gives the same lines for every block size, every boundary falling at every place', () => {
    const text = ['{"a":1}', '', 'two', 'a longer line of text', 'x', '', '', 'last'].join('\n') + '\ntorn';
    for (let blockBytes = 1; blockBytes <= text.length + 1; blockBytes++) expect(backward(text, blockBytes), `block ${blockBytes}`).toEqual(expected(text));
  });

  it('with `containing`: every line holding the bytes, in order, and besides them at most one line a block', () => {
    const lines = Array.from({ length: 400 }, (_, index) => (index % 7 === 0 ? `{"n":${index},"task":"hit",` : `{"n":${index},"task":"miss",`) + 'y'.repeat(index % 50));
    const text = lines.join('\n') + '\n{"task":"hit", torn';
    const wanted = expected(text).filter((line) => line.includes('"task":"hit",'));
    for (const blockBytes of [1, 5, 64, 1000, 64 * 1024]) {
      const got = backward(text, blockBytes, '"task":"hit",');
      expect(got.filter((line) => line.includes('"task":"hit",')), `block ${blockBytes}`).toEqual(wanted);
      // What else came is real lines, in file order, one a block at most.
      const others = got.filter((line) => !line.includes('"task":"hit",'));
      expect(others.length).toBeLessThanOrEqual(Math.ceil(text.length / blockBytes));
      const order = got.map((line) => lines.indexOf(line));
      expect(order.every((index) => index !== -1)).toBe(true);
      expect(order).toEqual([...order].sort((a, b) => b - a));
    }
  });

  it('reads only the blocks the lines taken come from', () => {
    const text = Array.from({ length: 10_000 }, (_, index) => `line ${index}`).join('\n') + '\n';
    const source = memory(text);
    const lines = linesBackward(source, { blockBytes: 1024 });
    expect([lines.next().value, lines.next().value].map(String)).toEqual(['line 9999', 'line 9998']);
    expect(source.bytesRead).toBe(1024);
  });

  it('ends at what could be read when the file shrinks meanwhile (truncated in place)', () => {
    const source = memory('a\nb\nc\n');
    const shrunk: ByteSource = { size: source.size, read: (buffer, length, position) => (position === 0 ? 0 : source.read(buffer, length, position)) };
    // `b` may have started in the bytes that are gone: only what is known whole comes.
    expect([...linesBackward(shrunk, { blockBytes: 2 })].map(String)).toEqual(['c']);
  });
});
