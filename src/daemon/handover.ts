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
import { openSync } from 'node:fs';
import type { Logger } from 'pino';
import { heldHandle } from '../supervisor/held-handle.js';
import type { HeldRun, KeeperLink } from '../supervisor/keeper-link.js';
import { signalName } from '../supervisor/native-spawner.js';
import type { HandedOverRun } from '../supervisor/run.js';
import type { OutputStream } from '../supervisor/spawner.js';
import type { HandedOverTask, Supervisor } from '../supervisor/supervisor.js';
import type { Task } from '../tasks/types.js';
import { removedTaskStandIn } from './state.js';

/** What the old daemon answers `take-over` with. */
export interface HandoverState {
  readonly from: number;
  readonly lastSecond: number;
  readonly runs: readonly HandedOverRun[];
  readonly tasks: readonly HandedOverTask[];
}

/** How long the old daemon waits for the next one to take over before it gives up (and stops it). */
export const TAKE_OVER_TIMEOUT_MS = 60_000;

/** The command of the next daemon: this one's, with `--take-over` (kept by the keeper for later restarts, where it finds nobody to take over from). */
export function nextDaemonArgv(): string[] {
  const args = process.argv.slice(2).filter((arg) => arg !== '--take-over');
  return [process.execPath, ...process.execArgv, process.argv[1] as string, ...args, '--take-over'];
}

/** This daemon's copy of a keeper fd: inherited at START (moved), else reopened through /proc (a pipe held after START). */
function ownCopy(fd: number, inherited: ReadonlyMap<number, number>, keeperPid: number): number {
  if (fd < 0) return -1;
  const moved = inherited.get(fd);
  if (moved !== undefined) return moved;
  try {
    return openSync(`/proc/${keeperPid}/fd/${fd}`, 0o4000); // O_RDONLY | O_NONBLOCK
  } catch {
    return -1; // a socket (child_process) the keeper got after this daemon started: its output is not read here
  }
}

/**
 * The next daemon's side: every run the old one handed over, now this daemon's, reading on where the old one
 * stopped. A held entry the old one no longer ran (its record was written) is dropped.
 */
export async function takeOverRuns(keeper: KeeperLink, inherited: ReadonlyMap<number, number>, state: HandoverState, tasks: readonly Task[], supervisor: Supervisor, log: Logger): Promise<number> {
  const byId = new Map(tasks.map((task) => [task.id, task]));
  const handed = new Map(state.runs.map((run) => [run.id, run]));
  const held = new Map<string, HeldRun>();
  for (const entry of await keeper.list(signalName)) {
    if (handed.has(entry.id) && entry.facts !== undefined) held.set(entry.id, entry);
    else keeper.drop(entry.id);
  }
  for (const run of state.runs) {
    const entry = held.get(run.id);
    const facts = entry?.facts;
    if (entry === undefined || facts === undefined) {
      log.warn({ run: run.id }, 'handover: a run the keeper does not hold is left unwatched (its output and exit status are not seen here)');
      continue;
    }
    const fds: Record<OutputStream, number> = { stdout: ownCopy(entry.fds.stdout, inherited, keeper.pid), stderr: ownCopy(entry.fds.stderr, inherited, keeper.pid) };
    const job = { run: run.id, pid: entry.pid, processStart: '', role: facts.role, scheduledAt: facts.scheduledAt, startedAt: facts.startedAt, trigger: facts.trigger, attempt: facts.attempt };
    const task = byId.get(facts.task);
    const standIn = task ?? removedTaskStandIn({ ...job, task: facts.task, type: facts.role === 'daemon' ? 'daemon' : 'cron', graceMs: facts.graceMs });
    const carried = { bytesKept: run.bytesKept, bytesDropped: run.bytesDropped, handovers: run.handovers + 1, recovered: run.recovered, terminating: run.terminating, timedOut: run.timedOut };
    if (fds.stdout < 0 && entry.fds.stdout >= 0) log.warn({ run: run.id }, 'handover: a socket of a run started during the handover cannot be reopened here: its output from now on is not read');
    // The unfinished lines first, then the pipes (heldHandle reads from the next microtask on).
    supervisor.adopt(standIn, job, task !== undefined, { handle: heldHandle(entry, keeper, fds), carried, jitterS: facts.jitterS }).resumeOutput(run.partial);
  }
  supervisor.restoreTasks(state.tasks, byId);
  return held.size;
}
