/**
 * The daemon's two JSON-lines logs (pino): `gotorch.log` for what the daemon does, `runs.log` for job
 * output and run records, each rotated by size and reopened on SIGHUP (SPEC §6). In the foreground both
 * also go to stdout: JSON lines, or one readable line per record when stdout is a terminal.
 */
import { fstatSync, statSync } from 'node:fs';
import path from 'node:path';
import pino, { type Logger, type StreamEntry } from 'pino';
import { LogFile, type LogFileOptions } from './log-file.js';
import { formatRecord } from './terminal-format.js';

export interface Loggers {
  readonly log: Logger;
  readonly runLog: Logger;
  /** Flushes and closes the files. */
  close(): void;
  /** Reopens both files at their paths, for logrotate's move-then-SIGHUP. */
  reopen(): void;
}

export interface LoggingOptions extends Pick<LogFileOptions, 'maxBytes' | 'keep'> {
  readonly logDir: string;
  /** Also write to stdout (foreground mode). */
  readonly stdout: boolean;
  /** Format stdout for a person (default: whether stdout is a terminal). */
  readonly terminal?: boolean;
  readonly level?: string;
}

export function createLoggers(options: LoggingOptions): Loggers {
  const level = (options.level ?? 'info') as pino.Level;
  const rotation = { maxBytes: options.maxBytes, keep: options.keep };
  const daemonFile = new LogFile(path.join(options.logDir, 'gotorch.log'), rotation);
  const runFile = new LogFile(path.join(options.logDir, 'runs.log'), rotation);
  const stdoutStreams: StreamEntry[] = [];
  // Each record written to stdout is one more write on the thread pool, and one more wake of the event loop when it
  // completes, for every run (issue 16): none when stdout is /dev/null, as under the benchmark or `> /dev/null`.
  if (options.stdout && !discards(1)) stdoutStreams.push({ stream: stdoutStream(options.terminal ?? process.stdout.isTTY === true), level });
  const log = pino({ level, base: { log: 'daemon' } }, pino.multistream([{ stream: daemonFile, level }, ...stdoutStreams]));
  const runLog = pino({ level, base: { log: 'run' } }, pino.multistream([{ stream: runFile, level }, ...stdoutStreams]));
  return {
    log,
    runLog,
    close() {
      daemonFile.close();
      runFile.close();
    },
    reopen() {
      daemonFile.reopen();
      runFile.reopen();
    },
  };
}

/** Whether `fd` is /dev/null, where whatever is written is gone (false for a closed fd, which the stream reports). */
export function discards(fd: number): boolean {
  try {
    const target = fstatSync(fd);
    return target.isCharacterDevice() && target.rdev === statSync('/dev/null').rdev;
  } catch {
    return false;
  }
}

/** Foreground stdout. If it breaks (full disk, closed pipe) it is dropped: the files still get every record. */
function stdoutStream(terminal: boolean): pino.DestinationStream {
  const format = terminal ? { colours: !process.env.NO_COLOR } : undefined;
  const out = pino.destination({ dest: 1, sync: false });
  let broken = false;
  // destroy(), not just ignoring the error: pino would retry the failed write at exit, forever.
  out.on('error', () => {
    broken = true;
    out.destroy();
  });
  return { write: (chunk: string) => void (broken || out.write(format ? formatRecord(chunk, format) : chunk)) };
}
