/** The metrics as a subscriber (src/metrics/run-metrics.ts): real run events, a fake daemon view, the text read back. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { TaskResults } from '../../src/daemon/task-results.js';
import { RunEvents, type HookOutcome, type RunStarted } from '../../src/events.js';
import { RunMetrics, type DaemonView } from '../../src/metrics/run-metrics.js';
import { NO_JITTER, type JitterOf } from '../../src/planner/jitter.js';
import { RUN_DURATION_BUCKETS, SHARD_TASKS } from '../../src/metrics/task-shard.js';
import type { RunRecord } from '../../src/supervisor/run.js';
import type { Task } from '../../src/tasks/types.js';
import { samples, seriesKey as key, seriesOfTask } from '../helpers/exposition.js';
import { tasksFrom, utc } from '../helpers/tasks.js';
import { PROMTOOL } from './metrics-support.js';

const NOW = utc('2026-06-01T10:00:10') * 1000;

/** A daemon whose schedule the test swaps, as a reload does; `jitterOf` gives this host's offsets (SPEC §8). */
function harness(lines: string, digest = 'one', jitterOf: JitterOf = NO_JITTER) {
  const events = new RunEvents();
  const results = new TaskResults(events);
  let schedule = { loaded: { tasks: tasksFrom(lines), digest }, applicable: tasksFrom(lines), jitterOf };
  const clock = { now: () => NOW };
  const view: DaemonView = { schedule: () => schedule, results, clock };
  const metrics = new RunMetrics(view, events);
  const task = (name: string): Task => schedule.applicable.find((candidate) => candidate.id === name)!;
  return {
    events,
    metrics,
    clock,
    task,
    /** A reload: the new file applies, then the event says so. */
    reload(next: string, nextDigest: string) {
      const tasks = tasksFrom(next);
      schedule = { loaded: { tasks, digest: nextDigest }, applicable: tasks.filter((candidate) => !candidate.hosts.includes('elsewhere')), jitterOf };
      events.publish({ type: 'reload-applied', trigger: 'test', summary: '', fromSecond: 0, digest: nextDigest, tasks: tasks.length, applicable: schedule.applicable.length });
    },
    async scrape(): Promise<Map<string, number>> {
      await events.drained();
      return samples((await metrics.render()).toString());
    },
  };
}

type Harness = ReturnType<typeof harness>;

function start(h: Harness, name: string, fields: Partial<RunStarted> = {}): void {
  const second = NOW / 1000 - 5;
  h.events.publish({ type: 'run-started', task: h.task(name), run: `${name}-run`, pid: 100, role: 'job', trigger: 'schedule', attempt: 1, scheduledAt: second, startedAt: second * 1000 + 20, adopted: false, ...fields });
}

function finish(h: Harness, name: string, fields: Partial<RunRecord> = {}): void {
  const second = NOW / 1000 - 5;
  const record: RunRecord = { task: name, run: `${name}-run`, trigger: 'schedule', attempt: 1, jobPid: 100, scheduledAt: second, startedAt: second * 1000 + 20, lateMs: 20, durationMs: 300, exitCode: 0, signal: null, timedOut: false, killed: false, bytesKept: 0, bytesDropped: 0, error: null, ...fields };
  h.events.publish({ type: 'run-finished', task: h.task(name), role: h.task(name).type === 'daemon' ? 'daemon' : 'job', record });
}

const FILE = ['* * * * * * * 1 cron name=a true', '* * * * * * * 1 cron name=b true', '0 0 3 1 jan * * 1 cron name=idle true', '* * * * * * * 1 daemon name=d sleep 9'].join('\n');

