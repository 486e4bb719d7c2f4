/**
 * The daemon's two JSON-lines logs (pino): `gotorch.log` for what the daemon does, `runs.log` for job
 * output and run records. In the foreground both also go to stdout, pretty when stdout is a terminal.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import pino, { type Logger, type StreamEntry } from 'pino';
import pretty from 'pino-pretty';

export interface Loggers {
  readonly log: Logger;
  readonly runLog: Logger;
  /** Flushes and closes the files. */
  close(): void;
}

export interface LoggingOptions {
  readonly logDir: string;
  /** Also write to stdout (foreground mode). */
  readonly stdout: boolean;
  readonly level?: string;
}

function fileStream(file: string): pino.DestinationStream & { end(): void; flushSync(): void } {
  // SPEC §6: files the daemon creates are 0600.
  return pino.destination({ dest: file, mkdir: true, sync: false, mode: 0o600 }) as never;
}

export function createLoggers(options: LoggingOptions): Loggers {
  mkdirSync(options.logDir, { recursive: true, mode: 0o700 });
  const level = options.level ?? 'info';
  const daemonFile = fileStream(path.join(options.logDir, 'gotorch.log'));
  const runFile = fileStream(path.join(options.logDir, 'runs.log'));
  const console: StreamEntry[] = [];
  if (options.stdout) {
    const out = process.stdout.isTTY ? pretty({ colorize: true, sync: true }) : pino.destination({ dest: 1, sync: false });
    console.push({ stream: out, level: level as pino.Level });
  }
  const log = pino({ level, base: { log: 'daemon' } }, pino.multistream([{ stream: daemonFile, level: level as pino.Level }, ...console]));
  const runLog = pino({ level, base: { log: 'run' } }, pino.multistream([{ stream: runFile, level: level as pino.Level }, ...console]));
  return {
    log,
    runLog,
    close() {
      for (const file of [daemonFile, runFile]) {
        file.flushSync();
        file.end();
      }
    },
  };
}
