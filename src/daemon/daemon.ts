/**
 * The long-running process, as an outline: load the task file, keep the pidfile, state file and control
 * socket, run the tick loop that feeds the planner's fires to the supervisor, reload without killing
 * anything (SPEC §5, reloads.ts), and stop or quit cleanly (SPEC §4).
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../clock.js';
import type { RunEvents } from '../events.js';
import type { Fleet } from '../fleet/etcd/fleet.js';
import type { FleetOptions } from '../fleet/etcd/fleet-options.js';
import { hostAddresses, hostName } from '../fleet/identity.js';
import type { FleetLink } from '../fleet/singleton/fleet-link.js';
import { FireGate } from '../fleet/singleton/gate.js';
import { Leadership } from '../fleet/singleton/leadership.js';
import { singletonWarnings } from '../fleet/singleton/without-fleet.js';
import type { ListenAddress, MetricsServer } from '../metrics/serve.js';
import { Planner, type PreparedSchedule } from '../planner/planner.js';
import { inheritedEnvironment } from '../supervisor/run.js';
import { chooseSpawner, type ChosenSpawner } from '../supervisor/choose-spawner.js';
import { loadAddonFile } from '../supervisor/native-addon.js';
import { finishBetweenTicks } from '../sliced.js';
import { Supervisor } from '../supervisor/supervisor.js';
import type { LoadResult } from '../tasks/load.js';
import { formatError } from '../tasks/errors.js';
import type { Task } from '../tasks/types.js';
import { logClockEvent } from './clock-events.js';
import { answerControl } from './control-answers.js';
import { ControlServer, type ControlRequest, type ControlResponse, type NextDaemonOptions } from './control-server.js';
import { loadedEngines } from './loaded-engines.js';
import { createLoggers, type Loggers } from './logging.js';
import { Monitor } from './monitor.js';
import { releasePidfile } from './pidfile.js';
import type { RuntimePaths } from './paths.js';
import { firstStartSinceBoot } from './reboot.js';
import { loadForHost, logWarnings, matchHost, NOTHING_APPLIED, Reloads, type AppliedSchedule } from './reloads.js';
import { prepareStart } from './start-checks.js';
import { adoptHeld, adoptPrevious, replayFilter, resumeSecond } from './previous-daemon.js';
import { KeeperLink } from '../supervisor/keeper-link.js';
import { procTable } from '../supervisor/process-table.js';
import { GOTORCH_VERSION } from '../version.js';
import { request as controlRequest } from '../cli/control-client.js';
import { formatErrors } from '../tasks/load.js';
import { claimPidfile, liveSibling } from './pidfile.js';
import { nextDaemonArgv, TAKE_OVER_TIMEOUT_MS, takeOverRuns, type HandoverState } from './handover.js';
import { readState, StateFile, type SavedState } from './state.js';
import { taskReports, type ReloadResult, type StatusReport } from './status.js';
import { subscribe, type Subscribers } from './subscribers.js';
import type { TaskResults } from './task-results.js';
import { diffTasks, type TaskDiff } from './task-diff.js';
import { TickLateness } from './tick-lateness.js';
import { Ticker } from './ticker.js';
import { nativeWakeTimer } from './wake-timer.js';
import { TaskFileWatcher } from './watcher.js';

export interface DaemonOptions {
  readonly tasksFile: string;
  readonly paths: RuntimePaths;
  /** `--host-id` / `GOTORCH_HOST`: overrides this host's identity (SPEC §1.2). */
  readonly hostId?: string;
  /** Also log to stdout (`start --foreground`). */
  readonly stdoutLogs: boolean;
  /** `start --metrics`: serve /metrics and /healthz there (SPEC §9). */
  readonly metrics?: ListenAddress;
  /** `start --etcd`: join the fleet (SPEC §10). */
  readonly fleet?: FleetOptions;
  /** Issue 17, under the job keeper: its held fds (GOTORCH_KEEPER_FDS) → this process's copies. */
  readonly keeperFds?: ReadonlyMap<number, number>;
  /** Issue 17 (`start --take-over`, given by a handover): take over from the daemon that holds the pidfile under the same keeper, if one does. */
  readonly takeOver?: boolean;
}

