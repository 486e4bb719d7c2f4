/**
 * The long-running process: load the task file, keep the pidfile, state file and control socket, run
 * the tick loop that feeds the planner's fires to the supervisor, reload without killing anything
 * (SPEC §5), and stop or quit cleanly (SPEC §4).
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Logger } from 'pino';
import { applicableTasks, type HostIdentity } from '../fleet/host-list.js';
import { describeIdentity, resolveIdentity } from '../fleet/identity.js';
import { systemClock, type Clock } from '../clock.js';
import { LATE_WAKE_LIMIT, Planner } from '../planner/planner.js';
import { adoptableJobs } from '../supervisor/adoption.js';
import { procTable } from '../supervisor/process-table.js';
import { jobSpawner } from '../supervisor/spawner.js';
import { finishBetweenTicks } from '../sliced.js';
import { Supervisor } from '../supervisor/supervisor.js';
import { formatError } from '../tasks/errors.js';
import { formatErrors, loadTaskFile, type LoadResult } from '../tasks/load.js';
import type { Task } from '../tasks/types.js';
import { logClockEvent } from './clock-events.js';
import { answerControl } from './control-answers.js';
import { ControlServer } from './control-server.js';
import { runtimeRefusal } from './file-safety.js';
import { createLoggers, type Loggers } from './logging.js';
import { Monitor } from './monitor.js';
import { claimPidfile, DAEMON_TITLE, releasePidfile } from './pidfile.js';
import type { RuntimePaths } from './paths.js';
import { firstStartSinceBoot } from './reboot.js';
import { readState, removedTaskStandIn, scheduleKey, StateFile, type SavedState } from './state.js';
import { taskReports, type ReloadResult, type StatusReport } from './status.js';
import { describeDiff, diffTasks, type TaskDiff } from './task-diff.js';
import { TickLateness } from './tick-lateness.js';
import { Ticker } from './ticker.js';
import { TaskFileWatcher } from './watcher.js';

export interface DaemonOptions {
  readonly tasksFile: string;
  readonly paths: RuntimePaths;
  /** `--host-id` / `GOTORCH_HOST`: overrides this host's identity (SPEC §1.2). */
  readonly hostId?: string;
  /** Also log to stdout (`start --foreground`). */
  readonly stdoutLogs: boolean;
}

/** How often this host's addresses and name are read again (fleet: identity refreshed every 30 s). */
export const IDENTITY_REFRESH_MS = 30_000;

