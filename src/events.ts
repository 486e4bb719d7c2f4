/**
 * What happened, for whoever listens (STYLE: events, not calls): the supervisor says a fire was
 * skipped, a run started, printed a line or finished, a daemon instance exited; the daemon says a
 * reload was applied or rejected. The run log, history, metrics, hooks and the fleet registry are
 * subscribers; the producers do not know them.
 *
 * Delivery never delays a tick or a spawn: publish() only queues. The queue is drained from
 * setImmediate, in order, for at most DELIVERY_BUDGET_MS per event-loop turn (then timers, the tick
 * among them, get their turn), and a subscriber that throws is reported and skipped for that event.
 * A subscriber must still be quick and synchronous: work that waits (a hook, an HTTP call) starts
 * there and runs on without being awaited.
 */
import { performance } from 'node:perf_hooks';
import type { RunRecord, RunRole, RunTrigger } from './supervisor/run.js';
import type { OutputStream } from './supervisor/spawner.js';
import type { Task } from './tasks/types.js';

/**
 * Why a fire did not start: SPEC §1.3 `max` (overlap=skip); overlap=queue with a fire already waiting
 * (`queue full`); overlap=replace where a newer fire took the waiting one's place (`superseded`); a
 * stop drops fires, waiting ones included (`shutting down`), and so does a reload that removes the task.
 * SPEC §10: a singleton fire whose claim could not be made (etcd down, the lease may have expired, the
 * transaction failed) is `fleet unavailable`: not run (at most once), and a failure (its hook fires).
 */
export type SkipReason = 'max' | 'queue full' | 'superseded' | 'task removed' | 'shutting down' | 'fleet unavailable';

export interface FireSkipped {
  readonly type: 'fire-skipped';
  readonly task: Task;
  readonly scheduledAt: number;
  readonly reason: SkipReason;
  /** Instances alive and starts accepted but not yet spawned, when it was skipped. */
  readonly running: number;
  readonly starting: number;
  /** When it was decided (ms, the supervisor's clock). */
  readonly at: number;
  /** What went wrong, for `fleet unavailable` (e.g. `etcd is down`). */
  readonly detail?: string;
}

export interface RunStarted {
  readonly type: 'run-started';
  readonly task: Task;
  readonly run: string;
  /** The job's pid; null when the spawn failed (a run-finished with the error follows). */
  readonly pid: number | null;
  /** SPEC §11: an HTTP task's request: it started, though it has no pid. */
  readonly request?: boolean;
  readonly role: RunRole;
  readonly trigger: RunTrigger;
  readonly attempt: number;
  readonly scheduledAt: number;
  readonly startedAt: number;
  /** Taken over from a previous daemon (SPEC §6), not started by this one. */
  readonly adopted: boolean;
}

export interface OutputLine {
  readonly type: 'output';
  readonly task: Task;
  readonly run: string;
  readonly stream: OutputStream;
  readonly line: string;
}

export interface RunFinished {
  readonly type: 'run-finished';
  readonly task: Task;
  readonly role: RunRole;
  readonly record: RunRecord;
  /**
   * A failed job attempt that `retries=` starts again (SPEC §8): in this many ms. Null when no retry
   * follows: this was the run's last attempt, and the failure hook (if any) is for it.
   */
  readonly retryInMs: number | null;
}

/**
 * A retry that was due but will not start (SPEC §8: none across a stop; a removed task; `gotorch kill`;
 * overlap=replace took its place): `record` is the attempt it would have repeated, which is now the last.
 */
export interface RetryDropped {
  readonly type: 'retry-dropped';
  readonly task: Task;
  readonly record: RunRecord;
  readonly reason: 'shutting down' | 'task removed' | 'killed' | 'replaced';
}

export interface DaemonExited {
  readonly type: 'daemon-exited';
  readonly task: Task;
  readonly record: RunRecord;
  /** Stopped on purpose (window closed, replaced, removed, `kill`, shutdown): no restart follows. */
  readonly expected: boolean;
  /** When not expected: the back-off before the restart (SPEC §1.4), or null when none follows. */
  readonly restartInMs: number | null;
}

