import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LOG_FILE_DEFAULTS, LogFile, resolveLogFileOptions } from '../../src/daemon/log-file.js';
import { waitFor } from '../helpers/processes.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'gotorch-log-file-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function seqs(file: string): number[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => (JSON.parse(line) as { seq: number }).seq);
}

/** Every record in the file and its rotated copies, oldest file first. */
function allSeqs(file: string, keep: number): number[] {
  const files = [...Array.from({ length: keep }, (_, i) => `${file}.${keep - i}`), file];
  return files.flatMap(seqs);
}

/** Writes `count` records, yielding to the event loop between them as a running daemon does. */
async function writeRecords(log: pino.Logger, from: number, count: number): Promise<void> {
  for (let seq = from; seq < from + count; seq++) {
    log.info({ seq, padding: 'x'.repeat(60) }, 'record');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('rotation', () => {
  it('keeps name.log and keep rotated files, 0600, the records contiguous and in order', async () => {
    const file = path.join(dir, 'x.log');
    const sink = new LogFile(file, { maxBytes: 2048, keep: 3 });
    const log = pino({ base: null }, sink);
    await writeRecords(log, 0, 400); // ~60 KiB: about 30 rotations
    sink.close();
    await waitFor(() => existsSync(file) && allSeqs(file, 3).at(-1) === 399, 5000, 'the last record and a fresh x.log');

    for (const name of ['x.log', 'x.log.1', 'x.log.2', 'x.log.3']) {
      expect(statSync(path.join(dir, name)).mode & 0o777, name).toBe(0o600);
    }
    expect(existsSync(`${file}.4`)).toBe(false);
    const kept = allSeqs(file, 3);
    const first = kept[0];
    expect(first).toBeGreaterThan(0); // older files were deleted
    expect(kept).toEqual(Array.from({ length: 400 - first }, (_, i) => first + i));
    for (const name of ['x.log.1', 'x.log.2', 'x.log.3']) {
      const size = statSync(path.join(dir, name)).size;
      expect(size, name).toBeGreaterThan(2048); // it ends at the record that crossed maxBytes
      expect(size, name).toBeLessThan(2048 + 200);
    }
  });

  it('loses and duplicates nothing when every rotated file is kept', async () => {
    const file = path.join(dir, 'x.log');
    const sink = new LogFile(file, { maxBytes: 2048, keep: 100 });
    const log = pino({ base: null }, sink);
    await writeRecords(log, 0, 300);
    sink.close();
    await waitFor(() => allSeqs(file, 100).at(-1) === 299, 5000, 'the last record');
    expect(existsSync(`${file}.5`)).toBe(true);
    expect(allSeqs(file, 100)).toEqual(Array.from({ length: 300 }, (_, i) => i));
  });

  it('counts an existing file from its size: appending past maxBytes rotates', async () => {
    const file = path.join(dir, 'x.log');
    writeFileSync(file, `${JSON.stringify({ seq: -1, padding: 'y'.repeat(3000) })}\n`);
    const sink = new LogFile(file, { maxBytes: 2048, keep: 3 });
    const log = pino({ base: null }, sink);
    await writeRecords(log, 0, 3);
    sink.close();
    await waitFor(() => seqs(file).at(-1) === 2, 5000, 'the records in a fresh x.log');
    expect(seqs(`${file}.1`)).toEqual([-1, 0]);
    expect(seqs(file)).toEqual([1, 2]);
  });
});

describe('reopen', () => {
  it('after the file is moved away, writes a new file; the moved one has the earlier records', async () => {
    const file = path.join(dir, 'x.log');
    const sink = new LogFile(file);
    const log = pino({ base: null }, sink);
    await writeRecords(log, 0, 5);
    await waitFor(() => seqs(file).length === 5, 5000, 'five records');
    const moved = path.join(dir, 'moved.log');
    renameSync(file, moved);
    await writeRecords(log, 5, 2); // still the old fd, as between logrotate's move and its SIGHUP
    sink.reopen();
    await writeRecords(log, 7, 3);
    sink.close();
    await waitFor(() => seqs(file).length === 3 && seqs(moved).length === 7, 5000, 'both files flushed');
    expect(seqs(moved)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(seqs(file)).toEqual([7, 8, 9]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('restarts the size count from the new file: one already near maxBytes rotates on the next write', async () => {
    const file = path.join(dir, 'x.log');
    const sink = new LogFile(file, { maxBytes: 2048, keep: 3 });
    const log = pino({ base: null }, sink);
    await writeRecords(log, 0, 2);
    await waitFor(() => seqs(file).length === 2, 5000, 'two records');
    rmSync(file);
    writeFileSync(file, `${JSON.stringify({ seq: -1, padding: 'y'.repeat(2000) })}\n`);
    sink.reopen();
    await writeRecords(log, 2, 3);
    sink.close();
    await waitFor(() => allSeqs(file, 3).includes(4), 5000, 'the last record');
    expect(seqs(`${file}.1`)[0]).toBe(-1);
    expect(allSeqs(file, 3)).toEqual([-1, 2, 3, 4]);
  });
});

describe('options', () => {
  it.each([
    { options: {}, expect: LOG_FILE_DEFAULTS },
    { options: { maxBytes: undefined, keep: 2 }, expect: { ...LOG_FILE_DEFAULTS, keep: 2 } },
    { options: { maxBytes: 0 }, error: /maxBytes must be a whole number of bytes above 0 \(got 0\)/ },
    { options: { keep: 0 }, error: /keep must be a whole number of rotated files, 1 or more \(got 0\)/ },
    { options: { keep: 1.5 }, error: /keep must be/ },
    { options: { retryMs: -1 }, error: /retryMs must be above 0/ },
  ])('$options', ({ options, expect: resolved, error }) => {
    if (error) expect(() => resolveLogFileOptions(options)).toThrow(error);
    else expect(resolveLogFileOptions(options)).toEqual(resolved);
  });

  it('defaults to 10 MiB and five rotated files', () => {
    expect(LOG_FILE_DEFAULTS).toMatchObject({ maxBytes: 10 * 1024 * 1024, keep: 5 });
  });
});