export class Daemon {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly supervisor: Supervisor;
  /** SPEC §10: the planner's fires pass it (singleton ones are claimed in etcd first); daemon singletons ask `leadership`. */
  private readonly gate: FireGate;
  private readonly leadership: Leadership;
  /**
   * SPEC §10 (issue 14): the fleet connection as singleton tasks see it (fleet/singleton/etcd-link.ts
   * singletonLink). Undefined without --etcd: singleton tasks then never run. Set by the --etcd wiring.
   */
  /** Singleton claims and leadership over the fleet's connection (SPEC §10); undefined without --etcd. */
  private fleetLink: (FleetLink & { close(): void }) | undefined;
  private readonly ticker: Ticker;
  /** What wakes the ticker: the addon's timerfd, or Node's timers without the addon. */
  private readonly wake: 'timerfd' | 'node timers';
  private readonly state: StateFile;
  private readonly watcher: TaskFileWatcher;
  private readonly monitor: Monitor;
  private readonly startedAt: number;
  private readonly reloads: Reloads;
  private readonly subscribers: Subscribers;
  private readonly events: RunEvents;
  private readonly results: TaskResults;
  private planner!: Planner;
  private control: ControlServer | undefined;
  private metrics: MetricsServer | undefined;
  private fleet: Fleet | undefined;
  /** SPEC §5: swapped in one assignment by apply(). */
  private schedule: AppliedSchedule = NOTHING_APPLIED;
  private ending: Promise<void> | undefined;
  private readonly tickLateness = new TickLateness();
  /** The schedule apply() prepared last: a daemon taking over plans it from the second the old one reached. */
  private prepared: PreparedSchedule | undefined;
  /** Issue 17, this daemon handing over: the next daemon, and the answer its `restart`/`upgrade` waits for. */
  private handing: { next: number; gave: boolean; answer: (response: ControlResponse) => void; watch: NodeJS.Timeout } | undefined;
  /** Resolves once this daemon has handed over and may exit. */
  readonly handedOver: Promise<void>;
  private handedOverNow: () => void = () => undefined;

  private constructor(
    private readonly options: DaemonOptions,
    private readonly loggers: Loggers,
    private readonly spawner: ChosenSpawner,
    /** Issue 17: the job keeper this daemon runs under, if any. */
    private readonly keeper: KeeperLink | undefined,
  ) {
    this.clock = systemClock;
    this.startedAt = this.clock.now();
    this.handedOver = new Promise((resolve) => (this.handedOverNow = resolve));
    this.log = loggers.log;
    keeper?.onLost(() => {
      // In the foreground the keeper is the process systemd, a container or a terminal watches: it is gone, so
      // whoever watched it starts gotorch again (or meant to end it). This daemon detaches as for SIGUSR1,
      // leaving the jobs for the next start to adopt, instead of holding the pidfile against that start.
      if (options.stdoutLogs) {
        this.log.error({ keeper: keeper.pid }, 'the job keeper, the foreground process, is gone: detaching, the jobs are left running for the next start to adopt');
        process.kill(process.pid, 'SIGUSR1');
        return;
      }
      // Daemonized nobody watches the keeper: this daemon and its jobs run on without it.
      this.log.error({ keeper: keeper.pid }, 'the job keeper is gone: the jobs run on, but a crash now loses the output they write after it, and `gotorch restart` stops and starts (ending them) under a new keeper');
    });
    // Every run id ends with this: a daemon started after a crash finds the jobs its state file missed.
    const instance = randomBytes(4).toString('hex');
    this.state = new StateFile(options.paths.state, instance);
    const baseEnv = inheritedEnvironment(process.env);
    this.subscribers = subscribe(loggers, this.clock, { host: hostName(options.hostId), digest: () => this.schedule.loaded.digest, baseEnv });
    const { events, results } = this.subscribers;
    this.events = events;
    this.results = results;
    // The addon's timerfd wakes the ticker just before the boundary (wake-timer.ts), else Node's timers do.
    const addon = loadAddonFile();
    this.wake = 'addon' in addon ? 'timerfd' : 'node timers';
    const wakeTimer = 'addon' in addon ? nativeWakeTimer(addon.addon) : undefined;
    this.supervisor = new Supervisor({
      clock: this.clock,
      spawner: spawner.spawner,
      log: loggers.log,
      events: this.events,
      baseEnv,
      onRunsChanged: () => this.state.markDirty(),
      instance,
      holdUntil: wakeTimer?.holdUntil,
      keeper,
    });
    const fleet = { link: () => this.fleetLink, clock: this.clock, log: this.log };
    const supervisor = this.supervisor;
    this.gate = new FireGate({ ...fleet, events: this.events, fire: (task, second, trigger, runId, jitterS) => supervisor.fire(task, second, trigger, { runId, jitterS }), runId: (second) => supervisor.newRunId(second) });
    this.leadership = new Leadership({ ...fleet, instance, changed: (task, mayRun) => supervisor.keepDaemons(task, mayRun) });
    this.ticker = new Ticker(
      this.clock,
      (second, nowMs) => {
        // A second handed over before it began (wake-timer.ts) was not late.
        this.tickLateness.record(Math.max(0, nowMs - second * 1000));
        this.tick(second);
      },
      wakeTimer,
    );
    this.watcher = new TaskFileWatcher(() => void this.reload('file change'), this.log);
    this.reloads = new Reloads({
      log: this.log,
      now: () => this.clock.now(),
      hostId: options.hostId,
      load: () => loadForHost(options.tasksFile, options.hostId),
      events: this.events,
      current: () => this.schedule,
      apply: (loaded) => this.apply(loaded),
      applied: (loaded) => this.watcher.update(loaded),
    });
    this.monitor = new Monitor({
      log: this.log,
      facts: () => ({
        tasksLoaded: this.schedule.loaded.tasks.length,
        tasksApplicable: this.schedule.applicable.length,
        runningJobs: this.supervisor.liveRuns().length,
        tickLateMaxMs: this.takeTickLateMax(),
      }),
    });
  }

