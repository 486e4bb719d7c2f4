import { performance } from 'node:perf_hooks';
import pino from 'pino';
import si from 'systeminformation';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Monitor, type MonitorFacts } from '../../src/daemon/monitor.js';
import { waitFor } from '../helpers/processes.js';

type MonitorRecord = Record<string, unknown>;

const FACTS: MonitorFacts = { tasksLoaded: 7, tasksApplicable: 5, runningJobs: 2 };
const OWN_AND_HOST = ['rssBytes', 'cpuPercent', 'load1', 'load5', 'load15'];
const MEMORY = ['memTotalBytes', 'memAvailableBytes'];

let monitor: Monitor | undefined;
afterEach(() => {
  monitor?.stop();
  vi.restoreAllMocks();
});

function startMonitor(intervalMs: number, facts: () => MonitorFacts = () => FACTS): MonitorRecord[] {
  const records: MonitorRecord[] = [];
  const log = pino({ base: null }, { write: (line: string) => void records.push(JSON.parse(line) as MonitorRecord) });
  monitor = new Monitor({ log, intervalMs, facts });
  monitor.start();
  return records;
}

function expectNumbers(record: MonitorRecord, fields: readonly string[]): void {
  for (const field of fields) {
    expect(typeof record[field], field).toBe('number');
    expect(Number.isFinite(record[field]), field).toBe(true);
  }
}

describe('Monitor', () => {
  it('logs one info "monitor" record per interval with the facts, its own usage and the host', async () => {
    const records = startMonitor(50);
    const [record] = await waitFor(() => (records.length > 0 ? records : undefined), 5000, 'a monitor record');
    expect(record).toMatchObject({ level: 30, msg: 'monitor', ...FACTS });
    expectNumbers(record, [...OWN_AND_HOST, ...MEMORY]);
    expect(record.rssBytes as number).toBeGreaterThan(1024 * 1024);
    expect(record.cpuPercent as number).toBeGreaterThanOrEqual(0);
    expect(record.memAvailableBytes as number).toBeLessThanOrEqual(record.memTotalBytes as number);
  });

  it('stop() stops it, including a record being gathered', async () => {
    const records = startMonitor(50);
    await waitFor(() => records.length >= 2, 5000, 'two monitor records');
    monitor!.stop();
    const count = records.length;
    await new Promise((resolve) => setTimeout(resolve, 300)); // six intervals: nothing may come
    expect(records).toHaveLength(count);
  });

  it('leaves out what failed: host memory when si.mem() rejects, the facts when they throw', async () => {
    vi.spyOn(si, 'mem').mockRejectedValue(new Error('no /proc/meminfo'));
    const records = startMonitor(50, () => {
      throw new Error('not loaded yet');
    });
    const [record] = await waitFor(() => (records.length > 0 ? records : undefined), 5000, 'a monitor record');
    expectNumbers(record, OWN_AND_HOST);
    for (const field of [...MEMORY, ...Object.keys(FACTS)]) expect(record, field).not.toHaveProperty(field);
  });

  it('never holds the event loop: a 10 ms interval sees no gap over 100 ms while it gathers', async () => {
    let last = performance.now();
    let maxGapMs = 0;
    const probe = setInterval(() => {
      const now = performance.now();
      maxGapMs = Math.max(maxGapMs, now - last);
      last = now;
    }, 10);
    try {
      const records = startMonitor(20);
      await waitFor(() => records.length >= 40, 10_000, '40 monitor records');
      console.log(`monitor: ${records.length} records gathered; max gap of a 10 ms interval ${maxGapMs.toFixed(1)} ms`);
    } finally {
      clearInterval(probe);
    }
    // Quiet: 13-16 ms. A loaded 2-core CI box adds up to ~50 ms of scheduling noise; a blocking
    // gatherer (one that shells out synchronously for each of 40 records) costs far more than 100.
    expect(maxGapMs).toBeLessThan(100);
  });
});
