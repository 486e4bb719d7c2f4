/**
 * The real daemon on a wall clock the test steps at run time: libfaketime (Debian package `faketime`)
 * preloaded into the daemon reads its offset from a file on every clock read (FAKETIME_NO_CACHE), and
 * leaves the monotonic clock alone (FAKETIME_DONT_FAKE_MONOTONIC), so libuv's timers keep running while
 * Date.now() jumps, as after `date -s` or an NTP step.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { waitFor, runCli, type Started } from '../helpers/processes.js';
import { Sandbox, type LogRecord } from '../control/sandbox.js';

/** Where distributions put the library; GOTORCH_FAKETIME_LIB overrides. */
const LIBRARY_CANDIDATES = [
  '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib64/faketime/libfaketime.so.1',
  '/usr/lib/faketime/libfaketime.so.1',
];

export const FAKETIME_LIBRARY: string | undefined = process.env.GOTORCH_FAKETIME_LIB ?? LIBRARY_CANDIDATES.find((file) => existsSync(file));

/** Unix seconds of an ISO date-time with its zone: unix('2026-03-29T01:00:00Z'). */
export function unix(iso: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`not a date: ${iso}`);
  return ms / 1000;
}

/** Unix seconds as `2026-03-29T01:00:00Z`, for messages. */
export const iso = (second: number): string => new Date(second * 1000).toISOString().replace('.000', '');

/** Every second from `first` to `last`, both included. */
export function through(first: number, last: number): number[] {
  return Array.from({ length: Math.max(0, last - first + 1) }, (_, index) => first + index);
}

/** Nearest-rank percentile. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** libfaketime's offset syntax: `+5400s`, `-1800s`. */
const offsetText = (seconds: number): string => `${seconds >= 0 ? '+' : ''}${seconds}s\n`;

export function preloadEnv(offsetFile: string): NodeJS.ProcessEnv {
  if (FAKETIME_LIBRARY === undefined) throw new Error('libfaketime not found: install the Debian package faketime, or set GOTORCH_FAKETIME_LIB');
  return { LD_PRELOAD: FAKETIME_LIBRARY, FAKETIME_TIMESTAMP_FILE: offsetFile, FAKETIME_NO_CACHE: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1' };
}

/**
 * Checks the mechanism itself before anything is built on it: a Node process under the preload sees
 * the offset in the file at start, follows a rewrite of the file while it runs, and keeps its
 * monotonic clock. Returns what it measured.
 */
export function probeFaketime(dir: string): { startErrorMs: number; stepErrorMs: number; monotonicMs: number } {
  const offsetFile = path.join(dir, 'probe-offset');
  writeFileSync(offsetFile, offsetText(3600));
  // Reads the clocks, rewrites the offset file (-7200 s), reads them again.
  const script = [
    'const fs = require("node:fs");',
    'const before = [Date.now(), performance.now()];',
    `fs.writeFileSync(${JSON.stringify(offsetFile + '.new')}, "-7200s\\n");`,
    `fs.renameSync(${JSON.stringify(offsetFile + '.new')}, ${JSON.stringify(offsetFile)});`,
    'const after = [Date.now(), performance.now()];',
    'console.log(JSON.stringify({ before, after }));',
  ].join('\n');
  const realBefore = Date.now();
  const result = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, ...preloadEnv(offsetFile) }, encoding: 'utf8' });
  const realAfter = Date.now();
  if (result.status !== 0) throw new Error(`the faketime probe failed (${result.status}): ${result.stderr}`);
  const { before, after } = JSON.parse(result.stdout) as { before: [number, number]; after: [number, number] };
  const realMid = (realBefore + realAfter) / 2;
  return {
    startErrorMs: Math.abs(before[0] - 3600_000 - realMid),
    stepErrorMs: Math.abs(after[0] + 7200_000 - realMid),
    monotonicMs: after[1] - before[1],
  };
}

export interface TaskSpec {
  readonly name: string;
  /** Six fields. */
  readonly schedule: string;
}

/** A clock event the daemon logged, with the seconds it went from and to. */
export interface ObservedJump {
  readonly msg: string;
  readonly level: number;
  readonly fromSecond: number;
  readonly toSecond: number;
}

export const LATE_WAKE = 'woke late: planned every missed second, each due task once';
export const FORWARD = 'clock jumped forward: skipped fixed-time tasks run once, others resume without replay';
export const BACKWARD = 'clock jumped backward: fixed-time tasks will not run twice for one wall time';
export const RESYNC = 'clock jumped more than 3 hours: resynced, no catch-up';
export const DST = 'time zone changed its offset (DST)';

/**
 * A foreground daemon in a sandbox, on a stepped wall clock. Every task appends `<task> <scheduled>`
 * (GOTORCH_SCHEDULED_AT) to one file: what the jobs saw is the evidence, runs.log the cross-check.
 */
