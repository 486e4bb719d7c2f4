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

/** A daemon the job keeper restarted after a crash: nobody waits for its report (its log says it). */
export const quietReadiness: Readiness = { ready: () => undefined, failed: foregroundReadiness.failed };

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

/** How long a daemon that stopped, or left its jobs running (detach, handover), lets the rest of its exit run before it exits. */
const LEAVE_MS = 1000;

/** The signals the daemon acts on; one that comes while it starts is held and acted on once it runs. */
const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGHUP'] as const;
type DaemonSignal = (typeof SIGNALS)[number];

export async function runDaemonProcess(options: DaemonOptions, readiness: Readiness): Promise<number> {
  // Until the daemon runs, a signal is noted rather than left to kill the process half-started (its
  // pidfile, socket and @reboot jobs left behind): a stop that came early is done once it started.
  // One listener per signal for the process's life: swapping listeners stops and restarts libuv's signal
  // handle, and a signal that had arrived but was not yet dispatched was dropped with the old one (a SIGTERM
  // just before the daemon ran was lost: it ran on).
  const early: DaemonSignal[] = [];
  let act: Record<DaemonSignal, () => void> | undefined;
  for (const signal of SIGNALS) process.on(signal, () => (act === undefined ? void early.push(signal) : act[signal]()));
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
  const daemon = started;
  return new Promise<number>((resolve) => {
    /** A stop, quit, detach or handover began: reloads and reopens are over (nginx ignores them while it shuts down too). */
    let ending = false;
    const ends = (work: () => Promise<void>) => (): void => {
      ending = true;
      void work().then(leave);
    };
    // Always through process.exit, once nothing is left to do (the event loop is empty: every log line and socket
    // write is out) or LEAVE_MS on: after a detach or a handover the jobs run on, and their pipes and exit watches would
    // keep this process; after a stop a library may have left a handle open. Never a natural exit: it closes the signal
    // handles first, and a signal in its last milliseconds (a reload, logrotate's SIGHUP) then killed the stopped daemon,
    // whose job keeper, seeing a daemon killed, started it again.
    const leave = (): void => {
      resolve(0);
      process.once('beforeExit', () => process.exit(0));
      setTimeout(() => process.exit(0), LEAVE_MS).unref();
    };
    act = {
      SIGTERM: ends(() => daemon.stop('SIGTERM')),
      SIGINT: ends(() => daemon.stop('SIGINT')),
      SIGQUIT: ends(() => daemon.quit('SIGQUIT')),
      // Node's inspector also listens on SIGUSR1: a listener of our own replaces it.
      SIGUSR1: ends(() => daemon.detach('SIGUSR1')),
      SIGUSR2: () => void (ending || daemon.reload('SIGUSR2')),
      SIGHUP: () => void (ending || daemon.reopenLogs()),
    };
    void daemon.handedOver.then(() => {
      ending = true;
      leave();
    });
    readiness.ready(process.pid);
    for (const signal of early) act[signal]();
  });
}