describe('run metrics from the run events (SPEC §9)', () => {
  it('counts runs by result, skips by reason and retries; running instances and the last exit code; nothing for a task that never ran', async () => {
    const h = harness(FILE);
    start(h, 'a');
    finish(h, 'a');
    start(h, 'a');
    finish(h, 'a', { exitCode: 2 });
    start(h, 'b');
    finish(h, 'b', { exitCode: null, signal: 'SIGKILL' });
    start(h, 'b', { trigger: 'retry', attempt: 2 });
    finish(h, 'b', { exitCode: null, signal: 'SIGTERM', timedOut: true });
    start(h, 'b', { pid: null });
    finish(h, 'b', { jobPid: null, exitCode: null, error: 'spawn /bin/sh ENOENT' });
    start(h, 'b');
    for (const reason of ['max', 'max', 'shutting down'] as const) h.events.publish({ type: 'fire-skipped', task: h.task('a'), scheduledAt: 1, reason, running: 1, starting: 0, at: NOW });
    const found = await h.scrape();
    const expected: [string, Record<string, string>, number][] = [
      ['gotorch_runs_total', { task: 'a', result: 'ok' }, 1],
      ['gotorch_runs_total', { task: 'a', result: 'exit 2' }, 1],
      ['gotorch_runs_total', { task: 'b', result: 'ok' }, 0],
      ['gotorch_runs_total', { task: 'b', result: 'signal SIGKILL' }, 1],
      ['gotorch_runs_total', { task: 'b', result: 'timeout' }, 1],
      ['gotorch_runs_total', { task: 'b', result: 'spawn error' }, 1],
      ['gotorch_fires_skipped_total', { task: 'a', reason: 'max' }, 2],
      ['gotorch_fires_skipped_total', { task: 'a', reason: 'shutting down' }, 1],
      ['gotorch_retries_total', { task: 'a' }, 0],
      ['gotorch_retries_total', { task: 'b' }, 1],
      ['gotorch_running_instances', { task: 'a' }, 0],
      ['gotorch_running_instances', { task: 'b' }, 1],
      ['gotorch_last_exit_code', { task: 'a' }, 2],
      // The shell's $?: 128 + N for signal N; -1 for a run that could not start.
      ['gotorch_last_exit_code', { task: 'b' }, -1],
    ];
    for (const [name, labels, value] of expected) expect(found.get(key(name, labels)), key(name, labels)).toBe(value);
    expect(seriesOfTask(found, 'idle')).toEqual([]);
    expect(seriesOfTask(found, 'd')).toEqual([]);
    // Runs ended by a signal: 128 + N.
    finish(h, 'b', { exitCode: null, signal: 'SIGKILL' });
    expect((await h.scrape()).get(key('gotorch_last_exit_code', { task: 'b' }))).toBe(137);
  });

  it('counts daemon-task instances restarted after an unexpected exit, not those stopped on purpose or left down', async () => {
    const h = harness(FILE);
    const exited = (expected: boolean, restartInMs: number | null): void => {
      start(h, 'd', { role: 'daemon' });
      finish(h, 'd', { exitCode: 1 });
      const record = { task: 'd', run: 'd-run', exitCode: 1 } as RunRecord;
      h.events.publish({ type: 'daemon-exited', task: h.task('d'), record, expected, restartInMs });
    };
    exited(false, 1000);
    exited(false, 2000);
    exited(true, null);
    exited(false, null);
    const found = await h.scrape();
    expect(found.get(key('gotorch_daemon_restarts_total', { task: 'd' }))).toBe(2);
    expect(found.get(key('gotorch_runs_total', { task: 'd', result: 'exit 1' }))).toBe(4);
    // Cron tasks have no restarts series.
    start(h, 'a');
    expect((await h.scrape()).has(key('gotorch_daemon_restarts_total', { task: 'a' }))).toBe(false);
  });

  it('counts hook and ping outcomes by hook and result (SPEC §8), from 0 for the hooks a task has; promtool accepts them; a removed task loses them', async () => {
    const h = harness(['* * * * * * * 1 cron name=a on_failure=http://127.0.0.1:9/hook ping=http://127.0.0.1:9/ping true', '* * * * * * * 1 cron name=b on_success="logger ok" true', '0 0 3 1 jan * * 1 cron name=idle true'].join('\n'));
    const outcome = (name: string, fields: Pick<HookOutcome, 'hook' | 'result'>): void =>
      h.events.publish({ type: 'hook-outcome', task: h.task(name), run: `${name}-run`, via: 'url', ping: null, target: null, status: 200, exitCode: null, tries: 1, ms: 3, error: null, output: null, suppressed: 0, ...fields });
    start(h, 'b');
    outcome('a', { hook: 'on_failure', result: 'sent' });
    outcome('a', { hook: 'on_failure', result: 'suppressed' });
    outcome('a', { hook: 'on_failure', result: 'suppressed' });
    outcome('a', { hook: 'ping', result: 'failed' });
    outcome('a', { hook: 'ping', result: 'dropped' });
    const found = await h.scrape();
    const hooks = (name: string) => Object.fromEntries([...found].filter(([key]) => key.startsWith('gotorch_hooks_total{') && key.includes(`task="${name}"`)).map(([key, value]) => [key.replace(/^.*hook="([^"]+)",result="([^"]+)".*$/, '$1 $2'), value]));
    expect(hooks('a')).toEqual({ 'on_failure sent': 1, 'on_failure failed': 0, 'on_failure suppressed': 2, 'ping sent': 0, 'ping failed': 1, 'ping dropped': 1 });
    expect(hooks('b')).toEqual({ 'on_success sent': 0, 'on_success failed': 0 });
    // A task without hooks has no such series.
    start(h, 'idle');
    expect(hooks('idle')).toEqual({});
    if (PROMTOOL !== undefined) {
      const checked = spawnSync(PROMTOOL, ['check', 'metrics'], { input: (await h.metrics.render()).toString(), encoding: 'utf8' });
      expect({ status: checked.status, stdout: checked.stdout, stderr: checked.stderr }).toEqual({ status: 0, stdout: '', stderr: '' });
    } else expect(process.env.CI, 'promtool is required under CI').toBeUndefined();
    h.reload(['* * * * * * * 1 cron name=b true'].join('\n'), 'two');
    expect(seriesOfTask(await h.scrape(), 'a')).toEqual([]);
  });

  it('puts run durations in buckets from 1 s to 1 h', async () => {
    const h = harness(FILE);
    for (const durationMs of [500, 7_000, 4_000_000]) {
      start(h, 'a');
      finish(h, 'a', { durationMs });
    }
    const found = await h.scrape();
    const bucket = (le: string): number | undefined => found.get(key('gotorch_run_duration_seconds_bucket', { task: 'a', le }));
    expect(RUN_DURATION_BUCKETS).toEqual([1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600]);
    expect(RUN_DURATION_BUCKETS.map((le) => bucket(String(le)))).toEqual([1, 1, 2, 2, 2, 2, 2, 2, 2, 2]);
    expect(bucket('+Inf')).toBe(3);
    expect(found.get(key('gotorch_run_duration_seconds_sum', { task: 'a' }))).toBe(4007.5);
    expect(found.get(key('gotorch_run_duration_seconds_count', { task: 'a' }))).toBe(3);
  });

  it('a reload keeps the series of the tasks it keeps and drops those of the tasks it removes, whose late runs are not counted', async () => {
    const h = harness(FILE, 'one');
    for (const name of ['a', 'b']) {
      start(h, name);
      finish(h, name);
    }
    h.events.publish({ type: 'reload-rejected', trigger: 'test', errors: ['x'] });
    let found = await h.scrape();
    expect(found.get(key('gotorch_task_file_info', { digest: 'one' }))).toBe(1);
    expect(found.get('gotorch_tasks_loaded')).toBe(4);
    start(h, 'b'); // still running when the reload removes b
    // a changes its schedule (same name), b moves to another host, idle is deleted.
    h.reload(['*/5 * * * * * * 1 cron name=a true', '* * * * * * elsewhere 1 cron name=b true'].join('\n'), 'two');
    found = await h.scrape();
    expect(found.get(key('gotorch_runs_total', { task: 'a', result: 'ok' }))).toBe(1);
    expect(seriesOfTask(found, 'b')).toEqual([]);
    expect(found.has(key('gotorch_task_file_info', { digest: 'one' }))).toBe(false);
    expect(found.get(key('gotorch_task_file_info', { digest: 'two' }))).toBe(1);
    expect([found.get('gotorch_tasks_loaded'), found.get('gotorch_tasks_applicable')]).toEqual([2, 1]);
    expect([found.get(key('gotorch_reloads_total', { result: 'applied' })), found.get(key('gotorch_reloads_total', { result: 'rejected' }))]).toEqual([1, 1]);
    // b's job ends after the reload: its series stay gone.
    h.events.publish({ type: 'run-finished', task: tasksFrom('* * * * * * * 1 cron name=b true')[0], role: 'job', record: { task: 'b', exitCode: 0 } as RunRecord });
    expect(seriesOfTask(await h.scrape(), 'b')).toEqual([]);
  });

  it('next run and last success as Unix seconds; the next run moves on once it passed', async () => {
    const h = harness(['0 30 * * * * * 1 cron name=half true', ...FILE.split('\n')].join('\n'));
    start(h, 'half');
    finish(h, 'half', { startedAt: NOW - 4000, durationMs: 1500 });
    start(h, 'idle');
    finish(h, 'idle', { exitCode: 1 });
    let found = await h.scrape();
    expect(found.get(key('gotorch_next_run_timestamp_seconds', { task: 'half' }))).toBe(utc('2026-06-01T10:30:00'));
    expect(found.get(key('gotorch_next_run_timestamp_seconds', { task: 'idle' }))).toBe(utc('2027-01-01T03:00:00'));
    expect(found.get(key('gotorch_last_success_timestamp_seconds', { task: 'half' }))).toBe((NOW - 2500) / 1000);
    expect(found.has(key('gotorch_last_success_timestamp_seconds', { task: 'idle' }))).toBe(false);
    h.clock.now = () => utc('2026-06-01T10:30:00') * 1000;
    found = await h.scrape();
    expect(found.get(key('gotorch_next_run_timestamp_seconds', { task: 'half' }))).toBe(utc('2026-06-01T11:30:00'));
  });

  it('the next run of a task with jitter is its shifted fire (SPEC §8)', async () => {
    const h = harness('0 30 * * * * * 1 cron name=half jitter=1m true', 'one', (task) => (task.options.jitterS > 0 ? 37 : 0));
    start(h, 'half');
    expect((await h.scrape()).get(key('gotorch_next_run_timestamp_seconds', { task: 'half' }))).toBe(utc('2026-06-01T10:30:37'));
    // Past the schedule's second but before the shifted one: still this hour's fire.
    h.clock.now = () => utc('2026-06-01T10:30:10') * 1000;
    expect((await h.scrape()).get(key('gotorch_next_run_timestamp_seconds', { task: 'half' }))).toBe(utc('2026-06-01T10:30:37'));
    h.clock.now = () => utc('2026-06-01T10:30:37') * 1000;
    expect((await h.scrape()).get(key('gotorch_next_run_timestamp_seconds', { task: 'half' }))).toBe(utc('2026-06-01T11:30:37'));
  });

  it('tick lateness as the hook reports it; start lateness of scheduled jobs only', async () => {
    const h = harness(FILE);
    for (const lateMs of [0, 3, 30]) h.metrics.observeTick(lateMs);
    start(h, 'a', { scheduledAt: 100, startedAt: 100_040 });
    start(h, 'a', { scheduledAt: 100, startedAt: 102_000, trigger: 'catch-up' });
    start(h, 'a', { scheduledAt: 100, startedAt: 100_900, trigger: 'manual' });
    start(h, 'a', { scheduledAt: 100, startedAt: 50_000, adopted: true });
    start(h, 'd', { scheduledAt: 100, startedAt: 100_900, role: 'daemon' });
    const found = await h.scrape();
    const tick = (le: string): number | undefined => found.get(key('gotorch_tick_lateness_seconds_bucket', { le }));
    expect([tick('0.001'), tick('0.005'), tick('0.02'), tick('0.05'), tick('+Inf')]).toEqual([1, 2, 2, 3, 3]);
    const startLate = (le: string): number | undefined => found.get(key('gotorch_start_lateness_seconds_bucket', { le }));
    expect([startLate('0.025'), startLate('0.05'), startLate('2.5'), found.get('gotorch_start_lateness_seconds_count')]).toEqual([0, 1, 2, 2]);
    // prom-client's own process metrics come along (SPEC §9: the process's CPU and memory).
    expect(found.get('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(found.has('process_cpu_seconds_total')).toBe(true);
  });

  it('renders many tasks shard by shard, letting timers run in between, with each family stated once', async () => {
    const names = Array.from({ length: SHARD_TASKS * 12 + 3 }, (_, index) => `t${index}`);
    const h = harness(names.map((name) => `* * * * * * * 1 cron name=${name} true`).join('\n'));
    for (const name of names) {
      start(h, name);
      finish(h, name, { durationMs: 2000 });
    }
    await h.events.drained();
    let timerRan = false;
    setTimeout(() => (timerRan = true), 0);
    const text = (await h.metrics.render()).toString();
    // A render of 300 histograms takes far longer than one slice: the timer (a tick) got its turn.
    expect(timerRan).toBe(true);
    const found = samples(text);
    for (const name of names) expect(found.get(key('gotorch_runs_total', { task: name, result: 'ok' })), name).toBe(1);
    const helps = text.split('\n').filter((line) => line.startsWith('# HELP gotorch_'));
    expect(new Set(helps).size).toBe(helps.length);
    expect(helps.map((line) => line.split(' ')[2])).toEqual(expect.arrayContaining(['gotorch_runs_total', 'gotorch_run_duration_seconds', 'gotorch_next_run_timestamp_seconds']));
    // Overlapping scrapes share one rendering.
    const [first, second] = [h.metrics.render(), h.metrics.render()];
    expect(first).toBe(second);
    await first;
  });
});
