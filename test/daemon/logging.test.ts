import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, readFileSync, openSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LogFile } from '../../src/daemon/log-file.js';
import { createLoggers, discards, type Loggers } from '../../src/daemon/logging.js';
import { waitFor } from '../helpers/processes.js';

const asRoot = process.getuid?.() === 0;
let dir: string;
let loggers: Loggers | undefined;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'gotorch-logging-'));
});
afterEach(() => {
  loggers?.close();
  loggers = undefined;
  vi.restoreAllMocks();
  chmodSync(dir, 0o700);
  rmSync(dir, { recursive: true, force: true });
});

function seqs(file: string): number[] {
  if (!existsSync(file) || !statSync(file).isFile()) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => (JSON.parse(line) as { seq: number }).seq);
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('createLoggers', () => {
  it('writes gotorch.log and runs.log, 0600, rotated by the given maxBytes and keep', async () => {
    loggers = createLoggers({ logDir: path.join(dir, 'logs'), stdout: false, maxBytes: 1024, keep: 2 });
    for (let seq = 0; seq < 60; seq++) {
      loggers.runLog.info({ seq, padding: 'x'.repeat(60) }, 'output');
      await tick();
    }
    loggers.log.info({ seq: 0 }, 'daemon');
    const runs = path.join(dir, 'logs', 'runs.log');
    await waitFor(() => [`${runs}.2`, `${runs}.1`, runs].flatMap(seqs).at(-1) === 59, 5000, 'the last run record');
    await waitFor(() => seqs(path.join(dir, 'logs', 'gotorch.log')).length === 1, 5000, 'the daemon record');
    expect(existsSync(`${runs}.3`)).toBe(false);
    for (const file of [runs, `${runs}.1`, `${runs}.2`, path.join(dir, 'logs', 'gotorch.log')]) {
      expect(statSync(file).mode & 0o777, file).toBe(0o600);
    }
    expect(statSync(path.join(dir, 'logs')).mode & 0o777).toBe(0o700);
  });

  it('reopen(): after logrotate moves the files, new files get the new records', async () => {
    loggers = createLoggers({ logDir: dir, stdout: false });
    const daemonLog = path.join(dir, 'gotorch.log');
    const runLog = path.join(dir, 'runs.log');
    loggers.log.info({ seq: 0 }, 'before');
    loggers.runLog.info({ seq: 0 }, 'before');
    await waitFor(() => seqs(daemonLog).length === 1 && seqs(runLog).length === 1, 5000, 'the first records');
    renameSync(daemonLog, `${daemonLog}.moved`);
    renameSync(runLog, `${runLog}.moved`);
    loggers.log.info({ seq: 1 }, 'between the move and the SIGHUP');
    loggers.reopen();
    loggers.log.info({ seq: 2 }, 'after');
    loggers.runLog.info({ seq: 2 }, 'after');
    await waitFor(() => seqs(daemonLog).length === 1 && seqs(runLog).length === 1, 5000, 'records in the new files');
    await waitFor(() => seqs(`${daemonLog}.moved`).length === 2, 5000, 'the old generation flushed to the moved file');
    expect(seqs(`${daemonLog}.moved`)).toEqual([0, 1]);
    expect(seqs(daemonLog)).toEqual([2]);
    expect(seqs(`${runLog}.moved`)).toEqual([0]);
    expect(seqs(runLog)).toEqual([2]);
  });
});

