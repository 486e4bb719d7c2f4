import { describe, expect, it } from 'vitest';
import { MAX_LINE_BYTES, OutputSplitter } from '../../src/supervisor/output.js';
import type { OutputStream } from '../../src/supervisor/spawner.js';

type Chunk = [OutputStream, string];

function split(limit: number, chunks: Chunk[]) {
  const lines: string[] = [];
  const splitter = new OutputSplitter(limit, (stream, line) => lines.push(`${stream}:${line}`));
  for (const [stream, text] of chunks) splitter.push(stream, Buffer.from(text));
  splitter.end();
  return { lines, kept: splitter.bytesKept, dropped: splitter.bytesDropped };
}

// SPEC §2: each line of stdout/stderr is a record; past log_limit the rest is dropped and counted.
describe('OutputSplitter', () => {
  const rows: { name: string; limit: number; chunks: Chunk[]; lines: string[]; kept: number; dropped: number }[] = [
    {
      name: 'complete lines',
      limit: 100,
      chunks: [['stdout', 'a\nb\n']],
      lines: ['stdout:a', 'stdout:b'],
      kept: 4,
      dropped: 0,
    },
    {
      name: 'final partial line at end',
      limit: 100,
      chunks: [['stdout', 'a\nb']],
      lines: ['stdout:a', 'stdout:b'],
      kept: 3,
      dropped: 0,
    },
    {
      name: 'a line split across chunks',
      limit: 100,
      chunks: [['stdout', 'hel'], ['stdout', 'lo\nwor'], ['stdout', 'ld\n']],
      lines: ['stdout:hello', 'stdout:world'],
      kept: 12,
      dropped: 0,
    },
    {
      name: 'empty lines are lines',
      limit: 100,
      chunks: [['stdout', '\n\nx\n']],
      lines: ['stdout:', 'stdout:', 'stdout:x'],
      kept: 4,
      dropped: 0,
    },
    {
      name: 'CRLF, also split across chunks',
      limit: 100,
      chunks: [['stdout', 'a\r\nb\r'], ['stdout', '\n']],
      lines: ['stdout:a', 'stdout:b'],
      kept: 6,
      dropped: 0,
    },
    {
      name: 'streams keep separate partial lines',
      limit: 100,
      chunks: [['stdout', 'out-'], ['stderr', 'err-'], ['stdout', '1\n'], ['stderr', '2\n']],
      lines: ['stdout:out-1', 'stderr:err-2'],
      kept: 12,
      dropped: 0,
    },
    {
      name: 'limit counts both streams and cuts mid-chunk',
      limit: 6,
      chunks: [['stdout', 'abc\n'], ['stderr', 'defg\n'], ['stdout', 'more\n']],
      lines: ['stdout:abc', 'stderr:de'],
      kept: 6,
      dropped: 8,
    },
    {
      name: 'limit reached exactly at a newline',
      limit: 4,
      chunks: [['stdout', 'abc\n'], ['stdout', 'x\n']],
      lines: ['stdout:abc'],
      kept: 4,
      dropped: 2,
    },
    { name: 'zero limit keeps nothing', limit: 0, chunks: [['stdout', 'abc\n']], lines: [], kept: 0, dropped: 4 },
  ];

  it.each(rows)('$name', ({ limit, chunks, lines, kept, dropped }) => {
    expect(split(limit, chunks)).toEqual({ lines, kept, dropped });
  });

  it('emits the unfinished line of the other stream as soon as the limit is reached', () => {
    const lines: string[] = [];
    const splitter = new OutputSplitter(5, (stream, line) => lines.push(`${stream}:${line}`));
    splitter.push('stderr', Buffer.from('ab'));
    splitter.push('stdout', Buffer.from('cdefg'));
    expect(lines).toEqual(['stdout:cde', 'stderr:ab']);
  });

  it('cuts a line longer than 64 KiB into pieces', () => {
    const long = 'x'.repeat(MAX_LINE_BYTES * 2 + 10);
    const { lines } = split(1024 * 1024, [
      ['stdout', long.slice(0, 1000)],
      ['stdout', `${long.slice(1000)}\nnext\n`],
    ]);
    expect(lines.map((line) => line.length - 'stdout:'.length)).toEqual([MAX_LINE_BYTES, MAX_LINE_BYTES, 10, 4]);
  });

  it('cuts a long line that arrives in one chunk too', () => {
    const { lines } = split(1024 * 1024, [['stdout', `${'y'.repeat(MAX_LINE_BYTES + 1)}\n`]]);
    expect(lines.map((line) => line.length - 'stdout:'.length)).toEqual([MAX_LINE_BYTES, 1]);
  });

  it('a line of exactly 64 KiB is one record', () => {
    const { lines } = split(1024 * 1024, [
      ['stdout', 'z'.repeat(100)],
      ['stdout', `${'z'.repeat(MAX_LINE_BYTES - 100)}\n`],
    ]);
    expect(lines.map((line) => line.length - 'stdout:'.length)).toEqual([MAX_LINE_BYTES]);
  });
});
