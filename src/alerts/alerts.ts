/**
 * SPEC §8 hooks and pings, as a subscriber of the run events (README: Alerts): the supervisor and the
 * daemon do not know them. Every handler is quick and synchronous; each send is started here and runs
 * on untracked by anyone but InFlight, and its outcome is published as a `hook-outcome` event (the
 * logs and the metrics write it down). Output is kept, as a bounded tail, only for runs of tasks that
 * have a hook or a ping, and let go when the run's last word is said.
 */
import type { Clock } from '../clock.js';
import type { HookName, HookOutcome, RunEvents } from '../events.js';
import { jobEnv } from '../supervisor/job-env.js';
import type { RunRecord } from '../supervisor/run.js';
import { isFailure, runResult } from '../supervisor/run-result.js';
import type { Hook, Task } from '../tasks/types.js';
import { runCommandHook } from './command-hook.js';
import { documentVariables, hookDocument, type DocumentParts, type HookEvent } from './document.js';
import { FLOOD_WINDOW_MS, FloodControl } from './flood-control.js';
import { postWithRetries, SEND_TIMING, urlOrigin, type SendTiming } from './http-send.js';
import { InFlight, MAX_IN_FLIGHT, STOP_WAIT_MS } from './in-flight.js';
import { OutputTail } from './output-tail.js';
import { endEndpoint, logPingBody, pingUrl, type PingEndpoint } from './ping.js';

export interface AlertTiming extends SendTiming {
  readonly commandTimeoutMs: number;
  readonly floodWindowMs: number;
  readonly maxInFlight: number;
  readonly stopWaitMs: number;
}

export const ALERT_TIMING: AlertTiming = { ...SEND_TIMING, commandTimeoutMs: 10_000, floodWindowMs: FLOOD_WINDOW_MS, maxInFlight: MAX_IN_FLIGHT, stopWaitMs: STOP_WAIT_MS };

export interface AlertsOptions {
  readonly events: RunEvents;
  /** Flood control's minute (the fake clock in tests). */
  readonly clock: Clock;
  /** This host's name (fleet/identity.ts hostName). */
  readonly host: string;
  /** The task file's digest in force. */
  readonly digest: () => string;
  /** The daemon's environment as jobs inherit it: a command hook's base, as a job's. */
  readonly baseEnv: Readonly<Record<string, string>>;
  readonly timing?: Partial<AlertTiming>;
}

interface Output {
  readonly text: string;
  readonly truncated: boolean;
}

const NO_OUTPUT: Output = { text: '', truncated: false };

/** The record a hook document reports for a singleton fire that was never started: a spawn error with the reason. */
function unclaimedRecord(task: Task, scheduledAt: number, at: number, detail: string | undefined): RunRecord {
  return {
    task: task.id,
    run: `${scheduledAt}-unclaimed`,
    trigger: 'schedule',
    attempt: 1,
    jobPid: null,
    scheduledAt,
    jitterS: 0,
    startedAt: at,
    lateMs: at - scheduledAt * 1000,
    durationMs: 0,
    exitCode: null,
    signal: null,
    timedOut: false,
    killed: false,
    replaced: false,
    bytesKept: 0,
    bytesDropped: 0,
    error: `singleton fire not claimed: ${detail ?? 'fleet unavailable'}`,
  };
}

const hasAlerts = (task: Task): boolean => task.options.onFailure !== undefined || task.options.onSuccess !== undefined || task.options.ping !== undefined;

type Outcome = Omit<HookOutcome, 'type' | 'task' | 'run' | 'hook' | 'suppressed' | 'ping'>;

export class Alerts {
  private readonly timing: AlertTiming;
  private readonly inFlight: InFlight;
  private readonly flood: FloodControl<DocumentParts>;
  /** Runs of tasks with a hook or a ping, by run id, while they run. */
  private readonly tails = new Map<string, OutputTail>();
  /** A daemon instance's output between its run-finished and its daemon-exited. */
  private readonly daemonOutput = new Map<string, Output>();
  /** A failed attempt's output while a retry is due: `retry-dropped` makes it the last. */
  private readonly retried = new Map<string, { readonly output: Output; readonly key: string }>();
  private readonly retriedBySecond = new Map<string, string>();
  /** A run's start ping under way: its end ping goes after it, so healthchecks never sees the end first. */
  private readonly startPings = new Map<string, Promise<void>>();

