import { pino, type Logger } from 'pino';
import type {
  ChildHandle,
  OutputListener,
  OutputStream,
  SpawnOutcome,
  SpawnRequest,
  Spawner,
} from '../../src/supervisor/spawner.js';
import type { AdoptedJob } from '../../src/supervisor/adoption.js';
import type { ProcessStat, ProcessTable } from '../../src/supervisor/process-table.js';
import { OPTION_DEFAULTS } from '../../src/tasks/options.js';
import type { Task, TaskOptions } from '../../src/tasks/types.js';
import { writeDaemonLog } from '../../src/daemon/daemon-log.js';
import { writeRunLog } from '../../src/daemon/run-log.js';
import { RunEvents } from '../../src/events.js';
import { Supervisor, type SupervisorOptions } from '../../src/supervisor/supervisor.js';

export type LogRecord = Record<string, unknown> & { msg?: string };

/** A pino logger whose records are parsed into an array, synchronously. */
export function captureLogger(): { logger: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const logger = pino({ level: 'trace' }, { write: (line: string) => records.push(JSON.parse(line) as LogRecord) });
  return { logger, records };
}

export { FakeClock } from '../helpers/fake-clock.js';

/**
 * A supervisor wired as the daemon wires it: its events delivered to the run log and the daemon's log
 * (captured), and any subscriber failure kept in `failures`.
 */
export function wiredSupervisor(options: Omit<SupervisorOptions, 'log' | 'events'>) {
  const log = captureLogger();
  const runLog = captureLogger();
  const failures: unknown[] = [];
  const events = new RunEvents((_subscriber, _event, error) => failures.push(error));
  const runLogWriter = writeRunLog(events, runLog.logger, options.clock);
  const daemonLog = writeDaemonLog(events, log.logger, options.clock);
  const supervisor = new Supervisor({ ...options, log: log.logger, events });
  return { supervisor, log: log.records, runLog: runLog.records, events, daemonLog, runLogWriter, failures };
}

/** A child the test scripts by hand: it writes output, exits, and records the signals it got. */
export class FakeChild implements ChildHandle {
  readonly signals: string[] = [];
  readonly outcome: Promise<SpawnOutcome>;
  alive: boolean;
  private listener: OutputListener | undefined;
  private resolve!: (outcome: SpawnOutcome) => void;

  constructor(
    readonly request: SpawnRequest,
    readonly pid: number | undefined,
  ) {
    this.alive = pid !== undefined;
    this.outcome = new Promise((resolve) => (this.resolve = resolve));
  }

  onOutput(listener: OutputListener): void {
    this.listener = listener;
  }

  signalGroup(signal: NodeJS.Signals | 0): boolean {
    if (signal !== 0 && this.alive) this.signals.push(signal);
    return this.alive;
  }

  /** Scripted children have no pipe to hand over: the run keeps counting output itself. */
  drain(): undefined {
    return undefined;
  }

  write(stream: OutputStream, text: string): void {
    this.listener?.(stream, Buffer.from(text));
  }

  exit(exitCode: number | null, signal: string | null = null): void {
    this.alive = false;
    this.resolve({ exitCode, signal });
  }

  fail(error: string): void {
    this.alive = false;
    this.resolve({ exitCode: null, signal: null, error });
  }
}

/** Records every spawn request and hands out FakeChild handles. */
export class ScriptedSpawner implements Spawner {
  readonly children: FakeChild[] = [];
  /** Every spawn and signal in order, e.g. `spawn:cmd`, `SIGTERM:1001`. */
  readonly events: string[] = [];
  private nextPid = 1000;

  spawn(request: SpawnRequest): ChildHandle {
    return this.track(new FakeChild(request, ++this.nextPid), `spawn:${request.command}`);
  }

  /** A job of a previous daemon: a child the test ends by hand, like any other. */
  adopt(job: AdoptedJob): ChildHandle {
    return this.track(new FakeChild({ shell: '', command: '', env: { GOTORCH_RUN_ID: job.run } }, job.pid), `adopt:${job.run}`);
  }

  private track(child: FakeChild, event: string): FakeChild {
    const signal = child.signalGroup.bind(child);
    child.signalGroup = (sig) => {
      if (sig !== 0 && child.alive) this.events.push(`${sig}:${child.pid}`);
      return signal(sig);
    };
    this.events.push(`${event}:${child.pid}`);
    this.children.push(child);
    return child;
  }

  alive(): FakeChild[] {
    return this.children.filter((child) => child.alive);
  }
}

/** Lets queued starts (one per setImmediate) and promise callbacks run; no time passes. */
export async function settle(rounds = 50): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}

export function makeTask(
  fields: Partial<Omit<Task, 'options'>> & { id: string },
  options: Partial<TaskOptions> = {},
): Task {
  return {
    location: { file: 'tasks.conf', line: 1, column: 1 },
    scheduleText: '* * * * * *',
    schedule: { kind: 'every', seconds: 1 },
    zone: 'UTC',
    hosts: ['*'],
    max: 0,
    type: 'cron',
    command: `echo ${fields.id}`,
    shell: '/bin/sh',
    env: {},
    ...fields,
    options: { ...OPTION_DEFAULTS, ...options },
  };
}

/** A process table the test fills: pid → stat and environment (SPEC §6 adoption on a fake /proc). */
export class FakeProcessTable implements ProcessTable {
  private readonly processes = new Map<number, { stat: ProcessStat; env: Record<string, string> }>();

  /** A live process, leader of its own group unless `group` says otherwise. */
  add(pid: number, startTime: string, env: Record<string, string>, group = pid): void {
    this.processes.set(pid, { stat: { group, startTime }, env });
  }

  remove(pid: number): void {
    this.processes.delete(pid);
  }

  stat(pid: number): ProcessStat | undefined {
    return this.processes.get(pid)?.stat;
  }

  environ(pid: number, name: string): string | undefined {
    return this.processes.get(pid)?.env[name];
  }

  byRun(): ReadonlyMap<string, readonly number[]> {
    const byRun = new Map<string, number[]>();
    for (const [pid, { env }] of this.processes) {
      const run = env.GOTORCH_RUN_ID;
      if (run !== undefined) byRun.set(run, [...(byRun.get(run) ?? []), pid]);
    }
    return byRun;
  }

  startedAtMs(startTime: string): number {
    return Number(startTime) * 10;
  }
}