describe('a log file that cannot be written', () => {
  // Each variant moves gotorch.log away (as logrotate does) and breaks the path before reopen().
  const variants = [
    {
      name: 'read-only log dir (EACCES)',
      // Root writes through chmod 0500, so this one cannot fail as root: the next two cover root.
      skip: asRoot,
      breakIt: (file: string) => chmodSync(path.dirname(file), 0o500),
      restore: (file: string) => chmodSync(path.dirname(file), 0o700),
    },
    { name: 'path is a directory (EISDIR)', skip: false, breakIt: (file: string) => mkdirSync(file), restore: (file: string) => rmSync(file, { recursive: true }) },
    // A real full disk (ENOSPC) is test/reliability/faults-logdir.test.ts, on a tiny tmpfs.
    { name: 'path is a symlink (to /dev/full: refused, never followed)', skip: false, breakIt: (file: string) => symlinkSync('/dev/full', file), restore: (file: string) => rmSync(file) },
  ];

  for (const variant of variants) {
    it.skipIf(variant.skip)(`${variant.name}: no throw, one stderr line, writes again after a reopen`, async () => {
      const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
      const lines = (text: string) => stderr.mock.calls.map(([chunk]) => String(chunk)).filter((line) => line.includes('gotorch.log') && line.includes(text));
      loggers = createLoggers({ logDir: dir, stdout: false });
      const file = path.join(dir, 'gotorch.log');
      loggers.log.info({ seq: 0 }, 'before');
      await waitFor(() => seqs(file).length === 1, 5000, 'the first record');
      renameSync(file, `${file}.moved`);
      variant.breakIt(file);
      loggers.reopen();
      for (let seq = 1; seq <= 50; seq++) {
        expect(() => loggers!.log.info({ seq }, 'while broken')).not.toThrow();
        await tick();
      }
      await waitFor(() => lines('scheduling continues').length > 0, 5000, 'the stderr line');
      for (let seq = 51; seq <= 100; seq++) {
        loggers.log.info({ seq }, 'still broken');
        await tick();
      }
      expect(lines('cannot')).toHaveLength(1);

      variant.restore(file);
      loggers.reopen();
      loggers.log.info({ seq: 101 }, 'after');
      await waitFor(() => seqs(file).includes(101), 5000, 'the record after recovery');
      await waitFor(() => lines('is writable again;').length === 1, 5000, 'the recovery line');
      expect(lines('cannot')).toHaveLength(1);
      expect(seqs(`${file}.moved`)).toEqual([0]);
    });
  }

  it('recovers on its own: the periodic retry reopens the file once it can be opened (a symlink is never followed)', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const file = path.join(dir, 'x.log');
    symlinkSync('/dev/full', file);
    const sink = new LogFile(file, { retryMs: 50 });
    sink.write(`${JSON.stringify({ seq: 0 })}\n`);
    const refusal = 'it is a symlink, which the daemon never follows: remove it';
    await waitFor(() => stderr.mock.calls.some(([chunk]) => String(chunk).includes(refusal)), 5000, 'the symlink refusal line');
    for (let seq = 1; seq <= 12; seq++) {
      sink.write(`${JSON.stringify({ seq })}\n`); // retries every 50 ms keep failing: still the one line
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(stderr.mock.calls.filter(([chunk]) => String(chunk).includes('cannot open'))).toHaveLength(1);
    rmSync(file);
    let seq = 13;
    await waitFor(
      () => {
        sink.write(`${JSON.stringify({ seq: seq++ })}\n`);
        return seqs(file).length > 0;
      },
      5000,
      'a record written after the retry',
    );
    sink.close();
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(stderr.mock.calls.filter(([chunk]) => String(chunk).includes('cannot open'))).toHaveLength(1);
  });
});

describe('discards', () => {
  it('is true for /dev/null only: not for a file, a FIFO, another character device or a closed fd', () => {
    const opened = (file: string, flags: string): number => openSync(file, flags);
    const devNull = opened('/dev/null', 'w');
    const file = opened(path.join(dir, 'out'), 'w');
    const zero = opened('/dev/zero', 'r');
    try {
      expect(discards(devNull)).toBe(true);
      expect(discards(file)).toBe(false);
      expect(discards(zero)).toBe(false);
      const fifo = path.join(dir, 'fifo');
      expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
      const pipe = opened(fifo, 'r+'); // O_RDWR: a FIFO opens at once
      expect(discards(pipe)).toBe(false);
      closeSync(pipe);
    } finally {
      for (const fd of [devNull, file, zero]) closeSync(fd);
    }
    expect(discards(devNull)).toBe(false); // closed now
  });
});
