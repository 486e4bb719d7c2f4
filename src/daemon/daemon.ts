/**
 * The long-running process: load the task file, keep the pidfile, run the tick loop that feeds the
 * planner's fires to the supervisor, and stop cleanly on SIGTERM/SIGINT (SPEC §4 `start -f`, `stop`).
 */
import path from 'node:path';
import type { Logger } from 'pino';
import { HostList, type HostIdentity } from '../fleet/host-list.js';
import { describeIdentity, resolveIdentity } from '../fleet/identity.js';
import { systemClock, type Clock } from '../planner/clock.js';
import { Planner } from '../planner/planner.js';
import { LOCAL_ZONE } from '../schedule/zone.js';
import { execaSpawner } from '../supervisor/spawner.js';
import { Supervisor } from '../supervisor/supervisor.js';
import { formatError } from '../tasks/errors.js';
import { loadTasks } from '../tasks/load.js';
import type { Task } from '../tasks/types.js';
import { logClockEvent } from './clock-events.js';
import { createLoggers, type Loggers } from './logging.js';
import { claimPidfile, releasePidfile } from './pidfile.js';
import type { RuntimePaths } from './paths.js';
import { firstStartSinceBoot } from './reboot.js';
import { Ticker } from './ticker.js';

export interface DaemonOptions {
  readonly tasksFile: string;
  readonly paths: RuntimePaths;
  /** `--host-id` / `GOTORCH_HOST`: overrides this host's identity (SPEC §1.2). */
  readonly hostId?: string;
  readonly foreground: boolean;
  readonly clock?: Clock;
}

export function applicableTasks(tasks: readonly Task[], identity: HostIdentity): Task[] {
  return tasks.filter((task) => new HostList(task.hosts).appliesTo(identity));
}

/** The environment jobs inherit: the daemon's own, without gotorch's control variables. */
function baseEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('GOTORCH_')) env[key] = value;
  }
  return env;
}

export class Daemon {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly supervisor: Supervisor;
  private readonly ticker: Ticker;
  private planner!: Planner;
  private daemonTasks: readonly Task[] = [];
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly options: DaemonOptions,
    private readonly loggers: Loggers,
  ) {
    this.clock = options.clock ?? systemClock;
    this.log = loggers.log;
    this.supervisor = new Supervisor({ clock: this.clock, spawner: execaSpawner, log: loggers.log, runLog: loggers.runLog, baseEnv: baseEnvironment() });
    this.ticker = new Ticker(this.clock, (second) => this.tick(second));
  }

  /** Validates, claims the pidfile and starts scheduling; returns the exit code when it cannot start. */
  static async start(options: DaemonOptions): Promise<Daemon | { exitCode: number; reason: string }> {
    const loaded = await loadTasks(options.tasksFile, { asRoot: process.getuid?.() === 0, zone: LOCAL_ZONE });
    if (loaded.errors.length > 0) return { exitCode: 1, reason: loaded.errors.map(formatError).join('\n') };
    const claim = claimPidfile(options.paths.pidfile, process.pid);
    if (!claim.ok) return { exitCode: 1, reason: `gotorch is already running (pid ${claim.livePid}, pidfile ${options.paths.pidfile})` };
    process.title = `gotorch: daemon -c ${options.tasksFile}`;
    const daemon = new Daemon(options, createLoggers({ logDir: options.paths.logDir, stdout: options.foreground }));
    if (claim.replacedStale !== undefined) daemon.log.warn({ stalePid: claim.replacedStale, pidfile: options.paths.pidfile }, 'replaced a stale pidfile');
    daemon.begin(loaded.tasks);
    return daemon;
  }

  private begin(tasks: readonly Task[]): void {
    const identity = resolveIdentity(this.options.hostId);
    const applicable = applicableTasks(tasks, identity);
    this.daemonTasks = applicable.filter((task) => task.type === 'daemon');
    this.supervisor.setTasks(applicable);
    this.planner = new Planner(applicable, Math.floor(this.clock.now() / 1000));
    const reboot = applicable.filter((task) => task.schedule.kind === 'reboot' && task.type === 'cron');
    if (reboot.length > 0 && firstStartSinceBoot(path.join(path.dirname(this.options.paths.pidfile), 'gotorch.boot-id'))) {
      for (const task of reboot) this.supervisor.fire(task, this.planner.lastSecond);
    }
    this.ticker.start();
    this.log.info(
      { pid: process.pid, file: this.options.tasksFile, tasks: tasks.length, applicable: applicable.length, host: describeIdentity(identity, this.options.hostId) },
      'gotorch ready',
    );
  }

  private tick(second: number): void {
    const { fires, events, openDaemons } = this.planner.advance(second);
    for (const event of events) logClockEvent(this.log, event);
    for (const fire of fires) this.supervisor.fire(fire.task, fire.second);
    for (const task of this.daemonTasks) this.supervisor.keepDaemons(task, openDaemons.has(task.id));
  }

  /** SPEC §4 stop: stop scheduling, TERM every job's process group, KILL after grace, remove the pidfile. */
  stop(reason: string): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info({ reason }, 'stopping: terminating every job');
      this.ticker.stop();
      await this.supervisor.stopAll();
      releasePidfile(this.options.paths.pidfile, process.pid);
      this.log.info('stopped');
      this.loggers.close();
    })();
    return this.stopping;
  }
}
