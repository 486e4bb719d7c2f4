/**
 * One JSON-lines log file with size-based rotation and reopen (SPEC §6). Each open of the path is its own
 * sonic-boom "generation"; a retired generation flushes what it still holds to the inode it opened (by
 * then the renamed or moved-away file), so rotating or reopening neither loses nor duplicates a record.
 * A file that cannot be written never throws into the daemon: one line on stderr, then records are
 * dropped (and counted) until a retry finds the file writable again.
 */
import { closeSync, fstatSync, mkdirSync, readSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { openOwnFileForAppend } from './file-safety.js';

export const LOG_FILE_DEFAULTS = Object.freeze({
  /** Rotate once the file exceeds this many bytes. */
  maxBytes: 10 * 1024 * 1024,
  /** Rotated files kept: name.log.1 (newest) … name.log.<keep> (oldest). */
  keep: 5,
  /** After a failure, how often to reopen and try again (a SIGHUP reopen also tries at once). */
  retryMs: 30_000,
});

export interface LogFileOptions {
  readonly maxBytes?: number;
  readonly keep?: number;
  readonly retryMs?: number;
}

type Generation = ReturnType<typeof pino.destination>;

const seenErrors = new WeakSet<Error>();

export class LogFile {
  private readonly options: Readonly<Required<LogFileOptions>>;
  /** Where records go; undefined while the file cannot be written, and once closed. */
  private stream: Generation | undefined;
  /** Bytes in the current file, counted as records are handed over. */
  private bytes = 0;
  /** Set from the first failure until a write succeeds again; counts the records dropped meanwhile. */
  private outage: { dropped: number } | undefined;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    readonly file: string,
    options: LogFileOptions = {},
  ) {
    this.options = resolveLogFileOptions(options);
    this.stream = this.open();
  }

  /** pino's destination interface; never throws. */
  write(chunk: string): boolean {
    if (this.stream === undefined) {
      if (this.outage) this.outage.dropped++;
      return true;
    }
    this.stream.write(chunk);
    this.bytes += Buffer.byteLength(chunk);
    if (this.bytes > this.options.maxBytes) this.rotate();
    return true;
  }

  /** Opens the path afresh (logrotate moved the file, or a failure may be over); what is buffered goes to the old file. */
  reopen(): void {
    if (this.closed) return;
    clearTimeout(this.retry);
    this.retry = undefined;
    this.retire();
    this.stream = this.open();
  }

  /** Flushes asynchronously and closes; pino flushes what is left if the process exits first. */
  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    this.retire();
  }

  /** Takes the current generation out of use: it flushes what it holds to its own file, then closes. */
  private retire(): void {
    const retired = this.stream;
    this.stream = undefined;
    retired?.end();
  }

  /**
   * Sync open, like the renames: once per start, rotation or SIGHUP, and the new file exists before the
   * next record is written, so a rotated file ends exactly at the record that crossed maxBytes.
   */
  private open(): Generation | undefined {
    let fd: number | undefined;
    try {
      mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
      // SPEC §6, §12: 0600, a regular file of ours, never through a symlink, never a FIFO that blocks.
      const opened = openOwnFileForAppend(this.file);
      fd = opened.fd;
      if (opened.tightened !== undefined) process.stderr.write(`gotorch: log file ${this.file} had mode ${opened.tightened}, readable by others; changed to 600\n`);
      this.bytes = fstatSync(fd).size;
      // A record cut short by a full disk has no newline: end its line, or the next record would join it.
      if (this.bytes > 0 && !endsWithNewline(fd, this.bytes)) this.bytes += writeSync(fd, '\n');
    } catch (error) {
      if (fd !== undefined) closeSync(fd);
      this.fail(error as NodeJS.ErrnoException, 'open');
      return undefined;
    }
    const stream = pino.destination({ dest: fd, sync: false });
    stream.on('error', (error: NodeJS.ErrnoException) => this.onError(stream, error));
    if (this.outage) stream.once('write', () => this.onRecovered(stream));
    return stream;
  }

  /** SPEC §6: name.log → .1 → … → .keep, the oldest overwritten; then a fresh name.log. */
  private rotate(): void {
    try {
      for (let n = this.options.keep - 1; n >= 1; n--) renameIfPresent(`${this.file}.${n}`, `${this.file}.${n + 1}`);
      renameIfPresent(this.file, `${this.file}.1`);
    } catch (error) {
      this.fail(error as NodeJS.ErrnoException, 'rotate');
      return;
    }
    this.reopen();
  }

  private onError(stream: Generation, error: NodeJS.ErrnoException): void {
    // pino's destination re-emits each error once more (after its EPIPE filter): handle each once.
    if (seenErrors.has(error)) return;
    seenErrors.add(error);
    // A retired generation's last flush failed (the current one reports a failing disk): release its fd.
    if (stream !== this.stream) {
      stream.destroy();
      return;
    }
    this.fail(error, 'write');
  }

  /** Stops writing until a retry; the failed generation gets one last flush (and is destroyed if that fails). */
  private fail(error: NodeJS.ErrnoException, what: 'open' | 'write' | 'rotate'): void {
    this.retire();
    if (!this.outage) {
      this.outage = { dropped: 0 };
      process.stderr.write(
        `gotorch: cannot ${what} log file ${this.file} (${describeFailure(error)}); scheduling continues, ` +
          `log records for it are dropped until it is writable again (retrying every ${Math.round(this.options.retryMs / 1000)} s and on SIGHUP)\n`,
      );
    }
    // Periodic retry: simple, and a disk that frees up recovers with no one sending SIGHUP.
    this.retry ??= setTimeout(() => this.reopen(), this.options.retryMs).unref();
  }

  private onRecovered(stream: Generation): void {
    if (stream !== this.stream || !this.outage) return;
    process.stderr.write(`gotorch: log file ${this.file} is writable again; ${this.outage.dropped} log records were dropped (and any in flight when it failed)\n`);
    this.outage = undefined;
  }
}

function describeFailure(error: NodeJS.ErrnoException): string {
  if (error.code === 'ELOOP') return 'it is a symlink, which the daemon never follows: remove it';
  return error.code === undefined || error.code === 'EUNSAFE' ? error.message : error.code;
}

function endsWithNewline(fd: number, size: number): boolean {
  const last = Buffer.alloc(1);
  return readSync(fd, last, 0, 1, size - 1) === 1 && last[0] === 0x0a;
}

/** Sync, and it holds the loop for a few metadata calls once per maxBytes: no record may slip in between. */
function renameIfPresent(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

export function resolveLogFileOptions(options: LogFileOptions): Readonly<Required<LogFileOptions>> {
  const resolved = { ...LOG_FILE_DEFAULTS, ...definedOnly(options) };
  if (!Number.isSafeInteger(resolved.maxBytes) || resolved.maxBytes < 1) {
    throw new Error(`log maxBytes must be a whole number of bytes above 0 (got ${resolved.maxBytes}); the default is ${LOG_FILE_DEFAULTS.maxBytes}`);
  }
  if (!Number.isSafeInteger(resolved.keep) || resolved.keep < 1) {
    throw new Error(`log keep must be a whole number of rotated files, 1 or more (got ${resolved.keep}); the default is ${LOG_FILE_DEFAULTS.keep}`);
  }
  if (!(resolved.retryMs > 0)) throw new Error(`log retryMs must be above 0 (got ${resolved.retryMs}); the default is ${LOG_FILE_DEFAULTS.retryMs}`);
  return Object.freeze(resolved);
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
