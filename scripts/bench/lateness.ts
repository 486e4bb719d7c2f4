/**
 * Start lateness end to end, gotorch against the peers doing the same jobs: 10,000 tasks loaded (none
 * due) and 1, 10 or 50 jobs due every second. Each job writes its own exec time ($EPOCHREALTIME, a bash
 * builtin) beside GOTORCH_SCHEDULED_AT, so every scheduler is timed by the same clock read in the job.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { DAEMON_NODE_FLAGS } from '../../src/daemon/node-flags.js';
import { round, summary } from './stats.js';
import { expressions } from './workload.js';

export type Runner = 'gotorch' | 'croner' | 'node-cron';

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

/** A scheduler process with `jobs` (six-field expression, command) and 10,000 idle tasks, once ready. */
export async function startRunner(runner: Runner, dir: string, jobs: readonly (readonly [string, string])[], idle = IDLE_TASKS): Promise<ChildProcess> {
  // Idle tasks fire on 1 January only: loaded and scheduled, never due during a bench.
  const idleLines = expressions(idle).map((expression) => `${expression.split(' ').slice(0, 3).join(' ')} 1 jan *`);
  if (runner === 'gotorch') {
    const lines = [
      'SHELL=/bin/bash',
      ...idleLines.map((expression, index) => `${expression} * 1 cron name=idle${index} true`),
      ...jobs.map(([expression, command], index) => `${expression} * 1 cron name=job${index} ${command}`),
    ];
    writeFileSync(path.join(dir, 'tasks.conf'), lines.join('\n') + '\n');
    const pidfile = path.join(dir, 'gotorch.pid');
    const child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, cli, 'start', '--foreground', '-c', path.join(dir, 'tasks.conf'), '--pidfile', pidfile, '--log-dir', path.join(dir, 'log')], { stdio: 'ignore' });
    await waitFor(() => existsSync(pidfile), 30_000, 'gotorch to start');
    return child;
  }
  const crontab = path.join(dir, 'crontab');
  writeFileSync(crontab, [...idleLines.map((expression) => `${expression} true`), ...jobs.map(([expression, command]) => `${expression} ${command}`)].join('\n') + '\n');
  const child = spawn(process.execPath, [peerRunner, runner, crontab], { stdio: ['ignore', 'pipe', 'inherit'] });
  let ready = false;
  child.stdout?.on('data', (chunk: Buffer) => (ready ||= chunk.toString().includes('ready')));
  try {
    // croner computes every job's next run up front: 100,000 of them take a while on a busy machine.
    await waitFor(() => ready || child.exitCode !== null, 240_000, `the ${runner} runner to start`);
  } catch (error) {
    await stopProcess(child);
    throw error;
  }
  if (!ready) throw new Error(`the ${runner} runner exited with ${child.exitCode}`);
  return child;
}

/**
 * (exec − scheduled) in ms for each line `scheduled epochrealtime` of `file` whose scheduled second is
 * one of the `seconds` seconds after the warm-up (counted from the first second any job ran).
 */
export function execLateness(file: string, seconds: number, warmUpSeconds = WARM_UP_SECONDS): number[] {
  if (!existsSync(file)) return [];
  const rows = readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((line) => line.split(' ').map(Number));
  const first = Math.min(...rows.map(([second]) => second)) + warmUpSeconds;
  return rows.filter(([second]) => second >= first && second < first + seconds).map(([second, at]) => (at - second) * 1000);
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
}

export async function lateness(runner: Runner, jobsPerSecond: number, seconds: number, warmUpSeconds = WARM_UP_SECONDS): Promise<LatenessResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `gotorch-bench-late-${runner}-`));
  const out = path.join(dir, 'exec.txt');
  const jobs = Array.from({ length: jobsPerSecond }, () => ['* * * * * *', `echo "$GOTORCH_SCHEDULED_AT $EPOCHREALTIME" >> ${out}`] as const);
  const child = await startRunner(runner, dir, jobs);
  try {
    await sleep((seconds + warmUpSeconds + 2) * 1000);
  } finally {
    await stopProcess(child);
  }
  await sleep(200); // the last jobs finish writing
  const samples = execLateness(out, seconds, warmUpSeconds);
  rmSync(dir, { recursive: true, force: true });
  const stats = summary(samples);
  return {
    runner,
    tasksLoaded: IDLE_TASKS + jobsPerSecond,
    jobsPerSecond,
    seconds,
    expectedRuns: jobsPerSecond * seconds,
    runs: stats.n,
    p50Ms: round(stats.p50, 2),
    p99Ms: round(stats.p99, 2),
    maxMs: round(stats.max, 2),
  };
}

/**
 * The floor: the same bash job spawned directly with execa, once a second like the daemon's jobs (a
 * machine idle between spawns starts them slower than back to back), from the spawn call to exec.
 */
export async function spawnFloor(runs: number) {
  const samples: number[] = [];
  for (let index = 0; index < runs; index++) {
    await sleep(1000 - (Date.now() % 1000));
    const before = Date.now() / 1000;
    const result = await execa('/bin/bash', ['-c', 'echo $EPOCHREALTIME'], { detached: true, stdin: 'ignore', reject: false });
    samples.push((Number(result.stdout.trim()) - before) * 1000);
  }
  const { p50, p99 } = summary(samples);
  return { runs: samples.length, p50Ms: round(p50, 2), p99Ms: round(p99, 2) };
}
