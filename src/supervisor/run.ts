import type { Clock, Timer } from '../clock.js';
import type { RunEvents } from '../events.js';
import type { Task } from '../tasks/types.js';
import { OutputSplitter } from './output.js';
import type { JobEnvironment } from './job-env.js';
import type { ChildHandle, SpawnOutcome, SpawnRequest } from './spawner.js';

/**
 * Why a run started: its schedule, a second planned late (a late wake, the replay after a clean stop,
 * a forward clock jump), `gotorch run`, or a retry of a failed attempt (SPEC §8).
 */
export type RunTrigger = 'schedule' | 'catch-up' | 'manual' | 'retry';

/** SPEC §2: the one record every run ends with. */
export interface RunRecord {
  readonly task: string;
  readonly run: string;
  readonly trigger: RunTrigger;
  /** 1 for the first attempt at a scheduled second; retries count on (SPEC §8). */
  readonly attempt: number;
  /** The job's process (group leader); named apart from the daemon's own `pid` in log records. */
  readonly jobPid: number | null;
  /** The scheduled second, Unix seconds (SPEC §8: jitter included). */
  readonly scheduledAt: number;
  /** SPEC §8 jitter: how many seconds `scheduledAt` lies after the schedule's own second on this host. */
  readonly jitterS: number;
  /** Spawn time by the injected clock, ms since the epoch. */
  readonly startedAt: number;
  readonly lateMs: number;
  readonly durationMs: number;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  /** Ended by gotorch on request (`kill`, `stop`, a daemon instance stopped), not by its timeout. */
  readonly killed: boolean;
  /** Ended by gotorch to start a newer fire in its place (SPEC §8 overlap=replace). */
  readonly replaced: boolean;
  readonly bytesKept: number;
  readonly bytesDropped: number;
  /** Why the spawn (or an HTTP task's request) failed, or null. */
  readonly error: string | null;
  /** Issue 17: daemon handovers (restart, upgrade) this run lived through; absent when none. */
  readonly handovers?: number;
  /** Issue 17: the run lived through a crash of the daemon (taken over from the job keeper); absent otherwise. */
  readonly recovered?: boolean;
  /** SPEC §11: an HTTP task's response status; absent on other runs and when no response came. */
  readonly httpStatus?: number;
}

/** A cron job, or one kept instance of a daemon task (SPEC §1.4). */
export type RunRole = 'job' | 'daemon';

export interface RunStart {
  readonly task: Task;
  readonly scheduledAt: number;
  readonly runId: string;
  readonly role: RunRole;
  readonly trigger: RunTrigger;
  readonly attempt: number;
  readonly jitterS: number;
  readonly env: JobEnvironment;
  readonly clock: Clock;
  /** Starts the process (or, for an adopted run, takes over the one running). */
  readonly spawn: (request: SpawnRequest) => ChildHandle;
  /** Where the run says it started, printed and finished (the run log is a subscriber). */
  readonly events: RunEvents;
  /** SPEC §8: whether a retry of this attempt follows, and in how many ms (null: none). Asked once, at the end. */
  readonly retryAfter: (record: RunRecord) => number | null;
  /** Called exactly once, after the record is published, with what retryAfter answered. */
  readonly onExit: (run: Run, record: RunRecord, retryInMs: number | null) => void;
  /** For a run adopted from a previous daemon: when it really started (ms). */
  readonly startedAt?: number;
  /** Issue 17: what a run taken over from a previous daemon carries on with. */
  readonly carried?: CarriedRun;
  /** Where the run's end waits while starts do (StartQueue.whenIdle); at once without it. */
  readonly afterStarts?: (work: () => void) => void;
}

/** Issue 17: a run handed over (restart, upgrade) or recovered after a crash keeps counting where it was. */
export interface CarriedRun {
  readonly bytesKept: number;
  readonly bytesDropped: number;
  readonly handovers: number;
  readonly recovered: boolean;
  /** The run was being stopped (TERM sent): its KILL comes after the rest of its grace. */
  readonly terminating?: boolean;
  readonly timedOut?: boolean;
}

/** Issue 17: a run as a handover passes it on: its place in the output, unfinished lines included. */
export interface HandedOverRun extends CarriedRun {
  readonly id: string;
  /** Each stream's unfinished last line, base64. */
  readonly partial: Readonly<Record<'stdout' | 'stderr', string>>;
}

/** SPEC §2: the environment jobs inherit: the daemon's own, without gotorch's control variables. */
export function inheritedEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const inherited: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && !key.startsWith('GOTORCH_')) inherited[key] = value;
  }
  return inherited;
}

