/**
 * Start lateness end to end, gotorch against the peers doing the same jobs: 10,000 tasks loaded (none
 * due) and 1, 10 or 50 jobs due every second. Each job writes its own exec time ($EPOCHREALTIME, a bash
 * builtin) beside GOTORCH_SCHEDULED_AT, so every scheduler is timed by the same clock read in the job.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DAEMON_NODE_FLAGS } from '../../src/daemon/node-flags.js';
import { floorBinary } from './c-floor.js';
import { round, summary } from './stats.js';
import { expressions } from './workload.js';

/** `gotorch` is the daemon on its native (posix_spawn) spawner, `gotorch child_process` the same daemon forced onto the fallback. */
export type Gotorch = 'gotorch' | 'gotorch child_process';
export type Runner = Gotorch | 'C floor' | 'croner' | 'node-cron';
/** The `spawner` each gotorch runner must report in its ready record: a bench that measured the fallback twice is broken. */
export const SPAWNER: Readonly<Record<Gotorch, string>> = { gotorch: 'native', 'gotorch child_process': 'child_process' };
export const isGotorch = (runner: Runner): runner is Gotorch => runner in SPAWNER;

const cli = path.resolve('dist/src/cli/main.js');
const peerRunner = path.resolve('dist/scripts/bench/peers/runner.js');
const IDLE_TASKS = 10_000;
/** The first seconds are start-up (JIT, first spawns), not steady state. */
const WARM_UP_SECONDS = 2;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** The JSON records of a JSON-lines log (pino's), none while it does not exist; torn or foreign lines skipped. */
export function jsonLines<T>(file: string): T[] {
  return (existsSync(file) ? readFileSync(file, 'utf8') : '').split('\n').flatMap((line) => {
    try {
      return [JSON.parse(line) as T];
    } catch {
      return [];
    }
  });
}

/** Resolves once `child` prints `ready` on its stdout; stops it and throws if it exits or times out first. */
export async function untilReady(child: ChildProcess, what: string, timeoutMs: number): Promise<void> {
  let ready = false;
  child.stdout?.on('data', (chunk: Buffer) => (ready ||= chunk.toString().includes('ready')));
  try {
    await waitFor(() => ready || child.exitCode !== null, timeoutMs, `${what} to start`);
  } catch (error) {
    await stopProcess(child);
    throw error;
  }
  if (!ready) throw new Error(`${what} exited with ${child.exitCode}`);
}

/** A running gotorch daemon: its process and the daemon's pid (from its ready record). */
export interface Daemon {
  readonly child: ChildProcess;
  readonly pid: number;
}

interface DaemonRecord {
  readonly msg?: string;
  readonly pid?: number;
  readonly spawner?: string;
  readonly reason?: string;
}

/** A gotorch daemon on the spawner `runner` names, with `jobs` and `idle` idle tasks, once its ready record says so. */
export async function startDaemon(runner: Gotorch, dir: string, jobs: readonly (readonly [string, string])[], idle = IDLE_TASKS): Promise<Daemon> {
  const lines = [
    'SHELL=/bin/bash',
    ...idleLines(idle).map((expression, index) => `${expression} * 1 cron name=idle${index} true`),
    ...jobs.map(([expression, command], index) => `${expression} * 1 cron name=job${index} ${command}`),
  ];
  writeFileSync(path.join(dir, 'tasks.conf'), lines.join('\n') + '\n');
  // `gotorch` runs whichever spawner the daemon picks (native when the addon is built), checked below.
  const { GOTORCH_SPAWNER: _, ...env } = process.env;
  if (runner === 'gotorch child_process') env.GOTORCH_SPAWNER = 'child_process';
  // The runtime folder apart from the task file's, as installed (/var/lib/gotorch, /etc/gotorch).
  mkdirSync(path.join(dir, 'run'), { recursive: true });
  const args = [...DAEMON_NODE_FLAGS, cli, 'start', '--foreground', '-c', path.join(dir, 'tasks.conf'), '--pidfile', path.join(dir, 'run', 'gotorch.pid'), '--log-dir', path.join(dir, 'log')];
  const child = spawn(process.execPath, args, { stdio: 'ignore', env });
  const log = path.join(dir, 'log', 'gotorch.log');
  let records: DaemonRecord[] = [];
  const ready = () => records.find((record) => record.msg === 'gotorch ready');
  try {
    await waitFor(
      () => {
        records = jsonLines(log);
        return ready() !== undefined || child.exitCode !== null;
      },
      // The quiet phase starts 100,000-task daemons beside croner's: on 2 shared cores that can take a while.
      120_000,
      `${runner} to start`,
    );
    const spawner = ready()?.spawner;
    if (spawner !== SPAWNER[runner]) {
      const why = records.find((record) => record.msg?.startsWith('native spawner not used') === true)?.reason;
      throw new Error(
        spawner === undefined
          ? `${runner} exited with ${child.exitCode} before it was ready`
          : `${runner} ran the ${spawner} spawner, not ${SPAWNER[runner]}: ${why ?? 'see its gotorch.log'}`,
      );
    }
  } catch (error) {
    await stopProcess(child);
    throw error;
  }
  return { child, pid: ready()?.pid ?? (child.pid as number) };
}

/** The C floor spawning `jobsPerSecond` jobs each second (appending to `out`) for `seconds` seconds, once it is ready. */
async function startFloor(jobsPerSecond: number, seconds: number, out: string): Promise<ChildProcess> {
  const child = spawn(floorBinary(), [String(jobsPerSecond), String(seconds), out], { stdio: ['ignore', 'pipe', 'inherit'] });
  await untilReady(child, 'the C floor', 10_000);
  return child;
}

/** Idle tasks fire on 1 January only: loaded and scheduled, never due during a bench. */
function idleLines(idle: number): string[] {
  return expressions(idle).map((expression) => `${expression.split(' ').slice(0, 3).join(' ')} 1 jan *`);
}

/** A scheduler process with `jobs` (six-field expression, command) and 10,000 idle tasks, once ready. */
export async function startRunner(runner: Exclude<Runner, 'C floor'>, dir: string, jobs: readonly (readonly [string, string])[], idle = IDLE_TASKS): Promise<ChildProcess> {
  if (isGotorch(runner)) return (await startDaemon(runner, dir, jobs, idle)).child;
  const crontab = path.join(dir, 'crontab');
  writeFileSync(crontab, [...idleLines(idle).map((expression) => `${expression} true`), ...jobs.map(([expression, command]) => `${expression} ${command}`)].join('\n') + '\n');
  const child = spawn(process.execPath, [peerRunner, runner, crontab], { stdio: ['ignore', 'pipe', 'inherit'] });
  // croner computes every job's next run up front: 100,000 of them take a while on a busy machine.
  await untilReady(child, `the ${runner} runner`, 240_000);
  return child;
}

/**
 * (exec − scheduled) in ms for each line `scheduled epochrealtime` of `file` whose scheduled second is
 * one of the `seconds` seconds from `from`.
 */
export function execLateness(file: string, from: number, seconds: number): number[] {
  if (!existsSync(file)) return [];
  const rows = readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((line) => line.split(' ').map(Number));
  return rows.filter(([second]) => second >= from && second < from + seconds).map(([second, at]) => (at - second) * 1000);
}

/**
 * The CPU time of every thread of `pid` so far, in ns: schedstat's first field (/proc/PID/stat counts 10 ms
 * ticks). A daemon under the job keeper (issue 17) is charged the keeper's CPU too: it is part of each run's cost.
 */
export function cpuNs(pid: number): number {
  const keeper = keeperOf(pid);
  return threadsCpuNs(pid) + (keeper === undefined ? 0 : threadsCpuNs(keeper));
}

/** The daemon's parent when it is the job keeper. */
function keeperOf(pid: number): number | undefined {
  try {
    const parent = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);
    return readFileSync(`/proc/${parent}/comm`, 'utf8').trim() === 'gotorch_keeper' ? parent : undefined;
  } catch {
    return undefined;
  }
}