  constructor(private readonly options: AlertsOptions) {
    this.timing = { ...ALERT_TIMING, ...options.timing };
    this.inFlight = new InFlight(this.timing.maxInFlight);
    this.flood = new FloodControl<DocumentParts>(
      options.clock,
      {
        send: (parts, suppressed) => this.hook('on_failure', parts, suppressed),
        suppress: (parts) => this.publish(parts.task, parts.record.run, 'on_failure', null, { ...this.hookTarget(parts.task.options.onFailure), result: 'suppressed', status: null, exitCode: null, tries: 0, ms: 0, error: null, output: null }),
      },
      this.timing.floodWindowMs,
    );
    const { events } = options;
    events.on('run-started', 'alerts', ({ task, run, pid, request, adopted, trigger, scheduledAt }) => {
      if (trigger === 'retry') this.retryStarted(task.id, scheduledAt);
      if (!hasAlerts(task) || (pid === null && request !== true) || adopted) return;
      this.tails.set(run, new OutputTail());
      if (task.options.ping !== undefined) this.startPings.set(run, this.ping(task, run, 'start', ''));
    });
    events.on('output', 'alerts', ({ run, line }) => this.tails.get(run)?.push(line));
    events.on('run-finished', 'alerts', ({ task, role, record, retryInMs }) => {
      const tail = this.tails.get(record.run);
      this.tails.delete(record.run);
      if (!hasAlerts(task)) return;
      const output = tail === undefined ? NO_OUTPUT : { text: tail.text(), truncated: tail.truncated };
      const retrying = retryInMs !== null;
      this.endPing(task, record, retrying, output);
      if (role === 'daemon') this.daemonOutput.set(record.run, output);
      else if (retrying) this.holdForRetry(task.id, record, output);
      else this.ended(task, record, output);
    });
    events.on('retry-dropped', 'alerts', ({ task, record }) => {
      const held = this.retried.get(record.run);
      this.retried.delete(record.run);
      if (held !== undefined) this.retriedBySecond.delete(held.key);
      if (!hasAlerts(task)) return;
      const output = held?.output ?? NO_OUTPUT;
      this.endPing(task, record, false, output);
      this.ended(task, record, output);
    });
    // SPEC §10: a singleton fire not run because etcd was unavailable is a failure (a start that could not be made).
    events.on('fire-skipped', 'alerts', ({ task, scheduledAt, reason, detail, at }) => {
      if (reason === 'fleet unavailable' && task.options.onFailure !== undefined) this.flood.failure(task.id, this.parts('failure', task, unclaimedRecord(task, scheduledAt, at, detail), NO_OUTPUT));
    });
    events.on('daemon-exited', 'alerts', ({ task, record, expected }) => {
      const output = this.daemonOutput.get(record.run) ?? NO_OUTPUT;
      this.daemonOutput.delete(record.run);
      // SPEC §8: a daemon-type task that exits is a failure event; one stopped on purpose is not.
      if (!expected && task.options.onFailure !== undefined) this.flood.failure(task.id, this.parts('failure', task, record, output));
    });
  }

  /** At a stop: held failures are sent now, then sends in flight are waited for (STOP_WAIT_MS at most) and the rest aborted. */
  async flush(): Promise<void> {
    this.flood.flush();
    await this.inFlight.settle(this.timing.stopWaitMs);
  }

  private parts(event: HookEvent, task: Task, record: RunRecord, output: Output): DocumentParts {
    return { event, task, record, host: this.options.host, digest: this.options.digest(), output: output.text, outputTruncated: output.truncated };
  }

  /** A job's last attempt ended: its failure or success hook (SPEC §8: kills and unknown ends are neither). */
  private ended(task: Task, record: RunRecord, output: Output): void {
    const result = runResult(record);
    if (isFailure(result)) {
      if (task.options.onFailure !== undefined) this.flood.failure(task.id, this.parts('failure', task, record, output));
    } else if (result === 'ok' && task.options.onSuccess !== undefined) {
      this.hook('on_success', this.parts('success', task, record, output), 0);
    }
  }

  private holdForRetry(taskId: string, record: RunRecord, output: Output): void {
    const key = `${taskId}\0${record.scheduledAt}`;
    const previous = this.retriedBySecond.get(key);
    if (previous !== undefined) this.retried.delete(previous);
    this.retried.set(record.run, { output, key });
    this.retriedBySecond.set(key, record.run);
  }

