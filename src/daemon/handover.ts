/**
 * Issue 17: `restart` and `upgrade` without a job noticing. Under the job keeper the running daemon (the
 * old one) asks the keeper to start the next daemon (the same command; for an upgrade, whatever code is
 * installed there now); that one loads and prepares the task file, then asks the old one to `take-over`:
 * the old daemon stops planning and reading its jobs' output and answers with everything a job needs
 * (each run's place in its output, unfinished lines included; each task's back-off, pending restart,
 * retries and waiting fire; the last planned second). The next daemon adopts every job the keeper holds,
 * says `taken`, and the old one gives up the pidfile and the sockets and exits; its jobs become the
 * keeper's children, whose exits the keeper tells the next daemon. Until `take-over`, a next daemon that
 * fails (a bad file, a bad install) changes nothing: the old one runs on and says why.
 */
import type { Logger } from 'pino';
import type { NextDaemonOptions } from './control-server.js';
import type { HeldRun, HeldRunFacts, KeeperLink } from '../supervisor/keeper-link.js';
import { signalName } from '../supervisor/native-spawner.js';
import type { HandedOverRun } from '../supervisor/run.js';
import type { HandedOverTask, Supervisor } from '../supervisor/supervisor.js';
import type { Task } from '../tasks/types.js';
import { adoptHeldRun, hasFacts } from './previous-daemon.js';

/** What the old daemon answers `take-over` with. */
export interface HandoverState {
  readonly from: number;
  readonly lastSecond: number;
  readonly runs: readonly HandedOverRun[];
  readonly tasks: readonly HandedOverTask[];
}

/** How long the old daemon waits for the next one to take over before it gives up (and stops it). */
export const TAKE_OVER_TIMEOUT_MS = 60_000;

/**
 * The command of the next daemon: this one's, with `--take-over` (kept by the keeper for later restarts,
 * where it finds nobody to take over from). A restart that changes options gives them: the same pidfile,
 * log folder and mode (foreground or daemonized), the new task file, host identity and `start` options.
 */
export function nextDaemonArgv(paths: { readonly pidfile: string; readonly logDir: string }, change?: NextDaemonOptions): string[] {
  const own = process.argv.slice(2).filter((arg) => arg !== '--take-over');
  const mode = own.includes('--daemon-child') ? '--daemon-child' : '--foreground';
  const args = change === undefined ? own : ['--tasks', change.tasks, '--pidfile', paths.pidfile, '--log-dir', paths.logDir, ...(change.hostId === null ? [] : ['--host-id', change.hostId]), 'start', mode, ...change.start];
  return [process.execPath, ...process.execArgv, process.argv[1] as string, ...args, '--take-over'];
}

/**
 * The next daemon's side: every run the old one handed over, now this daemon's, reading on where the old one
 * stopped. A held entry the old one no longer ran (its record was written) is dropped.
 */
export async function takeOverRuns(keeper: KeeperLink, inherited: ReadonlyMap<number, number>, state: HandoverState, tasks: readonly Task[], supervisor: Supervisor, log: Logger): Promise<number> {
  const byId = new Map(tasks.map((task) => [task.id, task]));
  const handed = new Map(state.runs.map((run) => [run.id, run]));
  const held = new Map<string, HeldRun & { readonly facts: HeldRunFacts }>();
  for (const entry of await keeper.list(signalName)) {
    if (handed.has(entry.id) && hasFacts(entry)) held.set(entry.id, entry);
    else keeper.drop(entry.id);
  }
  for (const run of state.runs) {
    const entry = held.get(run.id);
    if (entry === undefined) {
      log.warn({ run: run.id }, 'handover: a run the keeper does not hold is left unwatched (its output and exit status are not seen here)');
      continue;
    }
    const carried = { bytesKept: run.bytesKept, bytesDropped: run.bytesDropped, handovers: run.handovers + 1, recovered: run.recovered, terminating: run.terminating, timedOut: run.timedOut };
    // The unfinished lines first, then the pipes (heldHandle reads from the next microtask on).
    adoptHeldRun(keeper, inherited, entry, byId, supervisor, log, carried).resumeOutput(run.partial);
  }
  supervisor.restoreTasks(state.tasks, byId);
  return held.size;
}