function threadsCpuNs(pid: number): number {
  let total = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread exited since the listing
    }
  }
  return total;
}

/** The counters are read this long before each boundary: a second's spawns start just after it. */
const READ_AHEAD_MS = 50;
const sleepUntil = (epochMs: number) => sleep(Math.max(0, epochMs - Date.now()));

/**
 * The measured window of a runner just started: `seconds` whole seconds from the first boundary
 * `warmUpSeconds` after now, with the CPU `pid` (a daemon) spent over it as a share of a core.
 */
async function measuredWindow(seconds: number, warmUpSeconds: number, pid?: number): Promise<{ from: number; cpuMs: number; wallMs: number; cpuPercentOfCore: number }> {
  const from = Math.ceil(Date.now() / 1000 + warmUpSeconds);
  await sleepUntil(from * 1000 - READ_AHEAD_MS);
  const [cpu, begin] = [pid === undefined ? 0 : cpuNs(pid), performance.now()];
  await sleepUntil((from + seconds) * 1000 - READ_AHEAD_MS);
  const cpuMs = pid === undefined ? 0 : (cpuNs(pid) - cpu) / 1e6;
  const wallMs = performance.now() - begin;
  return { from, cpuMs, wallMs, cpuPercentOfCore: (cpuMs / wallMs) * 100 };
}