  /** The retry of a scheduled second started: the attempt before it is not the last any more. */
  private retryStarted(taskId: string, scheduledAt: number): void {
    const key = `${taskId}\0${scheduledAt}`;
    const run = this.retriedBySecond.get(key);
    if (run === undefined) return;
    this.retriedBySecond.delete(key);
    this.retried.delete(run);
  }

  private endPing(task: Task, record: RunRecord, retrying: boolean, output: Output): void {
    if (task.options.ping === undefined) return;
    const endpoint = endEndpoint(record, retrying);
    void this.ping(task, record.run, endpoint, endpoint === 'log' ? logPingBody(record, retrying, output.text) : output.text);
  }

  private hookTarget(hook: Hook | undefined): Pick<Outcome, 'via' | 'target'> {
    return hook?.kind === 'url' ? { via: 'url', target: urlOrigin(hook.url) } : { via: 'command', target: null };
  }

  private hook(name: 'on_failure' | 'on_success', parts: DocumentParts, suppressed: number): void {
    const hook = name === 'on_failure' ? parts.task.options.onFailure : parts.task.options.onSuccess;
    if (hook === undefined) return;
    const { task, record } = parts;
    const document = hookDocument(parts, suppressed);
    const input = JSON.stringify(document);
    const target = this.hookTarget(hook);
    const report = (outcome: Omit<Outcome, 'via' | 'target'>): void => this.publish(task, record.run, name, null, { ...target, ...outcome }, suppressed);
    const started = this.inFlight.start(async (abort) => {
      if (hook.kind === 'url') {
        const sent = await postWithRetries({ url: hook.url, body: input, contentType: 'application/json', abort }, this.timing);
        report({ result: sent.ok ? 'sent' : 'failed', status: sent.status, exitCode: null, tries: sent.tries, ms: sent.ms, error: sent.error, output: null });
        return;
      }
      const env = { ...jobEnv(this.options.baseEnv, task, record.run, record.scheduledAt, record.attempt), ...documentVariables(document), GOTORCH_HOOK: name };
      const ran = await runCommandHook({ task, command: hook.command, input, env, timeoutMs: this.timing.commandTimeoutMs, abort });
      report({ result: ran.ok ? 'sent' : 'failed', status: null, exitCode: ran.exitCode, tries: 1, ms: ran.ms, error: ran.error, output: ran.output });
    });
    if (!started) report(this.droppedOutcome());
  }

  /** Resolves once the ping was sent or given up (never rejects). */
  private ping(task: Task, run: string, endpoint: PingEndpoint, body: string): Promise<void> {
    const base = task.options.ping!;
    const target = { via: 'url', target: urlOrigin(base) } as const;
    const report = (outcome: Omit<Outcome, 'via' | 'target'>): void => this.publish(task, run, 'ping', endpoint, { ...target, ...outcome });
    let url: string;
    try {
      url = pingUrl(base, endpoint, run);
    } catch {
      report({ result: 'failed', status: null, exitCode: null, tries: 0, ms: 0, error: 'the ping URL is not a valid URL', output: null });
      return Promise.resolve();
    }
    const before = endpoint === 'start' ? undefined : this.startPings.get(run);
    if (endpoint !== 'start') this.startPings.delete(run);
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const started = this.inFlight.start(async (abort) => {
      try {
        await before;
        const sent = await postWithRetries({ url, body, contentType: 'text/plain; charset=utf-8', abort }, this.timing);
        report({ result: sent.ok ? 'sent' : 'failed', status: sent.status, exitCode: null, tries: sent.tries, ms: sent.ms, error: sent.error, output: null });
      } finally {
        done();
      }
    });
    if (!started) {
      report(this.droppedOutcome());
      done();
    }
    return finished;
  }

  private droppedOutcome(): Omit<Outcome, 'via' | 'target'> {
    const { dropped } = this.inFlight;
    return { result: 'dropped', status: null, exitCode: null, tries: 0, ms: 0, error: `${this.timing.maxInFlight} hooks and pings in flight: dropped (${dropped} since the daemon started)`, output: null };
  }

  private publish(task: Task, run: string, hook: HookName, ping: PingEndpoint | null, outcome: Outcome, suppressed = 0): void {
    this.options.events.publish({ type: 'hook-outcome', task, run, hook, ping, suppressed, ...outcome });
  }
}