export interface ReloadApplied {
  readonly type: 'reload-applied';
  readonly trigger: string;
  /** `added 2, changed 1, removed 1, unchanged 40`. */
  readonly summary: string;
  /** The first second planned under the new schedule. */
  readonly fromSecond: number;
  readonly digest: string;
  readonly tasks: number;
  readonly applicable: number;
}

export interface ReloadRejected {
  readonly type: 'reload-rejected';
  readonly trigger: string;
  /** Every error, as `file:line:column: message`. */
  readonly errors: readonly string[];
}

/** SPEC §8: which hook of a task an outcome is of (README: Alerts). */
export type HookName = 'on_failure' | 'on_success' | 'ping';

/**
 * What became of one hook or ping (src/alerts/): sent, failed after its tries, suppressed by flood
 * control (counted into a later failure hook) or dropped (too many sends in flight). Published by the
 * alerts subscriber; the logs and metrics are its subscribers.
 */
export interface HookOutcome {
  readonly type: 'hook-outcome';
  readonly task: Task;
  readonly run: string;
  readonly hook: HookName;
  readonly via: 'url' | 'command';
  readonly result: 'sent' | 'failed' | 'suppressed' | 'dropped';
  /** A ping's endpoint: `start`, an exit code, `fail` or `log`; null for a hook. */
  readonly ping: string | null;
  /** Where it went: a URL's origin only (its path, query and userinfo may hold a key); null for a command. */
  readonly target: string | null;
  /** The last try's HTTP status, or null. */
  readonly status: number | null;
  /** A command hook's exit code, or null. */
  readonly exitCode: number | null;
  readonly tries: number;
  readonly ms: number;
  readonly error: string | null;
  /** A command hook's output, a bounded excerpt; null for a URL. */
  readonly output: string | null;
  /** Failures counted into this failure hook (flood control); 0 for others. */
  readonly suppressed: number;
}

export type RunEvent = FireSkipped | RunStarted | OutputLine | RunFinished | RetryDropped | DaemonExited | ReloadApplied | ReloadRejected | HookOutcome;
export type RunEventType = RunEvent['type'];
export type EventOf<K extends RunEventType> = Extract<RunEvent, { readonly type: K }>;

/** Longest one turn of delivery may hold the event loop. */
export const DELIVERY_BUDGET_MS = 5;

type Listener = (event: RunEvent) => void;

export class RunEvents {
  private readonly listeners = new Map<RunEventType, { readonly name: string; readonly listener: Listener }[]>();
  private queue: RunEvent[] = [];
  private head = 0;
  private scheduled = false;

  /** `onError` hears of a subscriber that threw (by its name); it must not throw itself. */
  constructor(private readonly onError: (subscriber: string, event: RunEvent, error: unknown) => void = () => undefined) {}

  /** Subscribes `listener` (known as `name` in error reports) to events of `type`; returns the unsubscribe. */
  on<K extends RunEventType>(type: K, name: string, listener: (event: EventOf<K>) => void): () => void {
    const entry = { name, listener: listener as Listener };
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), entry]);
    return () => this.listeners.set(type, (this.listeners.get(type) ?? []).filter((candidate) => candidate !== entry));
  }

  /** Queues `event` for its subscribers; never calls one, never throws. */
  publish(event: RunEvent): void {
    if (!this.listeners.has(event.type)) return;
    this.queue.push(event);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.deliver());
    }
  }

  /** Resolves once every event published so far has been delivered (a stop waits for it). */
  async drained(): Promise<void> {
    while (this.head < this.queue.length) await new Promise((resolve) => setImmediate(resolve));
  }

  private deliver(): void {
    this.scheduled = false;
    const began = performance.now();
    while (this.head < this.queue.length) {
      const event = this.queue[this.head++];
      for (const { name, listener } of this.listeners.get(event.type) ?? []) {
        try {
          listener(event);
        } catch (error) {
          this.onError(name, event, error);
        }
      }
      if (this.head < this.queue.length && performance.now() - began >= DELIVERY_BUDGET_MS) {
        this.scheduled = true;
        setImmediate(() => this.deliver());
        return;
      }
    }
    this.queue = [];
    this.head = 0;
  }
}
