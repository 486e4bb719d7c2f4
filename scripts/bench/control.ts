/** Control-plane figures: start → ready, reload of a large file, idle CPU and RSS of the daemon. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Daemon } from '../../src/daemon/daemon.js';
import { runtimePaths } from '../../src/daemon/paths.js';
import { round, summary } from './stats.js';
import { taskFile } from './workload.js';

const cli = path.resolve('dist/src/cli/main.js');
const IDLE_WARM_UP_MS = 30_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function gotorch(dir: string, ...args: string[]): { status: number | null; stdout: string } {
  const result = spawnSync(process.execPath, [cli, '-c', path.join(dir, 'tasks.conf'), '--pidfile', path.join(dir, 'gotorch.pid'), '--log-dir', path.join(dir, 'log'), ...args], { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout };
}

/** `gotorch start` (background) until it returns ready, as an operator sees it. */
export function startToReady(tasks: number, runs: number) {
  const times: number[] = [];
  for (let index = 0; index < runs; index++) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-bench-start-'));
    writeFileSync(path.join(dir, 'tasks.conf'), taskFile(tasks) + '\n');
    const begin = performance.now();
    const started = gotorch(dir, 'start');
    times.push(performance.now() - begin);
    if (started.status !== 0) throw new Error(`start failed: ${started.stdout}`);
    gotorch(dir, 'stop');
    rmSync(dir, { recursive: true, force: true });
  }
  const { p50, max } = summary(times);
  return { tasks, runs, p50Ms: round(p50, 1), maxMs: round(max, 1) };
}

/**
 * Rewrites a 10,000-task file under a running daemon (in this process, so the event-loop monitor sees
 * exactly what the daemon's ticks would) and times write → applied, with the worst loop delay meanwhile.
 */
export async function reloadLargeFile(tasks: number, runs: number) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-bench-reload-'));
  const file = path.join(dir, 'tasks.conf');
  writeFileSync(file, taskFile(tasks, 1) + '\n');
  const daemon = await Daemon.start({ tasksFile: file, paths: runtimePaths({ pidfile: path.join(dir, 'gotorch.pid'), logDir: path.join(dir, 'log') }), stdoutLogs: false });
  if (!(daemon instanceof Daemon)) throw new Error(daemon.reason);
  const applied: number[] = [];
  const delays: number[] = [];
  const tickLate: number[] = [];
  try {
    await sleep(1500);
    for (let index = 0; index < runs; index++) {
      const histogram = monitorEventLoopDelay({ resolution: 1 });
      histogram.enable();
      const before = daemon.lastReloadResult?.at ?? 0;
      daemon.takeTickLateMax();
      const written = Date.now();
      writeFileSync(file, taskFile(tasks, index + 2) + '\n');
      while ((daemon.lastReloadResult?.at ?? 0) === before) await sleep(2);
      applied.push((daemon.lastReloadResult?.at ?? 0) - written);
      await sleep(1100); // at least one tick after the reload
      histogram.disable();
      delays.push(histogram.max / 1e6);
      tickLate.push(daemon.takeTickLateMax());
    }
  } finally {
    await daemon.stop('benchmark done');
    rmSync(dir, { recursive: true, force: true });
  }
  const appliedStats = summary(applied);
  return {
    tasks,
    runs,
    writeToAppliedP50Ms: round(appliedStats.p50, 1),
    writeToAppliedMaxMs: round(appliedStats.max, 1),
    worstLoopDelayMs: round(Math.max(...delays), 1),
    worstTickLateMs: Math.max(...tickLate),
  };
}

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((entry) => entry.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1]) * 1024;
}

/** The daemon with `tasks` loaded and nothing due: CPU over `seconds` after a warm-up, and RSS. */
export async function idleCost(tasks: number, seconds: number) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-bench-idle-'));
  const lines = taskFile(tasks)
    .split('\n')
    .map((line) => line.replace(/^(\S+ \S+ \S+) \S+ \S+ \S+/, '$1 1 jan *'));
  writeFileSync(path.join(dir, 'tasks.conf'), lines.join('\n') + '\n');
  const started = gotorch(dir, 'start');
  const pid = Number(/pid (\d+)/.exec(started.stdout)?.[1]);
  try {
    // V8's memory reducer compacts the start-up garbage once, ~15-20 s after start: measure after it.
    await sleep(IDLE_WARM_UP_MS);
    const ticks = cpuTicks(pid);
    const begin = performance.now();
    await sleep(seconds * 1000);
    const cpuSeconds = (cpuTicks(pid) - ticks) / 100;
    return { tasks, seconds, cpuPercentOfCore: round((cpuSeconds / ((performance.now() - begin) / 1000)) * 100, 3), rssMiB: round(rssBytes(pid) / 2 ** 20, 1) };
  } finally {
    gotorch(dir, 'stop');
    rmSync(dir, { recursive: true, force: true });
  }
}