  /** Validates, claims the pidfile and starts scheduling; or says why it cannot start. */
  static async start(options: DaemonOptions): Promise<Daemon | { exitCode: number; reason: string }> {
    const spawner = await chooseSpawner();
    if ('error' in spawner) return { exitCode: 1, reason: spawner.error };
    // A handover's next daemon takes over only from a live daemon of the same keeper; else it starts as any.
    const takeOver = options.takeOver === true && liveSibling(options.paths) !== undefined;
    const prepared = await prepareStart(options.tasksFile, options.paths, options.hostId, takeOver);
    if ('reason' in prepared) return prepared;
    let keeper: KeeperLink | undefined;
    try {
      keeper = await KeeperLink.fromEnvironment();
    } catch (error) {
      return { exitCode: 1, reason: `cannot reach the job keeper at ${process.env.GOTORCH_KEEPER_SOCKET} (${(error as Error).message})` };
    }
    const daemon = new Daemon({ ...options, takeOver }, createLoggers({ logDir: options.paths.logDir, stdout: options.stdoutLogs }), spawner, keeper);
    if (spawner.fallbackReason !== undefined) daemon.log.warn({ reason: spawner.fallbackReason }, 'native spawner not used: jobs start through child_process');
    logWarnings(daemon.log, 'start', prepared.loaded);
    if (prepared.replacedStale !== undefined) daemon.log.warn({ stalePid: prepared.replacedStale, pidfile: options.paths.pidfile }, 'replaced a stale pidfile');
    try {
      await daemon.begin(prepared.loaded);
    } catch (error) {
      await daemon.abandon((error as Error).message);
      return { exitCode: 1, reason: `start-up failed: ${(error as Error).message}` };
    }
    return daemon;
  }

