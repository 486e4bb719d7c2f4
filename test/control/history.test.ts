/** `history` and `logs` (SPEC §7) against a real daemon: what they print is what runs.log holds. */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runResult } from '../../src/supervisor/run-result.js';
import { runCli, waitFor } from '../helpers/processes.js';
import { readJsonLines, readRotatedLog, sandboxes, type LogRecord } from './sandbox.js';

const sandbox = sandboxes();

interface JsonRow {
  task: string;
  run: string | null;
  scheduledAt: number;
  result: string;
  reason: string | null;
  trigger: string | null;
  attempt: number | null;
  durationMs: number | null;
  lateMs: number | null;
}

/** The rows runs.log makes, worked out here: a run when it finished, a skipped fire at its second; of two alike the later written first. */
function expectedRows(records: readonly LogRecord[]): Omit<JsonRow, 'reason'>[] {
  const rows = records.flatMap((record, index) => {
    if (record.msg === 'run finished') {
      const row = { task: String(record.task), run: String(record.run), scheduledAt: Number(record.scheduledAt), result: runResult(record as never), trigger: String(record.trigger), attempt: Number(record.attempt), durationMs: Number(record.durationMs), lateMs: Number(record.lateMs) };
      return [{ at: Number(record.time), index, row }];
    }
    if (record.msg !== 'fire skipped') return [];
    const seconds = Array.isArray(record.seconds) ? (record.seconds as number[]) : [Number(record.scheduledAt)];
    return seconds.map((second) => ({ at: second * 1000, index, row: { task: String(record.task), run: null, scheduledAt: second, result: 'skipped', trigger: null, attempt: null, durationMs: null, lateMs: null } }));
  });
  return rows.sort((a, b) => b.at - a.at || b.index - a.index).map(({ row }) => row);
}

const jsonRows = (stdout: string): JsonRow[] => stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as JsonRow);

