/** Control-plane figures: start → ready and the reload of a large file. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Daemon } from '../../src/daemon/daemon.js';
import { runtimePaths } from '../../src/daemon/paths.js';
import { round, summary } from './stats.js';
import { taskFile } from './workload.js';

const cli = path.resolve('dist/src/cli/main.js');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The CLI against the installation in `dir` (its task file, pidfile and logs). */
export function gotorch(dir: string, ...args: string[]): { status: number | null; stdout: string } {
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
 * Saves a new 10,000-task file (by rename) under a running daemon (in this process, so the event-loop monitor sees
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
      // Saved as deploy tools and editors do (write, then rename): an in-place write waits SETTLE_MS of quiet.
      writeFileSync(`${file}.new`, taskFile(tasks, index + 2) + '\n');
      renameSync(`${file}.new`, file);
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