function identityKey(identity: HostIdentity): string {
  return `${identity.names.join(',')}|${identity.addresses.map((address) => address.value.toString(16)).sort().join(',')}`;
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
  private readonly state: StateFile;
  private readonly watcher: TaskFileWatcher;
  private readonly monitor: Monitor;
  private readonly startedAt: number;
  private planner!: Planner;
  private control: ControlServer | undefined;
  private tasksInFile = 0;
  private applicable: readonly Task[] = [];
  private daemonTasks: readonly Task[] = [];
  private digest = '';
  private host = '';
  private loaded: LoadResult | undefined;
  private identityKey = '';
  private identityTimer: NodeJS.Timeout | undefined;
  private lastReload: ReloadResult | null = null;
  private reloading: Promise<unknown> = Promise.resolve();
  private ending: Promise<void> | undefined;
  private readonly tickLateness = new TickLateness();

  private constructor(
    private readonly options: DaemonOptions,
    private readonly loggers: Loggers,
  ) {
    this.clock = systemClock;
    this.startedAt = this.clock.now();
    this.log = loggers.log;
    // Every run id ends with this: a daemon started after a crash finds the jobs its state file missed.
    const instance = randomBytes(4).toString('hex');
    this.state = new StateFile(options.paths.state, instance);
    this.supervisor = new Supervisor({
      clock: this.clock,
      spawner: jobSpawner,
      log: loggers.log,
      runLog: loggers.runLog,
      baseEnv: baseEnvironment(),
      onRunsChanged: () => this.state.markDirty(),
      instance,
    });
    this.ticker = new Ticker(this.clock, (second, nowMs) => {
      this.tickLateness.record(nowMs - second * 1000);
      this.tick(second);
    });
    this.watcher = new TaskFileWatcher(() => void this.reload('file change'), this.log);
    this.monitor = new Monitor({
      log: this.log,
      facts: () => ({
        tasksLoaded: this.tasksInFile,
        tasksApplicable: this.applicable.length,
        runningJobs: this.supervisor.liveRuns().length,
        tickLateMaxMs: this.takeTickLateMax(),
      }),
    });
  }

  /** Validates, claims the pidfile and starts scheduling; or says why it cannot start. */
  static async start(options: DaemonOptions): Promise<Daemon | { exitCode: number; reason: string }> {
    const loaded = await loadTaskFile(options.tasksFile);
    if (loaded.errors.length > 0) {
      return { exitCode: 1, reason: `${options.tasksFile} rejected (${loaded.errors.length} error(s)), nothing started:\n${formatErrors(loaded.errors)}` };
    }
    // SPEC §12: as root, runtime folders only root can write; nowhere a symlink or FIFO in place of a log.
    const logFiles = ['gotorch.log', 'runs.log'].map((name) => path.join(options.paths.logDir, name));
    const refused = runtimeRefusal(
      [
        { dir: path.dirname(options.paths.pidfile), what: 'the pidfile folder' },
        { dir: options.paths.logDir, what: 'the log folder' },
      ],
      logFiles,
    );
    if (refused !== undefined) return { exitCode: 1, reason: refused };
    // The title marks this process as a gotorch daemon for the pidfile's liveness check: set it first.
    process.title = `${DAEMON_TITLE} -c ${options.tasksFile}`;
    const claim = claimPidfile(options.paths.pidfile, process.pid);
    if (!claim.ok) return { exitCode: 1, reason: `gotorch is already running (pid ${claim.livePid}, pidfile ${options.paths.pidfile})` };
    const daemon = new Daemon(options, createLoggers({ logDir: options.paths.logDir, stdout: options.stdoutLogs }));
    if (claim.replacedStale !== undefined) daemon.log.warn({ stalePid: claim.replacedStale, pidfile: options.paths.pidfile }, 'replaced a stale pidfile');
    try {
      await daemon.begin(loaded);
    } catch (error) {
      await daemon.stop('start-up failed');
      return { exitCode: 1, reason: `start-up failed: ${(error as Error).message}` };
    }
    return daemon;
  }

  private async begin(loaded: LoadResult): Promise<void> {
    const saved = readState(this.options.paths.state);
    const now = Math.floor(this.clock.now() / 1000);
    // A clean stop recorded the exact last second: a quick restart replays what it missed (SPEC §3).
    const resume = saved?.clean && now - saved.lastSecond >= 0 && now - saved.lastSecond <= LATE_WAKE_LIMIT ? saved.lastSecond : now;
    this.planner = new Planner([], resume);
    await this.apply(loaded);
    if (saved) this.adopt(saved);
    const controllable = { status: () => this.status(), reload: (trigger: string) => this.reload(trigger), tasks: () => this.applicable, supervisor: this.supervisor };
    this.control = await ControlServer.listen(this.options.paths.socket, (request) => answerControl(controllable, request), this.log);
    await this.watcher.update(loaded);
    // SPEC §6: the instance is on disk before the first job starts, so a crash at any moment leaves none unfound.
    await this.saveState(resume);
    const reboot = this.applicable.filter((task) => task.schedule.kind === 'reboot' && task.type === 'cron');
    if (reboot.length > 0 && firstStartSinceBoot(this.options.paths.bootId)) {
      for (const task of reboot) this.supervisor.fire(task, now);
    }
    // A second that began while starting up is planned now, not reported as a late wake by the first tick.
    const current = Math.floor(this.clock.now() / 1000);
    if (resume < now) this.replay(saved as SavedState, current);
    else if (current !== this.planner.lastSecond) this.tick(current);
    this.ticker.start();
    this.monitor.start();
    // SPEC §1.2 / fleet: addresses come and go (DHCP, failover); re-check them off the tick path.
    this.identityTimer = setInterval(() => void this.refreshIdentity(), IDENTITY_REFRESH_MS).unref();
    this.log.info(
      { pid: process.pid, file: this.options.tasksFile, tasks: this.tasksInFile, applicable: this.applicable.length, host: this.host, nodeFlags: process.execArgv },
      'gotorch ready',
    );
  }

  /** SPEC §6: jobs of a previous daemon that are still the same processes are tracked again. */
  private adopt(saved: SavedState): void {
    const byId = new Map(this.applicable.map((task) => [task.id, task]));
    const { surviving, unsaved, gone } = adoptableJobs(saved, procTable, byId);
    if (unsaved.length > 0) this.log.info({ jobs: unsaved.length }, 'found jobs the previous daemon started after its last state save');
    for (const job of [...surviving, ...unsaved]) {
      const task = byId.get(job.task);
      this.supervisor.adopt(task ?? removedTaskStandIn(job), job, task !== undefined);
    }
    if (gone > 0) this.log.info({ gone }, 'jobs of the previous daemon that ended meanwhile');
  }

  /**
   * Makes a loaded task list the schedule: planner and supervisor diff it by identity (SPEC §5). The
   * heavy steps yield to the event loop in between (no tick waits); the switch itself is one step.
   */
  private async apply(loaded: LoadResult): Promise<{ diff: TaskDiff; fromSecond: number }> {
    const identity = resolveIdentity(this.options.hostId);
    const applicable = applicableTasks(loaded.tasks, identity);
    this.identityKey = identityKey(identity);
    const diff = await finishBetweenTicks(diffTasks(this.applicable, applicable));
    const prepared = await finishBetweenTicks(Planner.prepare(applicable));
    this.host = describeIdentity(identity, this.options.hostId);
    this.tasksInFile = loaded.tasks.length;
    this.applicable = applicable;
    this.daemonTasks = prepared.daemons;
    this.digest = loaded.digest;
    this.loaded = loaded;
    this.planner.install(prepared);
    this.supervisor.setTasks(applicable);
    // SPEC §5: the first second planned under the new schedule, logged so a reload can be audited exactly.
    return { diff, fromSecond: this.planner.lastSecond + 1 };
  }

  /**
   * SPEC §3 after a clean stop: the seconds the daemon was down are planned now, but only for tasks
   * the stopped daemon would have run (same identity, same schedule): never a second before a task existed.
   */
  private replay(saved: SavedState, second: number): void {
    const schedules = saved.schedules ?? {};
    const fromSecond = this.planner.lastSecond + 1;
    const fires = this.tick(second, (task) => schedules[task.id] === scheduleKey(task));
    this.log.info({ fromSecond, toSecond: second, fires }, 'replayed the seconds missed since the previous daemon stopped cleanly');
  }

  /** Plans up to `second` and starts what is due; returns how many fired. */
  private tick(second: number, replayOnly?: (task: Task) => boolean): number {
    const { fires, events, openDaemons } = this.planner.advance(second, replayOnly);
    for (const event of events) logClockEvent(this.log, event);
    for (const fire of fires) this.supervisor.fire(fire.task, fire.second);
    for (const task of this.daemonTasks) this.supervisor.keepDaemons(task, openDaemons.has(task.id));
    void this.saveState(second);
    return fires.length;
  }

  /** SPEC §6: the running jobs on disk when they changed; a failed write is retried on a later tick. */
  private saveState(second: number): Promise<void> {
    return this.state.saveIfDirty(second, this.supervisor.liveRuns()).catch((error: unknown) => {
      this.state.markDirty();
      this.log.warn({ err: error }, 'could not write the state file; will retry');
    });
  }

  /** SPEC §5, one path for SIGUSR2, `gotorch reload` and file changes: all or nothing, never exits. */
  reload(trigger: string): Promise<ReloadResult> {
    const next = this.reloading.then(() => this.reloadNow(trigger));
    this.reloading = next.catch(() => undefined);
    return next;
  }

  private async reloadNow(trigger: string): Promise<ReloadResult> {
    const loaded = await loadTaskFile(this.options.tasksFile);
    const at = this.clock.now();
    if (loaded.errors.length > 0) {
      const errors = loaded.errors.map(formatError);
      this.log.error({ trigger, errors }, 'task file rejected: the previous schedule keeps running');
      return (this.lastReload = { ok: false, trigger, at, errors });
    }
    const sameContent = loaded.digest === this.digest;
    if (trigger === 'file change' && sameContent) return this.lastReload ?? { ok: true, trigger, at, summary: 'unchanged' };
    const previous = this.lastReload;
    const { diff, fromSecond } = await this.apply(loaded);
    let summary = describeDiff(diff);
    // The watcher usually applies an edit before `gotorch reload` asks: say what that reload did.
    if (sameContent && previous?.ok) summary += ` (already applied by ${previous.trigger} at ${new Date(previous.at).toISOString()}: ${previous.summary})`;
    await this.watcher.update(loaded);
    this.log.info({ trigger, summary, tasks: this.tasksInFile, applicable: this.applicable.length, fromSecond }, 'task file reloaded');
    return (this.lastReload = { ok: true, trigger, at, summary });
  }

  /** A changed identity re-evaluates the hosts columns exactly like a reload of the same file. */
  private refreshIdentity(): Promise<unknown> {
    const next = this.reloading.then(async () => {
      if (!this.loaded || identityKey(resolveIdentity(this.options.hostId)) === this.identityKey) return;
      const { diff, fromSecond } = await this.apply(this.loaded);
      const summary = describeDiff(diff);
      this.log.info({ host: this.host, summary, fromSecond }, 'host identity changed: tasks re-evaluated');
      this.lastReload = { ok: true, trigger: 'host identity change', at: this.clock.now(), summary };
    });
    this.reloading = next.catch((error: unknown) => this.log.error({ err: error }, 'host identity refresh failed'));
    return this.reloading;
  }

  /** The latest a tick woke after its second began since the last call (ms): for the monitor and benchmarks. */
  takeTickLateMax(): number {
    return this.tickLateness.takeMax();
  }

  /** The last reload's result, cheaply (status() computes every task's next run). */
  get lastReloadResult(): ReloadResult | null {
    return this.lastReload;
  }

  status(): StatusReport {
    const now = this.clock.now();
    return {
      pid: process.pid,
      startedAt: this.startedAt,
      uptimeMs: now - this.startedAt,
      file: this.options.tasksFile,
      host: this.host,
      tasksInFile: this.tasksInFile,
      lastReload: this.lastReload,
      ticks: this.tickLateness.summary(),
      tasks: taskReports(this.applicable, this.supervisor.snapshot(), Math.floor(now / 1000)),
    };
  }

  /** SPEC §4 stop: stop scheduling, TERM every job's process group, KILL after grace, remove the pidfile. */
  stop(reason: string): Promise<void> {
    return this.end(reason, () => this.supervisor.stopAll(), 'stopping: terminating every job');
  }

  /** SPEC §4 quit: stop scheduling and daemon-type tasks, let running cron jobs finish, then exit. */
  quit(reason: string): Promise<void> {
    return this.end(reason, () => this.supervisor.drain(), 'quitting: waiting for running jobs to finish');
  }

  reopenLogs(): void {
    this.loggers.reopen();
    this.log.info('log files reopened');
  }

  private end(reason: string, jobs: () => Promise<void>, message: string): Promise<void> {
    this.ending ??= (async () => {
      this.log.info({ reason }, message);
      this.ticker.stop();
      this.monitor.stop();
      clearInterval(this.identityTimer);
      await this.watcher.close();
      await jobs();
      await this.control?.close();
      await this.state.saveClean(this.planner?.lastSecond ?? 0, this.applicable).catch(() => undefined);
      releasePidfile(this.options.paths.pidfile, process.pid);
      this.log.info('stopped');
      this.loggers.close();
    })();
    return this.ending;
  }
}