describe('history and logs against a daemon', () => {
  it('ok, failing (exit 3), skipped by max, manual and retried runs: the rows runs.log holds, with the daemon running and stopped', async () => {
    const box = sandbox();
    box.write([
      '* * * * * * * 1 cron name=ok echo "hello $GOTORCH_SCHEDULED_AT"; echo warn >&2',
      '* * * * * * * 1 cron name=fail echo failing; exit 3',
      '* * * * * * * 1 cron name=slow sleep 3',
      '0 0 0 1 1 * * 1 cron name=manual echo by hand',
      '0 0 0 1 1 * * 1 cron name=retried retries=1 retry_delay=1s -- sh -c \'echo "attempt $GOTORCH_ATTEMPT"; exit 4\'',
    ]);
    await box.start();
    await box.waitForFinished('ok', 2, 10_000);
    await box.waitForFinished('fail', 2, 10_000);
    expect((await box.cli('run', 'manual')).code).toBe(0);
    await box.waitForFinished('manual', 1, 10_000);
    expect((await box.cli('run', 'retried')).code).toBe(0);
    await box.waitForFinished('retried', 2, 10_000);
    await waitFor(() => box.runRecords().some((record) => record.task === 'slow' && record.msg === 'fire skipped'), 10_000, 'a skipped fire of slow');

    // With the daemon running, from the file it is writing.
    const live = jsonRows((await box.cli('history', 'ok', '--json', '--limit', '1')).stdout);
    expect(live).toHaveLength(1);
    expect(box.finishedRuns('ok').map((record) => record.run)).toContain(live[0].run);

    expect((await box.cli('stop')).code).toBe(0);
    const records = readJsonLines(box.runsLog);
    const expected = expectedRows(records);
    const json = await box.cli('history', '--json', '--limit', '100000');
    expect(json.code).toBe(0);
    const rows = jsonRows(json.stdout);
    expect(rows.map(({ task, run, scheduledAt, result, trigger, attempt, durationMs, lateMs }) => ({ task, run, scheduledAt, result, trigger, attempt, durationMs, lateMs }))).toEqual(expected);
    expect(rows.filter((row) => row.result === 'skipped').every((row) => row.task === 'slow' && row.reason === 'max')).toBe(true);
    expect(rows.filter((row) => row.task === 'slow' && row.result === 'skipped').length).toBeGreaterThan(0);
    expect(rows.find((row) => row.task === 'manual')).toMatchObject({ trigger: 'manual', attempt: 1, result: 'ok' });
    // Every run of fail exits 3, but the newest may be one the stop killed (it started just before the stop came).
    const [newestFail, ...olderFails] = rows.filter((row) => row.task === 'fail');
    expect(new Set(olderFails.map((row) => row.result))).toEqual(new Set(['exit 3']));
    expect(['exit 3', 'killed']).toContain(newestFail.result);
    // SPEC §8: both attempts of one scheduled second, newest first.
    const retried = rows.filter((row) => row.task === 'retried');
    expect(retried.map(({ trigger, attempt, result }) => ({ trigger, attempt, result }))).toEqual([
      { trigger: 'retry', attempt: 2, result: 'exit 4' },
      { trigger: 'manual', attempt: 1, result: 'exit 4' },
    ]);
    expect(retried[0].scheduledAt).toBe(retried[1].scheduledAt);

    // The table shows the same rows, in the same order.
    const table = await box.cli('history', '--limit', '100000');
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^SCHEDULED\s+TASK\s+RUN\s+RESULT\s+TRIGGER\s+ATTEMPT\s+DURATION\s+LATE$/);
    expect(lines.slice(1).map((line) => line.split(/ {2,}/).slice(1, 4))).toEqual(rows.map((row) => [row.task, row.run ?? '-', row.result === 'skipped' ? 'skipped (max)' : row.result]));

    const failed = jsonRows((await box.cli('history', '--failed', '--json', '--limit', '100000')).stdout);
    expect(failed.map((row) => row.run)).toEqual(expected.filter((row) => (row.task === 'fail' || row.task === 'retried') && row.result !== 'killed').map((row) => row.run)); // a kill is no failure
    const slow = jsonRows((await box.cli('history', 'slow', '--json', '--limit', '3')).stdout);
    expect(slow.map((row) => row.scheduledAt)).toEqual(expected.filter((row) => row.task === 'slow').slice(0, 3).map((row) => row.scheduledAt));

    // logs: the last run's lines, as runs.log has them.
    const lastOk = box.finishedRuns('ok').at(-1)!;
    const okLogs = await box.cli('logs', 'ok');
    expect(okLogs.code).toBe(0);
    const okLines = okLogs.stdout.trimEnd().split('\n');
    expect(okLines[0]).toMatch(new RegExp(`^==> ok run ${String(lastOk.run)} \\(scheduled \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d [+-]\\d\\d:\\d\\d\\) <==$`));
    expect(okLines.slice(1, -1).map((line) => line.replace(/^\S+ \S+ \S+ /, ''))).toEqual(
      records.filter((record) => record.run === lastOk.run && typeof record.line === 'string').map((record) => `${String(record.stream).padEnd(6)} ${String(record.line)}`),
    );
    expect(okLines.slice(1, -1).map((line) => line.replace(/^\S+ \S+ \S+ /, ''))).toEqual([`stdout hello ${String(lastOk.scheduledAt)}`, 'stderr warn']);
    expect(okLines.at(-1)).toMatch(new RegExp(`^==> ok run ${String(lastOk.run)}: ok after \\d+ms <==$`));
    expect((await box.cli('logs', 'manual', '--json')).stdout).toContain('"line":"by hand"');
    expect((await box.cli('logs', 'fail')).stdout).toMatch(/: exit 3 after /);
    expect((await box.cli('logs', 'retried')).stdout).toContain('stdout attempt 2');
  });

  it('logs --follow keeps printing a task\'s new lines across a rotation of runs.log, and ends on SIGINT with exit 0', async () => {
    const box = sandbox();
    box.write([
      '* * * * * * * 1 cron name=ticker echo "tick $GOTORCH_SCHEDULED_AT"',
      // About 12 MB of records: past the 10 MiB at which runs.log is rotated.
      "0 0 0 1 1 * * 1 cron name=big log_limit=20M head -c 11000000 /dev/zero | tr '\\0' x | fold -w 1000",
    ]);
    await box.start();
    await box.waitForFinished('ticker', 1, 10_000);
    const follow = runCli([...box.globalArgs, 'logs', 'ticker', '--follow', '--json']);
    box.track(follow.child.pid!);
    const followed = (): LogRecord[] => follow.stdout().split('\n').filter(Boolean).map((line) => JSON.parse(line) as LogRecord);
    await waitFor(() => followed().length >= 2, 10_000, 'the follower to print ticks');

    expect((await box.cli('run', 'big')).code).toBe(0);
    await waitFor(() => existsSync(`${box.runsLog}.1`), 30_000, 'runs.log to be rotated');
    // A tick written to the new runs.log reaches the follower.
    await waitFor(
      () => {
        const fresh = new Set(readJsonLines(box.runsLog).filter((record) => record.task === 'ticker' && typeof record.line === 'string').map((record) => record.run));
        return followed().some((line) => fresh.has(line.run));
      },
      20_000,
      'a tick from the new runs.log in the follower',
    );
    follow.child.kill('SIGINT');
    expect(await follow.closed).toBe(0);
    expect(follow.stderr()).toBe('');

    // Nothing lost or doubled: every tick line logged from the follower's first to its last, in order.
    const seen = followed();
    expect(seen.every((line) => line.task === 'ticker')).toBe(true);
    const logged = readRotatedLog(box.runsLog).filter((record) => record.task === 'ticker' && typeof record.line === 'string');
    const first = logged.findIndex((record) => record.run === seen[0].run);
    const last = logged.findIndex((record) => record.run === seen.at(-1)!.run);
    expect(seen.map((line) => line.line)).toEqual(logged.slice(first, last + 1).map((record) => record.line));
  });
});
