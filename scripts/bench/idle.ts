/** Idle cost: CPU over a quiet minute and RSS, for gotorch and the croner runner, with N tasks loaded, none due. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startRunner, stopProcess, type Runner } from './lateness.js';

type Scheduler = Exclude<Runner, 'C floor'>;
import { round } from './stats.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks (1/100 s)
}

export function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((entry) => entry.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1]) * 1024;
}

/**
 * The process and its children: a gotorch started in the foreground is the job keeper (issue 17) with the
 * daemon beneath it, and both are what the scheduler costs the host; a runner without children is itself.
 */
function withChildren(pid: number): number[] {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  return [pid, ...children];
}

const sum = (pids: readonly number[], of: (pid: number) => number): number => pids.reduce((total, pid) => total + of(pid), 0);

export interface IdleResult {
  readonly runner: Scheduler;
  readonly tasks: number;
  readonly seconds: number;
  readonly cpuPercentOfCore: number;
  readonly rssMiB: number;
}

/**
 * `tasks` loaded, none due: CPU over `seconds` after a warm-up, then RSS. V8's memory reducer compacts
 * the start-up garbage once, 15-20 s after start, so the warm-up is 30 s in full mode.
 */
export async function idleCost(runner: Scheduler, tasks: number, seconds: number, warmUpMs: number): Promise<IdleResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `gotorch-bench-idle-${runner}-`));
  const child = await startRunner(runner, dir, [], tasks);
  const pid = child.pid as number;
  try {
    await sleep(warmUpMs);
    const pids = withChildren(pid);
    const ticks = sum(pids, cpuTicks);
    const begin = performance.now();
    await sleep(seconds * 1000);
    const cpuSeconds = (sum(pids, cpuTicks) - ticks) / 100;
    return { runner, tasks, seconds, cpuPercentOfCore: round((cpuSeconds / ((performance.now() - begin) / 1000)) * 100, 3), rssMiB: round(sum(pids, rssBytes) / 2 ** 20, 1) };
  } finally {
    await stopProcess(child);
    rmSync(dir, { recursive: true, force: true });
  }
}