/** What a run spawns; `env`, the complete object, is built only if the spawner reads it (the native one reads `jobEnv`). */
class RunRequest implements SpawnRequest {
  readonly shell: string;
  readonly command: string;
  readonly cwd: string | undefined;
  readonly user: string | undefined;
  readonly http: Task['options']['http'];

  constructor(
    task: Task,
    readonly jobEnv: JobEnvironment,
  ) {
    this.shell = task.shell;
    this.command = task.command;
    this.cwd = task.options.cwd;
    this.user = task.options.user;
    this.http = task.options.http;
  }

  get env(): Readonly<Record<string, string>> {
    return this.jobEnv.all;
  }
}

const GROUP_RECHECK_MS = 50;

/** One started process group: publishes its start, output lines and record; times it out. */
export class Run {
  readonly id: string;
  readonly task: Task;
  readonly role: RunRole;
  readonly trigger: RunTrigger;
  readonly attempt: number;
  readonly scheduledAt: number;
  readonly jitterS: number;
  readonly startedAt: number;
  readonly pid: number | undefined;
  /** Set by the supervisor when it wants this run gone: its exit is expected, not a crash. */
  stopping = false;
  /** A daemon instance of a changed definition: stopped once its replacements are started (SPEC §5). */
  retiring = false;
  /** Being stopped for a newer fire (SPEC §8 overlap=replace). */
  replaced = false;
  readonly finished: Promise<RunRecord>;
  /** Issue 17: what a previous daemon handed over with this run (undefined for a run started here). */
  readonly carried: CarriedRun | undefined;
  private readonly clock: Clock;
  private readonly handle: ChildHandle;
  private readonly output: OutputSplitter;
  private readonly adoptedRun: boolean;
  private timedOut = false;
  private timeoutTimer: Timer | undefined;
  private killTimer: Timer | undefined;
  private terminating = false;
  /** The process exited (its record may still wait for the starts: afterStarts). */
  private exited = false;
  private done = false;

  constructor(start: RunStart) {
    this.id = start.runId;
    this.task = start.task;
    this.role = start.role;
    this.trigger = start.trigger;
    this.attempt = start.attempt;
    this.scheduledAt = start.scheduledAt;
    this.jitterS = start.jitterS;
    this.clock = start.clock;
    const { events, task } = start;
    const output = new OutputSplitter(task.options.logLimit, (stream, line) => events.publish({ type: 'output', task, run: this.id, stream, line }));
    this.output = output;
    this.carried = start.carried;
    this.adoptedRun = start.startedAt !== undefined;
    output.bytesKept = start.carried?.bytesKept ?? 0;
    output.bytesDropped = start.carried?.bytesDropped ?? 0;
    if (start.carried?.timedOut === true) this.timedOut = true;
    this.startedAt = start.startedAt ?? start.clock.now();
    this.handle = start.spawn(new RunRequest(start.task, start.env));
    this.pid = this.handle.pid;
    const request = this.handle.request === true;
    const adopted = start.startedAt !== undefined;
    const { role, trigger, attempt, scheduledAt, startedAt } = this;
    events.publish({ type: 'run-started', task, run: this.id, pid: this.pid ?? null, request, role, trigger, attempt, scheduledAt, startedAt, adopted });
    const limit = start.task.options.logLimit;
    const drains = new Map<string, Promise<number> | undefined>();
    this.handle.onOutput((stream, chunk) => {
      output.push(stream, chunk);
      // Past log_limit nothing more is kept: let a counting process read the rest (SPEC §2).
      if (output.bytesKept >= limit && !drains.has(stream)) drains.set(stream, this.handle.drain(stream));
    });
    const { timeoutMs } = start.task.options;
    if (start.carried?.terminating === true) {
      this.stopping = true;
      void this.terminate();
    } else if (timeoutMs !== undefined && (this.pid !== undefined || request)) {
      // SPEC §1.5 timeout=: the whole process group, TERM then KILL after grace (a request: aborted).
      this.timeoutTimer = start.clock.setTimer(this.startedAt + timeoutMs, () => {
        if (this.terminating || this.exited) return;
        this.timedOut = true;
        void this.terminate();
      });
    }
    this.finished = this.handle.outcome
      .catch((error: unknown): SpawnOutcome => ({ exitCode: null, signal: null, error: String(error) }))
      .then(async (outcome) => {
        this.exited = true;
        for (const drained of await Promise.all(drains.values())) output.bytesDropped += drained ?? 0;
        if (start.afterStarts !== undefined) await new Promise<void>((resolve) => start.afterStarts?.(resolve));
        return this.finish(outcome, output, events, start);
      });
  }

