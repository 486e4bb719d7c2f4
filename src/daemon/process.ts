/**
 * The daemon as a process: signals to actions (SPEC §4) and the readiness report to whoever started
 * it. SIGTERM/SIGINT stop, SIGQUIT quits, SIGUSR2 reloads, SIGHUP reopens the log files.
 */
import { closeSync, writeSync } from 'node:fs';
import { Daemon, type DaemonOptions } from './daemon.js';

/** How the daemon reports that it runs (or why it could not start). */
export interface Readiness {
  ready(pid: number): void;
  failed(reason: string): void;
}

/** `start --foreground`: problems go to stderr; readiness is the log's `gotorch ready`. */
export const foregroundReadiness: Readiness = {
  ready: () => undefined,
  failed: (reason) => process.stderr.write(`gotorch: ${reason}\n`),
};

/** A daemonized child reports on file descriptor 3, a pipe its starting parent reads (SPEC §4 start). */
export function pipeReadiness(fd: number): Readiness {
  const report = (line: string): void => {
    try {
      writeSync(fd, `${line}\n`);
      closeSync(fd);
    } catch {
      // the parent gave up waiting: nothing to tell
    }
  };
  return { ready: (pid) => report(`ready ${pid}`), failed: (reason) => report(`failed ${reason}`) };
}

export async function runDaemonProcess(options: DaemonOptions, readiness: Readiness): Promise<number> {
  const started = await Daemon.start(options);
  if (!(started instanceof Daemon)) {
    readiness.failed(started.reason);
    return started.exitCode;
  }
  return new Promise<number>((resolve) => {
    const finish = (): void => resolve(0);
    process.on('SIGTERM', () => void started.stop('SIGTERM').then(finish));
    process.on('SIGINT', () => void started.stop('SIGINT').then(finish));
    process.on('SIGQUIT', () => void started.quit('SIGQUIT').then(finish));
    process.on('SIGUSR2', () => void started.reload('SIGUSR2'));
    process.on('SIGHUP', () => started.reopenLogs());
    readiness.ready(process.pid);
  });
}