export class ClockDaemon {
  readonly box = new Sandbox();
  private readonly offsetFile = path.join(this.box.dir, 'faketime-offset');
  private readonly firedFile = path.join(this.box.dir, 'fired.txt');
  /** Fake minus real, in seconds (a step adds half a second: see step()). */
  private offset = 0;
  private daemon: Started | undefined;

  constructor(
    private readonly zone: string,
    private readonly tasks: readonly TaskSpec[],
  ) {}

  /** Starts the daemon with the fake clock a fraction of a second past `second` and waits until it is ready. */
  async start(second: number): Promise<void> {
    this.box.write([
      `TZ=${this.zone}`,
      ...this.tasks.map((task) => `${task.schedule} * 0 cron name=${task.name} echo "$GOTORCH_TASK $GOTORCH_SCHEDULED_AT" >> ${this.firedFile}`),
    ]);
    this.setOffset(second - Math.floor(Date.now() / 1000));
    this.daemon = runCli([...this.box.globalArgs, 'start', '--foreground'], preloadEnv(this.offsetFile));
    await waitFor(() => this.box.daemonRecords().some((record) => record.msg === 'gotorch ready') || this.daemon?.child.exitCode !== null, 15_000, 'the daemon to be ready');
    if (this.daemon.child.exitCode !== null) throw new Error(`the daemon exited (${this.daemon.child.exitCode}): ${this.daemon.output()}`);
  }

  /** The daemon's wall clock as the test computes it. */
  fakeNowMs(): number {
    return Date.now() + this.offset * 1000;
  }

  /**
   * Steps the clock so that the tick after `from` sees the middle of `to`. The file is rewritten half
   * a second after `from` began: the daemon planned `from` by then, and its timer for the next boundary
   * (armed by the old clock) then reads `to` + 0.5 s. Landing mid-second keeps the outcome off the
   * boundary, where the ticker's 1 ms early wake would decide between `to - 1` and `to`. Under load
   * either side may slip a second; tests read the seconds the daemon saw from its log.
   */
  async step(from: number, to: number): Promise<void> {
    await waitFor(() => this.fakeNowMs() >= from * 1000 + 500, 30_000, `the fake clock to reach ${iso(from)} + 0.5 s`);
    this.setOffset(this.offset + (to - from - 0.5));
  }

  /** Waits until `task` ran for `second` (its job wrote the line). */
  async waitForRun(task: string, second: number, timeoutMs = 30_000): Promise<void> {
    await waitFor(() => this.fired(task).includes(second), timeoutMs, `${task} to run for ${iso(second)}`);
  }

  /** SIGQUIT: stop scheduling, let the running jobs finish (so every run has its record), exit 0. */
  async quit(): Promise<number | null> {
    const daemon = this.daemon;
    if (daemon === undefined) return null;
    daemon.child.kill('SIGQUIT');
    return daemon.closed;
  }

  /** The scheduled seconds `task`'s jobs saw, in the order they wrote them (appends of a short line are atomic). */
  firedInOrder(task: string): number[] {
    if (!existsSync(this.firedFile)) return [];
    return readFileSync(this.firedFile, 'utf8')
      .split('\n')
      .map((line) => line.split(' '))
      .filter(([name, second]) => name === task && second !== undefined)
      .map(([, second]) => Number(second));
  }

  /** The scheduled seconds `task`'s jobs saw, ascending. */
  fired(task: string): number[] {
    return this.firedInOrder(task).sort((a, b) => a - b);
  }

  /** `run finished` records of `task` from runs.log, by scheduled second. */
  finished(task: string): LogRecord[] {
    return this.box.finishedRuns(task).sort((a, b) => (a.scheduledAt as number) - (b.scheduledAt as number));
  }

  /** Every daemon log record at warning level or above. */
  warnings(): LogRecord[] {
    return this.box.daemonRecords().filter((record) => (record.level as number) >= 40);
  }

  /** The DST records. */
  dstChanges(): LogRecord[] {
    return this.box.daemonRecords().filter((record) => record.msg === DST);
  }

  /**
   * The seconds a logged jump went from and to. The record is written in the tick that saw the jump,
   * half a second into the second it jumped to (step()), so its time (the daemon's clock) gives that
   * second; `seconds` (or `missedSeconds` for a late wake) gives the other end.
   */
  static jumpOf(record: LogRecord): ObservedJump {
    const toSecond = Math.floor((record.time as number) / 1000);
    const span = record.msg === LATE_WAKE ? (record.missedSeconds as number) + 1 : (record.seconds as number);
    if (!Number.isInteger(span)) throw new Error(`not a clock jump record: ${JSON.stringify(record)}`);
    return { msg: record.msg as string, level: record.level as number, fromSecond: toSecond - span, toSecond };
  }

  async cleanup(): Promise<void> {
    await this.box.cleanup();
  }

  /** Atomically, so the daemon never reads a half-written file (an empty one would mean no offset). */
  private setOffset(seconds: number): void {
    writeFileSync(`${this.offsetFile}.new`, offsetText(seconds));
    renameSync(`${this.offsetFile}.new`, this.offsetFile);
    this.offset = seconds;
  }
}
