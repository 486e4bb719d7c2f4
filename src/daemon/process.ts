/**
 * The daemon as a process: signals to actions (SPEC §4) and the readiness report to whoever started
 * it. SIGTERM/SIGINT stop, SIGQUIT quits, SIGUSR1 detaches (exits leaving the jobs for the next
 * daemon), SIGUSR2 reloads, SIGHUP reopens the log files.
 */
import { closeSync, writeSync } from 'node:fs';
import path from 'node:path';
import { Daemon, type DaemonOptions } from './daemon.js';
import { fsReason, realCause } from './folder.js';
import type { RuntimePaths } from './paths.js';

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

/**
 * What Daemon.start threw, for whoever started it: a pidfile folder that cannot be written (read-only,
 * another user's) throws from the claim, and "see gotorch.stderr" is no answer.
 */
function startFailure(error: unknown, paths: RuntimePaths): string {
  const cause = realCause(error as NodeJS.ErrnoException, 0o700);
  if (typeof cause.path !== 'string' || typeof cause.syscall !== 'string') return `could not start: ${(error as Error).message}`;
  const folder = path.dirname(paths.pidfile);
  const within = (inner: string, outer: string): boolean => inner === outer || inner.startsWith(`${outer}/`);
  // The folder, a file in it, or a parent it needed created.
  const hint = within(cause.path, folder) || within(folder, cause.path) ? `; the pidfile, control socket and state file live in ${folder}: give --pidfile a folder this user can write` : '';
  return `could not start: cannot ${cause.syscall} ${cause.path} (${fsReason(cause)})${hint}`;
}

export async function runDaemonProcess(options: DaemonOptions, readiness: Readiness): Promise<number> {
  let started: Awaited<ReturnType<typeof Daemon.start>>;
  try {
    started = await Daemon.start(options);
  } catch (error) {
    readiness.failed(startFailure(error, options.paths));
    return 1;
  }
  if (!(started instanceof Daemon)) {
    readiness.failed(started.reason);
    return started.exitCode;
  }
  return new Promise<number>((resolve) => {
    const finish = (): void => resolve(0);
    process.on('SIGTERM', () => void started.stop('SIGTERM').then(finish));
    process.on('SIGINT', () => void started.stop('SIGINT').then(finish));
    process.on('SIGQUIT', () => void started.quit('SIGQUIT').then(finish));
    // Node's inspector also listens on SIGUSR1: a listener of our own replaces it.
    process.on('SIGUSR1', () => void started.detach('SIGUSR1').then(finish));
    process.on('SIGUSR2', () => void started.reload('SIGUSR2'));
    process.on('SIGHUP', () => started.reopenLogs());
    readiness.ready(process.pid);
  });
}
