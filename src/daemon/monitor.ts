/**
 * The periodic 'monitor' record: what the daemon holds (tasks, running jobs), what it costs (RSS, CPU share
 * over the interval) and how the host fares (load average, memory). It runs on its own unref'd timer, never
 * on the tick path, and every part of the gathering may fail alone: that field is then left out.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';

export const MONITOR_INTERVAL_MS = 60_000;

export interface MonitorFacts {
  readonly tasksLoaded: number;
  readonly tasksApplicable: number;
  readonly runningJobs: number;
  /** The latest a tick woke after its second began, since the previous record (ms). */
  readonly tickLateMaxMs?: number;
}

export interface MonitorOptions {
  readonly log: Logger;
  readonly intervalMs?: number;
  readonly facts: () => MonitorFacts;
}

interface Sample {
  readonly wallMs: number;
  readonly cpu: NodeJS.CpuUsage;
}

export class Monitor {
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private last: Sample = sample();

  constructor(private readonly options: MonitorOptions) {
    this.intervalMs = options.intervalMs ?? MONITOR_INTERVAL_MS;
    if (!(this.intervalMs > 0)) throw new Error(`monitor intervalMs must be above 0 (got ${this.intervalMs}); the default is ${MONITOR_INTERVAL_MS}`);
  }

  start(): void {
    this.stop();
    this.last = sample();
    this.timer = setInterval(() => void this.report(), this.intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async report(): Promise<void> {
    const now = sample();
    const cpuPercent = daemonCpuPercent(this.last, now);
    this.last = now;
    const memory = await hostMemory();
    if (this.timer === undefined) return; // stopped while gathering: stop() means no more records
    // memoryUsage.rss() is memoryUsage().rss without walking the V8 heap spaces.
    const own = { rssBytes: process.memoryUsage.rss(), cpuPercent };
    this.options.log.info({ ...facts(this.options.facts), ...own, ...hostLoad(), ...memory }, 'monitor');
  }
}

function sample(): Sample {
  return { wallMs: performance.now(), cpu: process.cpuUsage() };
}

/** process.cpuUsage delta over wall time: 100 is one core busy for the whole interval. */
function daemonCpuPercent(from: Sample, to: Sample): number {
  const cpuMs = (to.cpu.user - from.cpu.user + to.cpu.system - from.cpu.system) / 1000;
  return round((cpuMs / Math.max(to.wallMs - from.wallMs, 1)) * 100);
}

function facts(read: () => MonitorFacts): Partial<MonitorFacts> {
  try {
    const { tasksLoaded, tasksApplicable, runningJobs, tickLateMaxMs } = read();
    return { tasksLoaded, tasksApplicable, runningJobs, tickLateMaxMs };
  } catch {
    return {};
  }
}

/**
 * os.loadavg(), not si.currentLoad(): on Linux currentLoad runs execSync('cat /proc/stat | grep cpu'),
 * which held the event loop 6-18 ms per call here; loadavg() is one sysinfo(2) call (~2 µs).
 */
function hostLoad(): { load1: number; load5: number; load15: number } {
  const [load1, load5, load15] = os.loadavg();
  return { load1: round(load1), load5: round(load5), load15: round(load15) };
}

/** si.mem() reads /proc/meminfo with async fs.readFile on Linux (< 1.2 ms of the loop per call, measured). */
async function hostMemory(): Promise<{ memTotalBytes?: number; memAvailableBytes?: number }> {
  try {
    // Loaded at the first record, not at start: it costs ~25 ms that `gotorch start` need not wait for.
    const { default: si } = await import('systeminformation');
    const { total, available } = await si.mem();
    return Number.isFinite(total) && Number.isFinite(available) ? { memTotalBytes: total, memAvailableBytes: available } : {};
  } catch {
    return {};
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
