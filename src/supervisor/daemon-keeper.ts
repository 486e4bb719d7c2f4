import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { RunEvents } from '../events.js';
import type { Task } from '../tasks/types.js';
import { backoffAfterExit, initialBackoff } from './backoff.js';
import type { Run, RunRecord } from './run.js';
import { activeInstances, type TaskEntry } from './task-entry.js';

export interface KeeperHost {
  readonly clock: Clock;
  /** Daemon events. */
  readonly log: Logger;
  /** Where every exit is told (the daemon's log says it with its code). */
  readonly events: RunEvents;
  /** Queues one instance start; it spawns later only if `wanted` still holds then. */
  /** `second`: the second the tick plans (default: now). */
  queueStart(entry: TaskEntry, second?: number): void;
  isClosing(): boolean;
}

/** SPEC §5: a daemon whose process definition changed is restarted; other changes keep its instances. */
export function spawnDefinitionChanged(a: Task, b: Task): boolean {
  if (a.command !== b.command || a.shell !== b.shell) return true;
  if (a.options.cwd !== b.options.cwd || a.options.user !== b.options.user) return true;
  const aKeys = Object.keys(a.env);
  return aKeys.length !== Object.keys(b.env).length || aKeys.some((key) => a.env[key] !== b.env[key]);
}

/** SPEC §1.4: keeps `max` instances of each daemon task running while its window is open. */
export class DaemonKeeper {
  constructor(private readonly host: KeeperHost) {}

  /** Called by the tick every second with the task's window state. */
  keep(entry: TaskEntry, windowOpen: boolean, second?: number): void {
    if (windowOpen) {
      entry.windowOpen = true;
      this.fill(entry, second);
      return;
    }
    if (entry.windowOpen) this.host.log.info({ task: entry.task.id }, 'daemon window closed');
    entry.windowOpen = false;
    this.stopInstances(entry, 'window closed');
  }

  /** Whether a queued start should still spawn when its turn comes. */
  wanted(entry: TaskEntry): boolean {
    return this.running(entry) && activeInstances(entry).length < entry.task.max;
  }

  /** After a queued start was spawned or dropped: once none is left, stop the instances they replace. */
  startSettled(entry: TaskEntry): void {
    if (entry.queued > 0) return;
    this.stop(entry, [...entry.runs].filter((run) => run.retiring && !run.stopping), 'replaced by the new definition');
  }

  /** Every exit is logged with its code; an unexpected one is restarted after the back-off. */
  exited(entry: TaskEntry, run: Run, record: RunRecord): void {
    const { task } = entry;
    if (run.stopping || run.retiring) {
      this.host.events.publish({ type: 'daemon-exited', task, record, expected: true, restartInMs: null });
      return;
    }
    const { delayMs, next } = backoffAfterExit(entry.backoff, record.durationMs);
    entry.backoff = next;
    const restart = this.running(entry);
    this.host.events.publish({ type: 'daemon-exited', task, record, expected: false, restartInMs: restart ? delayMs : null });
    if (restart) this.restartAt(entry, this.host.clock.now() + delayMs);
  }

  /** A backed-off restart at `at` (ms); issue 17: also one a previous daemon had pending at its handover. */
  restartAt(entry: TaskEntry, at: number): void {
    entry.restartTimer?.cancel();
    entry.restartAt = at;
    entry.restartTimer = this.host.clock.setTimer(at, () => {
      entry.restartTimer = null;
      entry.restartAt = null;
      this.fill(entry);
    });
  }

  /** SPEC §5: a reload gave this identity a new definition (`entry.task`); `previous` is the old one. */
  redefine(entry: TaskEntry, previous: Task): void {
    const { task } = entry;
    if (task.type !== 'daemon') {
      this.stopInstances(entry, 'no longer a daemon task');
      return;
    }
    if (previous.type === 'daemon' && spawnDefinitionChanged(previous, task)) {
      this.resetBackoff(entry);
      for (const run of activeInstances(entry)) run.retiring = true;
      this.host.log.info({ task: task.id }, 'daemon definition changed: restarting (start new, stop old)');
      this.fill(entry);
      this.startSettled(entry);
      return;
    }
    const newestFirst = activeInstances(entry).reverse(); // runs are kept in start order
    this.stop(entry, newestFirst.slice(0, Math.max(0, newestFirst.length - task.max)), 'max lowered');
    this.fill(entry);
  }

  /** Stops every daemon instance of the entry gracefully and forgets its back-off. */
  stopInstances(entry: TaskEntry, reason: string): void {
    this.resetBackoff(entry);
    this.stop(entry, [...entry.runs].filter((run) => run.role === 'daemon' && !run.stopping), reason);
  }

  private running(entry: TaskEntry): boolean {
    return !this.host.isClosing() && entry.current && entry.windowOpen && entry.task.type === 'daemon';
  }

  private fill(entry: TaskEntry, second?: number): void {
    if (!this.running(entry) || entry.restartAt !== null) return;
    const missing = entry.task.max - activeInstances(entry).length - entry.queued;
    for (let i = 0; i < missing; i++) this.host.queueStart(entry, second);
  }

  private resetBackoff(entry: TaskEntry): void {
    entry.restartTimer?.cancel();
    entry.restartTimer = null;
    entry.restartAt = null;
    entry.backoff = initialBackoff;
  }

  private stop(entry: TaskEntry, runs: readonly Run[], reason: string): void {
    if (runs.length === 0) return;
    this.host.log.info({ task: entry.task.id, pids: runs.map((run) => run.pid), reason }, 'stopping daemon instances');
    for (const run of runs) {
      run.stopping = true;
      void run.terminate();
    }
  }
}