  /** SPEC §2: TERM the process group, KILL it after the task's grace; resolves with the run's record. */
  terminate(): Promise<RunRecord> {
    if (this.done || this.exited || this.terminating) return this.finished;
    this.terminating = true;
    if (this.handle.signalGroup('SIGTERM')) {
      this.killTimer = this.clock.setTimer(this.clock.now() + this.task.options.graceMs, () => {
        this.killTimer = undefined;
        this.handle.signalGroup('SIGKILL');
      });
    }
    return this.finished;
  }

  /** The job's pipes as this daemon reads them (for the job keeper), if it started the job. */
  get outputFds(): Readonly<Record<'stdout' | 'stderr', number>> | undefined {
    return this.handle.outputFds;
  }

  /** Issue 17: how this daemon came to hold the run: taken over after a crash, a handover, or from the state file alone. */
  get adoptedFrom(): 'crash' | 'handover' | 'state file' | null {
    if (this.carried !== undefined) return this.carried.recovered ? 'crash' : 'handover';
    return this.adoptedRun ? 'state file' : null;
  }

  /** Output bytes kept in the run log so far, and counted past log_limit (carried over a handover). */
  get bytes(): { readonly kept: number; readonly dropped: number } {
    return { kept: this.output.bytesKept, dropped: this.output.bytesDropped };
  }

  /** Whether a TERM was sent (by a kill, a stop or the timeout). */
  get isTerminating(): boolean {
    return this.terminating;
  }

  get isTimedOut(): boolean {
    return this.timedOut;
  }

  /**
   * Issue 17, a handover: stops reading the output and timing the run out; the job runs on, for the next
   * daemon, which continues from what this returns (its record is written there).
   */
  handOver(): HandedOverRun {
    this.release();
    this.handle.pauseOutput?.();
    const partial = this.output.partialBytes();
    return {
      id: this.id,
      bytesKept: this.output.bytesKept,
      bytesDropped: this.output.bytesDropped,
      handovers: this.carried?.handovers ?? 0,
      recovered: this.carried?.recovered ?? false,
      terminating: this.terminating,
      timedOut: this.timedOut,
      partial: { stdout: partial.stdout.toString('base64'), stderr: partial.stderr.toString('base64') },
    };
  }

  /** Issue 17: the unfinished line a previous daemon passed on comes before anything read here. */
  resumeOutput(partial: HandedOverRun['partial']): void {
    for (const stream of ['stdout', 'stderr'] as const) if (partial[stream] !== '') this.output.resume(stream, Buffer.from(partial[stream], 'base64'));
  }

  /** Stops timing this run out without touching its process: a failed start leaves it to the next daemon. */
  release(): void {
    this.timeoutTimer?.cancel();
    this.killTimer?.cancel();
  }

  /** Members still dying (or not yet reaped) right after the leader: look again until gone, KILL at grace. */
  private cancelKillOnceGroupGone(): void {
    if (!this.handle.signalGroup(0)) {
      this.killTimer?.cancel();
      this.killTimer = undefined;
      return;
    }
    this.clock.setTimer(this.clock.now() + GROUP_RECHECK_MS, () => {
      if (this.killTimer !== undefined) this.cancelKillOnceGroupGone();
    });
  }

  private finish(outcome: SpawnOutcome, output: OutputSplitter, events: RunEvents, start: RunStart): RunRecord {
    this.done = true;
    this.timeoutTimer?.cancel();
    // A TERM-ignoring member that closed its pipes may outlive the leader: let its KILL still come.
    if (this.killTimer !== undefined) this.cancelKillOnceGroupGone();
    const record: RunRecord = {
      task: this.task.id,
      run: this.id,
      trigger: this.trigger,
      attempt: this.attempt,
      jobPid: this.pid ?? null,
      scheduledAt: this.scheduledAt,
      jitterS: this.jitterS,
      startedAt: this.startedAt,
      lateMs: this.startedAt - this.scheduledAt * 1000,
      durationMs: this.clock.now() - this.startedAt,
      exitCode: outcome.exitCode,
      signal: outcome.signal,
      timedOut: this.timedOut,
      killed: this.terminating && !this.timedOut,
      replaced: this.replaced && !this.timedOut,
      bytesKept: output.bytesKept,
      bytesDropped: output.bytesDropped,
      error: outcome.error ?? null,
      ...(outcome.httpStatus === undefined ? {} : { httpStatus: outcome.httpStatus }),
      ...(this.carried === undefined || this.carried.handovers === 0 ? {} : { handovers: this.carried.handovers }),
      ...(this.carried?.recovered === true ? { recovered: true } : {}),
    };
    output.end(); // the last unfinished line of each stream, before the record
    const retryInMs = start.retryAfter(record);
    events.publish({ type: 'run-finished', task: this.task, role: this.role, record, retryInMs });
    start.onExit(this, record, retryInMs);
    return record;
  }
}