  private async begin(loaded: LoadResult): Promise<void> {
    if (this.options.takeOver === true && this.keeper !== undefined) return this.beginTakingOver(loaded, this.keeper);
    // First, so a port in use fails the start before any job runs; prom-client loads only here (STYLE: optional engines).
    if (this.options.metrics) this.metrics = await this.serveMetrics(this.options.metrics);
    const saved = readState(this.options.paths.state);
    const now = Math.floor(this.clock.now() / 1000);
    const resume = resumeSecond(saved, now);
    this.planner = new Planner([], resume);
    await this.apply(loaded);
    const controllable = this.controllable();
    // Before any job is adopted or started: an unreadable TLS file fails the start; an etcd that does not answer does not (SPEC §10).
    if (this.options.fleet) {
      this.fleet = await this.joinFleet(this.options.fleet, (request) => answerControl(controllable, request));
      this.fleetLink = await this.linkSingletons(this.fleet);
    }
    const taken = this.keeper ? await adoptHeld(this.keeper, this.options.keeperFds ?? new Map(), this.schedule.applicable, this.supervisor, this.log, saved) : new Set<string>();
    if (saved) adoptPrevious(saved, this.schedule.applicable, this.supervisor, this.log, taken);
    this.control = await ControlServer.listen(this.options.paths.socket, (request) => answerControl(controllable, request), this.log);
    await this.watcher.update(loaded);
    // SPEC §6: the instance is on disk before the first job starts, so a crash at any moment leaves none unfound.
    await this.saveState(resume);
    const reboot = this.schedule.applicable.filter((task) => task.schedule.kind === 'reboot' && task.type === 'cron');
    if (reboot.length > 0 && firstStartSinceBoot(this.options.paths.bootId)) {
      for (const task of reboot) this.supervisor.fire(task, now);
    }
    // A second that began while starting up is planned now, not reported as a late wake by the first tick.
    const current = Math.floor(this.clock.now() / 1000);
    if (saved !== undefined && resume < now) this.replay(saved, current);
    else if (current !== this.planner.lastSecond) this.tick(current);
    this.ticker.start();
    this.monitor.start();
    this.reloads.watchIdentity();
    const { loaded: file, applicable, host } = this.schedule;
    this.log.info({ pid: process.pid, file: this.options.tasksFile, tasks: file.tasks.length, applicable: applicable.length, host, metrics: this.metrics?.address, nodeFlags: process.execArgv, spawner: this.spawner.name, wake: this.wake, keeper: this.keeper?.pid ?? null, version: GOTORCH_VERSION }, 'gotorch ready');
    void this.keeper?.ready();
  }

