/**
 * SPEC §8 run policy end to end, on a real daemon with real processes: retries= (three attempts of one
 * scheduled second, GOTORCH_ATTEMPT, in history), overlap=queue and overlap=replace (max never
 * exceeded as the jobs themselves see it; the replaced run's whole process group gone).
 */
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAlive, waitFor } from '../helpers/processes.js';
import { sandboxes, type LogRecord } from './sandbox.js';

const sandbox = sandboxes();

const lines = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

/** The most runs alive at once, by the daemon's own start and end times (an end before a start at the same ms). */
function mostAtOnce(runs: readonly LogRecord[]): number {
  const events = runs.flatMap((run) => [
    { at: Number(run.startedAt), delta: 1 },
    { at: Number(run.startedAt) + Number(run.durationMs), delta: -1 },
  ]);
  events.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let alive = 0;
  let most = 0;
  for (const event of events) most = Math.max(most, (alive += event.delta));
  return most;
}

/** A job that proves it ran alone: it takes a lock folder (mkdir is atomic) and says OVERLAP if it cannot. */
const LOCKED_JOB = (seconds: number): string =>
  `-- sh -c 'if mkdir lock 2>/dev/null; then echo "ran $GOTORCH_SCHEDULED_AT" >> trace; sleep ${seconds}; rmdir lock; else echo "OVERLAP $GOTORCH_SCHEDULED_AT" >> trace; fi'`;

describe('run policy against a daemon (SPEC §8)', () => {
  it('retries=2: three attempts for one scheduled second, delays doubling, each with GOTORCH_ATTEMPT; history shows them', async () => {
    const box = sandbox();
    box.write([
      `0 0 0 1 1 * * 1 cron name=flaky retries=2 retry_delay=1s -- sh -c 'echo "$GOTORCH_ATTEMPT $GOTORCH_SCHEDULED_AT $(date +%s%N)" >> attempts; exit 3'`,
      '0 0 0 1 1 * * 1 cron name=waits retries=1 retry_delay=1m exit 3',
    ]);
    await box.start();
    expect((await box.cli('run', 'flaky')).code).toBe(0);
    const records = await box.waitForFinished('flaky', 3, 20_000);
    const attempts = lines(path.join(box.dir, 'attempts')).map((line) => line.split(' ').map(Number));
    expect(attempts.map(([attempt]) => attempt)).toEqual([1, 2, 3]);
    expect(new Set(attempts.map(([, second]) => second)).size).toBe(1);
    // retry_delay=1s, then 2s: measured between the jobs' own clocks (a loaded box only adds to them).
    const gaps = attempts.slice(1).map(([, , ns], index) => (ns - attempts[index][2]) / 1e6);
    expect(gaps[0]).toBeGreaterThanOrEqual(1000);
    expect(gaps[1]).toBeGreaterThanOrEqual(2000);
    expect(records.map((record) => [record.attempt, record.trigger, record.exitCode, record.retryInMs ?? null])).toEqual([
      [1, 'manual', 3, 1000],
      [2, 'retry', 3, 2000],
      [3, 'retry', 3, null],
    ]);
    await box.waitForLog('run failed: attempt 3 of 3 in 2 s', { task: 'flaky' });
    const history = (await box.cli('history', 'flaky', '--json')).stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as { attempt: number; result: string });
    expect(history.map((row) => [row.attempt, row.result])).toEqual([
      [3, 'exit 3'],
      [2, 'exit 3'],
      [1, 'exit 3'],
    ]);
    // A stop while a retry waits (a minute, so the stop surely comes first): it is not started, and says so.
    expect((await box.cli('run', 'waits')).code).toBe(0);
    await box.waitForFinished('waits', 1, 10_000);
    await box.waitForLog('run failed: attempt 2 of 2 in 60 s', { task: 'waits' });
    expect((await box.cli('stop')).code).toBe(0);
    expect(box.daemonRecords().some((record) => record.msg === 'retry not started: shutting down' && record.task === 'waits')).toBe(true);
    expect(box.finishedRuns('waits')).toHaveLength(1);
  }, 60_000);

  it('overlap=queue: a fire waits for the running one, starts right after it (late), the next is skipped; never two at once', async () => {
    const box = sandbox();
    box.write([`* * * * * * * 1 cron name=queued overlap=queue ${LOCKED_JOB(2.5)}`]);
    await box.start();
    const records = await box.waitForFinished('queued', 4, 30_000);
    expect((await box.cli('stop')).code).toBe(0);
    const trace = lines(path.join(box.dir, 'trace'));
    expect(trace.filter((line) => line.startsWith('OVERLAP'))).toEqual([]);
    expect(mostAtOnce(box.finishedRuns('queued'))).toBe(1);
    // Back to back: each waiting fire started as the one before it ended, so after the first every one is late.
    for (const [index, record] of records.slice(1, 4).entries()) {
      const previous = records[index];
      expect(Number(record.startedAt) - (Number(previous.startedAt) + Number(previous.durationMs))).toBeLessThan(1000);
      expect(Number(record.lateMs)).toBeGreaterThan(1000);
    }
    const skips = box.runRecords().filter((record) => record.msg === 'fire skipped' && record.task === 'queued');
    expect(skips.length).toBeGreaterThan(0);
    expect(new Set(skips.map((record) => record.reason))).toEqual(new Set(['queue full']));
  }, 60_000);

  it('overlap=replace: the oldest run is TERMed, KILLed after grace with its whole process group, and the newest fire starts once it is gone', async () => {
    const box = sandbox();
    // The job ignores TERM (as does its child, which inherits that): only the KILL after grace=1s ends them.
    box.write(['* * * * * * * 1 cron name=replaced overlap=replace grace=1s trap "" TERM; sleep 60 & echo "$GOTORCH_SCHEDULED_AT $$ $!" >> kids; wait; wait']);
    await box.start();
    const records = await box.waitForFinished('replaced', 3, 30_000);
    const kids = () => lines(path.join(box.dir, 'kids')).map((line) => line.split(' ').map(Number));
    await waitFor(() => kids().length >= 4, 10_000, 'a fourth run');
    // Every run that was replaced is gone with its child; only the newest is alive.
    const [newest, ...older] = [...kids()].reverse();
    const replacedSeconds = new Set(box.finishedRuns('replaced').map((record) => Number(record.scheduledAt)));
    for (const [second, shell, child] of older) {
      if (!replacedSeconds.has(second)) continue;
      expect(isAlive(shell), `the replaced run of ${second}`).toBe(false);
      expect(isAlive(child), `the child of the replaced run of ${second}`).toBe(false);
    }
    expect(isAlive(newest[2])).toBe(true);
    expect(records.slice(0, 3).map((record) => [record.replaced, record.signal, record.exitCode])).toEqual(Array(3).fill([true, 'SIGKILL', null]));
    expect(mostAtOnce(box.finishedRuns('replaced'))).toBe(1);
    const history = (await box.cli('history', 'replaced', '--json')).stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as { result: string; reason: string | null });
    expect(history.filter((row) => row.result === 'replaced').length).toBeGreaterThanOrEqual(3);
    expect(history.filter((row) => row.result === 'skipped').every((row) => row.reason === 'superseded')).toBe(true);
    expect((await box.cli('stop')).code).toBe(0);
    expect(isAlive(newest[2])).toBe(false);
  }, 60_000);
});