/** The daemon's CPU over the window, net of its idle cost (same tasks, no jobs, an equal window) per run started. */
export interface DaemonCpu {
  readonly cpuPercentOfCore: number;
  readonly idlePercentOfCore: number;
  readonly starts: number;
  readonly msPerStart: number;
}

export interface LatenessResult {
  readonly runner: Runner;
  readonly tasksLoaded: number;
  readonly jobsPerSecond: number;
  readonly seconds: number;
  readonly expectedRuns: number;
  readonly runs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** gotorch runners, and the C floor (its own process: no pipes read, nothing reaped, no log). */
  readonly daemon?: DaemonCpu;
}

export interface DaemonIdle {
  readonly runner: Gotorch;
  readonly tasks: number;
  readonly seconds: number;
  readonly cpuPercentOfCore: number;
}

/** A gotorch daemon with the lateness bench's 10,000 idle tasks and no jobs, over the same window as `lateness`. */
export async function daemonIdle(runner: Gotorch, seconds: number, warmUpSeconds = WARM_UP_SECONDS): Promise<DaemonIdle> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-bench-late-idle-'));
  const daemon = await startDaemon(runner, dir, []);
  try {
    const { cpuPercentOfCore } = await measuredWindow(seconds, warmUpSeconds, daemon.pid);
    return { runner, tasks: IDLE_TASKS, seconds, cpuPercentOfCore: round(cpuPercentOfCore, 3) };
  } finally {
    await stopProcess(daemon.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface LatenessOptions {
  readonly warmUpSeconds?: number;
  /** The daemon's idle cost (gotorch runners), subtracted from its CPU per start. */
  readonly idle?: DaemonIdle;
  /** How long the runner keeps going after the measured seconds, for their last jobs to start. */
  readonly tailMs?: number;
}

/**
 * `jobsPerSecond` jobs due every second for `seconds` measured seconds after a warm-up; for a gotorch
 * runner also its CPU over those seconds, less its idle cost (daemonIdle), per run started.
 */
export async function lateness(runner: Runner, jobsPerSecond: number, seconds: number, { warmUpSeconds = WARM_UP_SECONDS, idle, tailMs = 1000 }: LatenessOptions = {}): Promise<LatenessResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `gotorch-bench-late-${runner.replace(' ', '-')}-`));
  const out = path.join(dir, 'exec.txt');
  const jobs = Array.from({ length: jobsPerSecond }, () => ['* * * * * *', `echo "$GOTORCH_SCHEDULED_AT $EPOCHREALTIME" >> ${out}`] as const);
  const daemon = isGotorch(runner) ? await startDaemon(runner, dir, jobs) : undefined;
  const child = daemon?.child ?? (runner === 'C floor' ? await startFloor(jobsPerSecond, warmUpSeconds + seconds + 5, out) : await startRunner(runner, dir, jobs));
  let window: Awaited<ReturnType<typeof measuredWindow>>;
  try {
    // The C floor's CPU too: what one wake a second and posix_spawn cost on this machine, the scale of a daemon's figure.
    window = await measuredWindow(seconds, warmUpSeconds, daemon?.pid ?? (runner === 'C floor' ? child.pid : undefined));
    await sleepUntil((window.from + seconds) * 1000 + tailMs); // the last second's jobs start
  } finally {
    await stopProcess(child);
  }
  await sleep(200); // the last jobs finish writing
  const samples = execLateness(out, window.from, seconds);
  rmSync(dir, { recursive: true, force: true });
  const stats = summary(samples);
  const cpu = (): DaemonCpu => {
    // Without its idle figure the figure is NaN: reported as not produced, which fails the bench. The C floor
    // has no idle cost to take off: it runs only to spawn, woken at the boundaries of the seconds it spawns in.
    const idlePercent = runner === 'C floor' ? 0 : (idle?.cpuPercentOfCore ?? NaN);
    const netMs = window.cpuMs - (idlePercent / 100) * window.wallMs;
    return { cpuPercentOfCore: round(window.cpuPercentOfCore, 3), idlePercentOfCore: idlePercent, starts: stats.n, msPerStart: round(netMs / stats.n, 3) };
  };
  return {
    runner,
    tasksLoaded: (runner === 'C floor' ? 0 : IDLE_TASKS) + jobsPerSecond,
    jobsPerSecond,
    seconds,
    expectedRuns: jobsPerSecond * seconds,
    runs: stats.n,
    p50Ms: round(stats.p50, 2),
    p99Ms: round(stats.p99, 2),
    maxMs: round(stats.max, 2),
    ...(daemon === undefined && runner !== 'C floor' ? {} : { daemon: cpu() }),
  };
}