  /**
   * Issue 17, the next daemon of a handover (handover.ts): the file is loaded and its schedule prepared
   * while the old daemon still runs; then it takes over the old one's runs and task states, plans from the
   * second the old one reached, and only once the old one let go claims the pidfile and the sockets.
   */
  private async beginTakingOver(loaded: LoadResult, keeper: KeeperLink): Promise<void> {
    this.planner = new Planner([], Math.floor(this.clock.now() / 1000));
    await this.apply(loaded);
    const { socket, pidfile } = this.options.paths;
    // A restart to a new metrics address binds it first, so a port in use fails before anything is taken over; the same address is the old daemon's until it lets go.
    if (this.options.metrics) this.metrics = await this.serveMetrics(this.options.metrics).catch((error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' ? undefined : Promise.reject(error)));
    const given = await controlRequest(socket, { cmd: 'take-over', pid: process.pid });
    if (!given.ok) throw new Error(`the running daemon did not hand over: ${given.error}`);
    const state = given.state as HandoverState;
    this.planner = new Planner([], state.lastSecond);
    if (this.prepared !== undefined) this.planner.install(this.prepared);
    const jobs = await takeOverRuns(keeper, this.options.keeperFds ?? new Map(), state, this.schedule.applicable, this.supervisor, this.log);
    // No second goes unplanned while the rest is taken over; a fleet member plans once its singletons' gate is linked.
    if (!this.options.fleet) await this.planFrom(state.lastSecond);
    const released = await controlRequest(socket, { cmd: 'taken', pid: process.pid });
    if (!released.ok) throw new Error(`the previous daemon did not let go: ${released.error}`);
    const claim = claimPidfile(pidfile, process.pid);
    if (!claim.ok) throw new Error(`the pidfile ${pidfile} is held by pid ${claim.livePid}`);
    if (this.options.metrics && this.metrics === undefined) this.metrics = await this.serveMetrics(this.options.metrics);
    const controllable = this.controllable();
    if (this.options.fleet) {
      this.fleet = await this.joinFleet(this.options.fleet, (request) => answerControl(controllable, request));
      this.fleetLink = await this.linkSingletons(this.fleet);
      await this.planFrom(state.lastSecond);
    }
    this.control = await ControlServer.listen(socket, (request) => answerControl(controllable, request), this.log);
    await this.watcher.update(loaded);
    this.monitor.start();
    this.reloads.watchIdentity();
    const { loaded: file, applicable, host } = this.schedule;
    this.log.info({ pid: process.pid, file: this.options.tasksFile, tasks: file.tasks.length, applicable: applicable.length, host, metrics: this.metrics?.address, nodeFlags: process.execArgv, spawner: this.spawner.name, wake: this.wake, keeper: keeper.pid, version: GOTORCH_VERSION, handover: { from: state.from, jobs, fromSecond: state.lastSecond + 1 } }, 'gotorch ready');
    void keeper.ready();
  }

  /** SPEC §9 /metrics and /healthz; prom-client loads only here (STYLE: optional engines). */
  private async serveMetrics(address: ListenAddress): Promise<MetricsServer> {
    const fleetUp = this.options.fleet ? () => this.fleet?.connection.isUp() ?? false : undefined;
    const view = { schedule: () => this.schedule, results: this.results, clock: this.clock, ticks: this.tickLateness, log: this.log, fleetUp };
    return (await import('../metrics/serve.js')).serveMetrics(address, view, this.events);
  }

  /** A handover's next daemon: the runs on disk as its own, then every second after the old daemon's last one planned. */
  private async planFrom(lastSecond: number): Promise<void> {
    this.state.markDirty();
    await this.saveState(lastSecond);
    const current = Math.floor(this.clock.now() / 1000);
    if (current > this.planner.lastSecond) this.tick(current);
    this.ticker.start();
  }

  /** What the control socket (and the fleet's commands) may ask of this daemon. */
  private controllable(): Parameters<typeof answerControl>[0] {
    return {
      status: () => this.status(),
      reload: (trigger: string) => this.reload(trigger),
      tasks: () => this.schedule.applicable,
      supervisor: this.supervisor,
      handover: (options) => this.handover(options),
      giveOver: (pid) => this.giveOver(pid),
      letGo: (pid) => this.letGo(pid),
    };
  }

  /**
   * Issue 17, `restart`/`upgrade` under the keeper: the next daemon is started; this one runs on until
   * that one takes over (answered then with its pid), or says why it did not (it exited, or took too long).
   */
  private async handover(options?: NextDaemonOptions): Promise<ControlResponse> {
    const keeper = this.keeper;
    if (keeper === undefined) return { ok: false, error: 'this daemon does not run under the job keeper (it was started with GOTORCH_KEEPER=off, or the keeper is not built): a handover would end its jobs' };
    if (!keeper.alive) return { ok: false, error: `the job keeper (pid ${keeper.pid}) is gone: a handover would end the jobs; \`gotorch restart\` stops and starts instead` };
    if (this.ending !== undefined) return { ok: false, error: 'the daemon is stopping' };
    if (this.handing !== undefined) return { ok: false, error: `a handover to pid ${this.handing.next} is under way` };
    const tasksFile = options?.tasks ?? this.options.tasksFile;
    const loaded = await loadForHost(tasksFile, options === undefined ? this.options.hostId : (options.hostId ?? undefined));
    if (loaded.errors.length > 0) return { ok: false, error: `${tasksFile} rejected, the running daemon was left alone:\n${formatErrors(loaded.errors)}` };
    const started = await keeper.start(nextDaemonArgv(this.options.paths, options));
    if ('error' in started) return { ok: false, error: `the keeper could not start the next daemon: ${started.error}` };
    this.log.info({ next: started.pid, ...(options === undefined ? {} : { options }) }, 'handover: the next daemon started; this one runs until it takes over');
    return new Promise<ControlResponse>((answer) => {
      const startedAt = this.clock.now();
      const watch = setInterval(() => {
        const handing = this.handing;
        if (handing === undefined) return;
        const gone = procTable.stat(handing.next) === undefined;
        if (!gone && this.clock.now() - startedAt < TAKE_OVER_TIMEOUT_MS) return;
        clearInterval(handing.watch);
        this.handing = undefined;
        if (handing.gave) {
          // It died holding what this daemon gave it: exit as a crash, so the keeper starts a daemon that takes the jobs over.
          this.log.error({ next: handing.next }, 'handover: the next daemon ended after it was given the jobs; exiting so the keeper starts one again');
          answer({ ok: false, error: `the next daemon (pid ${handing.next}) ended during the handover; the keeper starts a daemon again, which takes the jobs over` });
          setTimeout(() => process.exit(1), 100);
          return;
        }
        if (!gone) process.kill(handing.next, 'SIGTERM');
        const why = gone ? 'exited before it took over' : `did not take over within ${TAKE_OVER_TIMEOUT_MS / 1000} s`;
        this.log.error({ next: handing.next }, `handover failed: the next daemon ${why}; this daemon runs on`);
        answer({ ok: false, error: `the next daemon (pid ${handing.next}) ${why}; the running daemon was left alone (its reason is in ${this.options.paths.logDir}/gotorch.log or gotorch.stderr)` });
      }, 100);
      this.handing = { next: started.pid, gave: false, answer, watch };
    });
  }

  /** Issue 17: the next daemon asks: this one stops planning and reading, and gives it every run and task state. */
  private async giveOver(pid: number): Promise<ControlResponse> {
    const handing = this.handing;
    if (handing === undefined || handing.next !== pid) return { ok: false, error: `no handover to pid ${pid} is under way` };
    handing.gave = true;
    this.monitor.stop();
    this.reloads.stop();
    await this.watcher.close();
    // Handed over just after a second was planned, the next daemon has the most of a second to plan the next one.
    await this.ticker.stopAfterNextSecond();
    if (this.ending !== undefined) return { ok: false, error: 'the daemon is stopping' };
    const { runs, tasks } = this.supervisor.handOver();
    await Promise.all([this.subscribers.flush(), this.state.written()]);
    this.log.info({ next: pid, runs: runs.length, lastSecond: this.planner.lastSecond }, 'handover: runs and task states given to the next daemon');
    return { ok: true, state: { from: process.pid, lastSecond: this.planner.lastSecond, runs, tasks } satisfies HandoverState };
  }

  /** Issue 17: the next daemon took everything over: this one gives up the pidfile and sockets and exits. */
  private async letGo(pid: number): Promise<ControlResponse> {
    const handing = this.handing;
    if (handing === undefined || handing.next !== pid || !handing.gave) return { ok: false, error: `no handover to pid ${pid} is under way` };
    clearInterval(handing.watch);
    this.handing = undefined;
    this.ending = this.handedOver;
    void this.control?.close();
    await this.metrics?.close();
    this.fleetLink?.close();
    await this.fleet?.close();
    releasePidfile(this.options.paths.pidfile, process.pid);
    await this.keeper?.bye();
    this.keeper?.close();
    this.log.info({ next: pid }, 'handed over: exiting, the jobs run on under the next daemon');
    handing.answer({ ok: true, pid, previous: process.pid });
    setImmediate(() => {
      this.loggers.close();
      this.handedOverNow();
    });
    return { ok: true };
  }

  /** The singleton gate and leadership's view of the connection (src/fleet/singleton/etcd-link.ts). */
  private async linkSingletons({ connection }: Fleet): Promise<FleetLink & { close(): void }> {
    const { singletonLink } = await import('../fleet/singleton/etcd-link.js');
    return singletonLink(
      {
        hostName: connection.hostName,
        client: connection.client,
        ttlMs: connection.ttlMs,
        key: (...parts) => connection.key(...parts),
        hostLease: () => connection.lease,
        lastKeepAliveAt: () => connection.lastKeepAliveAt() ?? null,
        isUp: () => connection.isUp(),
      },
      this.clock,
    );
  }

  /** SPEC §10: etcd3 loads only here (STYLE: optional engines load lazily). */
  private async joinFleet(options: FleetOptions, control: (request: ControlRequest) => ReturnType<typeof answerControl>): Promise<Fleet> {
    const { joinFleet } = await import('../fleet/etcd/fleet.js');
    return joinFleet(options, {
      host: hostName(this.options.hostId),
      addresses: hostAddresses(this.options.hostId),
      taskFile: this.options.tasksFile,
      startedAt: this.startedAt,
      now: () => this.clock.now(),
      schedule: () => this.schedule,
      lastReload: () => this.reloads.last,
      supervisor: this.supervisor,
      results: this.results,
      // As the local kill: a task that applies here, or one removed from the file whose jobs still run here.
      runs: (cmd, name) => this.schedule.applicable.some((task) => task.id === name) || (cmd === 'kill' && this.supervisor.snapshot().some((status) => status.id === name && status.running.length > 0)),
      control,
      clock: this.clock,
      log: this.log,
      events: this.events,
    });
  }

  /**
   * Makes a loaded task list the schedule: planner and supervisor diff it by identity (SPEC §5). The
   * heavy steps yield to the event loop in between (no tick waits); the switch itself is one step.
   */
  private async apply(loaded: LoadResult): Promise<{ diff: TaskDiff; fromSecond: number }> {
    const matched = matchHost(loaded, this.options.hostId);
    const diff = await finishBetweenTicks(diffTasks(this.schedule.applicable, matched.applicable));
    const prepared = await finishBetweenTicks(Planner.prepare(matched.applicable, matched.jitterOf));
    this.prepared = prepared;
    this.schedule = Object.freeze({ ...matched, daemonTasks: prepared.daemons });
    this.planner.install(prepared);
    this.supervisor.setTasks(matched.applicable);
    this.leadership.setTasks(matched.applicable);
    const alone = this.options.fleet === undefined ? singletonWarnings(matched.applicable) : [];
    if (alone.length > 0) this.log.warn({ tasks: alone.map(formatError) }, 'singleton tasks without a fleet: they never run');
    // SPEC §5: the first second planned under the new schedule, logged so a reload can be audited exactly.
    return { diff, fromSecond: this.planner.lastSecond + 1 };
  }

  /**
   * SPEC §3 after a clean stop: the seconds the daemon was down are planned now, but only for tasks
   * the stopped daemon would have run (same identity, same schedule): never a second before a task existed.
   */
  private replay(saved: SavedState, second: number): void {
    const fromSecond = this.planner.lastSecond + 1;
    const fires = this.tick(second, replayFilter(saved, this.schedule.jitterOf));
    this.log.info({ fromSecond, toSecond: second, fires }, 'replayed the seconds missed since the previous daemon stopped cleanly');
  }

  /** Plans up to `second` and starts what is due; returns how many fired. */
  private tick(second: number, replayOnly?: (task: Task) => boolean): number {
    const { fires, events, openDaemons } = this.planner.advance(second, replayOnly);
    for (const event of events) logClockEvent(this.log, event);
    // A second planned after it passed (a late wake, a replay, a clock jump) is a catch-up.
    for (const fire of fires) this.gate.fire(fire.task, fire.second, fire.second < second ? 'catch-up' : 'schedule', this.schedule.jitterOf(fire.task));
    for (const task of this.schedule.daemonTasks) {
      const open = openDaemons.has(task.id);
      if (!task.options.singleton) {
        this.supervisor.keepDaemons(task, open, second);
        continue;
      }
      const mayRun = this.leadership.mayRun(task, open);
      // Until the first campaign answers, instances adopted after a crash or a detach are left alone.
      if (mayRun || !open || !this.leadership.pending(task)) this.supervisor.keepDaemons(task, mayRun, second);
    }
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
    return this.reloads.reload(trigger);
  }

  /** The latest a tick woke after its second began since the last call (ms): for the monitor and benchmarks. */
  takeTickLateMax(): number {
    return this.tickLateness.takeMax();
  }

  /** The last reload's result, cheaply (status() computes every task's next run). */
  get lastReloadResult(): ReloadResult | null {
    return this.reloads.last;
  }

  status(): StatusReport {
    const now = this.clock.now();
    return {
      pid: process.pid,
      startedAt: this.startedAt,
      uptimeMs: now - this.startedAt,
      file: this.options.tasksFile,
      metrics: this.metrics?.address ?? null,
      host: this.schedule.host,
      hostId: this.options.hostId ?? null,
      tasksInFile: this.schedule.loaded.tasks.length,
      lastReload: this.reloads.last,
      ticks: this.tickLateness.summary(),
      fleet: this.fleet?.status() ?? null,
      loadedEngines: loadedEngines(),
      spawner: this.spawner.name,
      version: GOTORCH_VERSION,
      keeper: this.keeper === undefined || !this.keeper.alive ? null : { pid: this.keeper.pid, socket: this.keeper.socketPath },
      tasks: taskReports(this.schedule.applicable, this.supervisor.snapshot(), this.results, Math.floor(now / 1000), this.schedule.jitterOf, (task) => this.holderOf(task)),
    };
  }

  /** SPEC §10 for `status`: who holds a singleton task (`this host` or a host name), null while unknown. */
  private holderOf(task: Task): string | null {
    if (task.type === 'daemon') return this.leadership.holderOf(task.id);
    return this.gate.lastClaim(task.id)?.holder ?? null;
  }

  /** SPEC §4 stop: stop scheduling, TERM every job's process group, KILL after grace, remove the pidfile. */
  stop(reason: string): Promise<void> {
    return this.end(reason, () => this.supervisor.stopAll(), 'stopping: terminating every job');
  }

  /** SPEC §4 quit: stop scheduling and daemon-type tasks, let running cron jobs finish, then exit. */
  quit(reason: string): Promise<void> {
    return this.end(reason, () => this.supervisor.drain(), 'quitting: waiting for running jobs to finish');
  }

  /**
   * SIGUSR1 (systemd's RestartKillSignal, README: Running under systemd): exit and leave every job
   * running for the next daemon, which adopts them as after a crash — but with the state file written,
   * the run log flushed and the pidfile removed. The fleet lease is left to expire (not revoked), so a
   * daemon singleton held here is not handed to another host while its instance still runs.
   */
  detach(reason: string): Promise<void> {
    this.ending ??= (async () => {
      const jobs = this.supervisor.liveRuns().length;
      this.log.warn({ reason, jobs }, 'detaching: running jobs are left for the next daemon to adopt');
      this.ticker.stop();
      this.monitor.stop();
      this.reloads.stop();
      await this.watcher.close();
      this.state.markDirty();
      await this.saveState(this.planner?.lastSecond ?? 0);
      this.supervisor.release();
      await this.subscribers.flush();
      await this.control?.close();
      await this.metrics?.close();
      releasePidfile(this.options.paths.pidfile, process.pid);
      this.log.info({ jobs }, 'detached');
      this.loggers.close();
    })();
    return this.ending;
  }

  reopenLogs(): void {
    this.loggers.reopen();
    this.log.info('log files reopened');
  }

  /**
   * A start that failed before its first tick: jobs adopted from the previous daemon are left running
   * and its state file untouched, so the next start adopts them again (never a stop that kills them).
   */
  private async abandon(reason: string): Promise<void> {
    this.log.error({ reason }, 'start-up failed: jobs of the previous daemon are left running for the next start');
    this.supervisor.release();
    await this.watcher.close();
    this.fleetLink?.close();
    await this.fleet?.close();
    await this.control?.close();
    await this.metrics?.close();
    releasePidfile(this.options.paths.pidfile, process.pid);
    this.keeper?.close();
    this.loggers.close();
  }

  private end(reason: string, jobs: () => Promise<void>, message: string): Promise<void> {
    this.ending ??= (async () => {
      this.log.info({ reason }, message);
      this.ticker.stop();
      this.monitor.stop();
      this.reloads.stop();
      await this.watcher.close();
      await jobs();
      // Once the jobs are gone: slots and leaderships are given back, so another host takes over at once.
      await Promise.all([this.gate.close(), this.leadership.close()]);
      this.fleetLink?.close();
      await this.subscribers.flush();
      await this.fleet?.close();
      await this.control?.close();
      await this.metrics?.close();
      await this.state.saveClean(this.planner?.lastSecond ?? 0, this.schedule.applicable, this.schedule.jitterOf).catch(() => undefined);
      releasePidfile(this.options.paths.pidfile, process.pid);
      // Every job ended and was dropped: the keeper exits with this daemon.
      await this.keeper?.bye();
      this.keeper?.close();
      this.log.info('stopped');
      this.loggers.close();
    })();
    return this.ending;
  }
}
