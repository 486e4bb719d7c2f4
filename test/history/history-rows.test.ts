import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { historyLinesContaining, selectHistory, type HistoryQuery, type HistoryRow } from '../../src/history/history-rows.js';
import { RunLog } from '../../src/history/run-log-files.js';
import { finishedLine, hookLine, logFolders, outputLine, runId, skippedLine, writeLog } from './run-log-fixtures.js';

const T = 1_796_000_000;
const at = (seconds: number, ms = 0): number => (T + seconds) * 1000 + ms;
const logFolder = logFolders();

/**
 * Three files as rotation leaves them (runs.log.2 oldest), each in write order; the skip record in
 * runs.log counts seconds going back into runs.log.1's time, and runs.log ends in a torn record.
 */
function rotatedLog(): string {
  const dir = logFolder();
  writeLog(dir, {
    'runs.log.2': [
      outputLine('report', runId(T, 1), at(0, 10), 'rows: 1200'),
      finishedLine('report', runId(T, 1), { scheduledAt: T }),
      finishedLine('fetch', runId(T + 1, 2), { scheduledAt: T + 1, exitCode: 3 }),
    ],
    'runs.log.1': [
      finishedLine('report', runId(T + 60, 3), { scheduledAt: T + 60 }),
      finishedLine('fetch', runId(T + 61, 4), { scheduledAt: T + 61, exitCode: null, signal: 'SIGTERM', timedOut: true }),
      skippedLine('held', at(62, 5), [T + 62]),
      finishedLine('fetch', runId(T + 70, 5), { scheduledAt: T + 70, exitCode: null, jobPid: null, error: 'spawn /bin/nope ENOENT' }),
    ],
    'runs.log': [
      finishedLine('report', runId(T + 120, 6), { scheduledAt: T + 120 }),
      finishedLine('fetch', runId(T + 121, 7), { scheduledAt: T + 121, exitCode: null, signal: 'SIGKILL' }),
      finishedLine('fetch', runId(T + 122, 8), { scheduledAt: T + 122, exitCode: null, signal: 'SIGTERM', killed: true }),
      skippedLine('held', at(122, 500), [T + 63, T + 64, T + 65, T + 100, T + 121]),
      // Adopted from a previous daemon: how it ended cannot be known.
      finishedLine('fetch', runId(T + 123, 9), { scheduledAt: T + 123, exitCode: null, jobPid: 777 }),
      finishedLine('report', runId(T + 124, 10), { scheduledAt: T + 124, trigger: 'manual', lateMs: 400 }),
    ],
  });
  // A record being written: no newline yet (and an ended record's bytes, so that only the missing newline tells).
  appendFileSync(path.join(dir, 'runs.log'), finishedLine('report', runId(T + 125, 11), { scheduledAt: T + 125 }));
  return dir;
}

function history(dir: string, query: HistoryQuery): HistoryRow[] {
  const log = RunLog.open(dir);
  try {
    return selectHistory(log.linesNewestFirst(historyLinesContaining(query)), query);
  } finally {
    log.close();
  }
}

const label = (row: HistoryRow): string => `${row.task} +${row.scheduledAt - T} ${row.result}`;

const ALL = [
  'report +124 ok',
  'fetch +123 unknown',
  'fetch +122 killed',
  'fetch +121 signal SIGKILL',
  'held +121 skipped',
  'report +120 ok',
  'held +100 skipped',
  'fetch +70 spawn error',
  'held +65 skipped',
  'held +64 skipped',
  'held +63 skipped',
  'held +62 skipped',
  'fetch +61 timeout',
  'report +60 ok',
  'fetch +1 exit 3',
  'report +0 ok',
];

describe('history rows (SPEC §7) from a rotated run log', () => {
  it.each<{ name: string; query: HistoryQuery; rows: string[] }>([
    { name: 'everything, newest first across the files; the skip record expanded into a row a second, each in its place', query: { limit: 100 }, rows: ALL },
    { name: '--limit', query: { limit: 3 }, rows: ALL.slice(0, 3) },
    { name: 'NAME', query: { task: 'held', limit: 20 }, rows: ['held +121 skipped', 'held +100 skipped', 'held +65 skipped', 'held +64 skipped', 'held +63 skipped', 'held +62 skipped'] },
    { name: 'NAME --limit', query: { task: 'report', limit: 2 }, rows: ['report +124 ok', 'report +120 ok'] },
    { name: '--failed: exits, signals, timeouts, spawn errors; not kills, unknown ends or skips', query: { failed: true, limit: 20 }, rows: ['fetch +121 signal SIGKILL', 'fetch +70 spawn error', 'fetch +61 timeout', 'fetch +1 exit 3'] },
    { name: '--failed NAME without failures', query: { task: 'report', failed: true, limit: 20 }, rows: [] },
    { name: '--since: scheduled at or after it', query: { since: at(100), limit: 20 }, rows: ALL.slice(0, 7) },
    { name: '--since NAME --limit', query: { task: 'fetch', since: at(100), limit: 2 }, rows: ['fetch +123 unknown', 'fetch +122 killed'] },
    { name: 'a NAME that never ran', query: { task: 'nosuch', limit: 20 }, rows: [] },
    { name: 'a NAME that is a prefix of another', query: { task: 'rep', limit: 20 }, rows: [] },
  ])('$name', ({ query, rows }) => {
    expect(history(rotatedLog(), query).map(label)).toEqual(rows);
  });

  it('a row carries what the table and --json show', () => {
    const [manual, , , , skipped] = history(rotatedLog(), { limit: 5 });
    expect(manual).toEqual({
      task: 'report',
      run: runId(T + 124, 10),
      scheduledAt: T + 124,
      result: 'ok',
      reason: null,
      trigger: 'manual',
      attempt: 1,
      jitterS: 0,
      startedAt: at(124, 400),
      finishedAt: at(124, 420),
      durationMs: 20,
      lateMs: 400,
      hooks: [],
    });
    expect(skipped).toEqual({ task: 'held', run: null, scheduledAt: T + 121, result: 'skipped', reason: 'max', trigger: null, attempt: null, jitterS: null, startedAt: null, finishedAt: null, durationMs: null, lateMs: null, hooks: null });
  });

  it('a record of a version before trigger and attempt shows them as unknown', () => {
    const dir = logFolder();
    const old = JSON.parse(finishedLine('old', runId(T, 1), { scheduledAt: T })) as Record<string, unknown>;
    delete old.trigger;
    delete old.attempt;
    delete old.killed;
    writeLog(dir, { 'runs.log': [JSON.stringify(old)] });
    expect(history(dir, { limit: 1 })).toMatchObject([{ task: 'old', result: 'ok', trigger: null, attempt: null }]);
  });

  it("a run's hooks and pings come with it (their records follow it in the log); a start ping is not shown", () => {
    const dir = logFolder();
    const failed = runId(T, 1);
    const other = runId(T + 1, 2);
    writeLog(dir, {
      'runs.log': [
        hookLine('fetch', failed, at(0, 1), 'ping', 'sent', 'start'),
        finishedLine('fetch', failed, { scheduledAt: T, exitCode: 3 }),
        finishedLine('report', other, { scheduledAt: T + 1 }),
        hookLine('fetch', failed, at(1, 100), 'ping', 'failed', '3'),
        hookLine('report', other, at(1, 200), 'on_success', 'sent'),
        // Flood control's trailing hook, a minute on, after other runs' records.
        finishedLine('fetch', runId(T + 50, 3), { scheduledAt: T + 50 }),
        hookLine('fetch', failed, at(60, 0), 'on_failure', 'sent'),
      ],
    });
    const rows = history(dir, { limit: 10 });
    expect(rows.map((row) => [row.run, row.hooks])).toEqual([
      [runId(T + 50, 3), []],
      [other, [{ hook: 'on_success', result: 'sent', ping: null }]],
      [failed, [{ hook: 'ping', result: 'failed', ping: '3' }, { hook: 'on_failure', result: 'sent', ping: null }]],
    ]);
    // A task's own query finds them too; --failed keeps the failed run's.
    expect(history(dir, { task: 'fetch', failed: true, limit: 1 })).toMatchObject([{ run: failed, hooks: [{ hook: 'ping' }, { hook: 'on_failure' }] }]);
    expect(history(dir, { task: 'report', limit: 1 })).toMatchObject([{ run: other, hooks: [{ hook: 'on_success' }] }]);
  });

  it('lines that are not records of ours are passed over', () => {
    const dir = logFolder();
    writeLog(dir, { 'runs.log': ['not json "msg":"run finished"', '{"msg":"run finished"}', '[1,2]', 'null', finishedLine('a', runId(T, 1), { scheduledAt: T })] });
    expect(history(dir, { limit: 5 }).map(label)).toEqual(['a +0 ok']);
  });
});

describe('history reads only as far back as its rows lie', () => {
  /** 5,000 minutes of an every-minute task, and a counter of the lines looked at. */
  function longLog(): { lines: () => Generator<Buffer>; looked: () => number } {
    const dir = logFolder();
    const records: string[] = [];
    for (let minute = 0; minute < 5000; minute++) {
      const second = T + minute * 60;
      records.push(outputLine('other', runId(second, 2), second * 1000 + 5, 'x'.repeat(100)));
      records.push(finishedLine('other', runId(second, 2), { scheduledAt: second }));
      if (minute % 10 === 0) records.push(finishedLine('rare', runId(second, 1), { scheduledAt: second, exitCode: 1 }));
    }
    writeLog(dir, { 'runs.log': records });
    let count = 0;
    const log = RunLog.open(dir);
    return {
      *lines() {
        for (const line of log.linesNewestFirst(Buffer.from('"msg":"'))) {
          count++;
          yield line;
        }
      },
      looked: () => count,
    };
  }

  it.each<{ name: string; query: Omit<HistoryQuery, 'since'> & { sinceMinutesBack?: number }; rows: number; atMost: number }>([
    { name: '--limit 20', query: { limit: 20 }, rows: 20, atMost: 30 },
    { name: 'NAME --limit 5 of a task running every tenth minute', query: { task: 'rare', limit: 5 }, rows: 5, atMost: 5 * 21 + 10 },
    { name: '--since an hour back', query: { limit: 1000, sinceMinutesBack: 60 }, rows: 67, atMost: (60 + 1) * 2.2 + 20 },
    { name: '--failed --since an hour back, with no failure in it but rare', query: { failed: true, task: 'other', limit: 1000, sinceMinutesBack: 60 }, rows: 0, atMost: (60 + 1) * 2.2 + 20 },
  ])('$name', ({ query, rows, atMost }) => {
    const log = longLog();
    const last = T + 4999 * 60;
    const since = query.sinceMinutesBack === undefined ? undefined : (last - query.sinceMinutesBack * 60) * 1000;
    expect(selectHistory(log.lines(), { ...query, since })).toHaveLength(rows);
    // The clock slack (60 s) lets it read a minute further back than --since.
    expect(log.looked()).toBeLessThanOrEqual(atMost);
    expect(log.looked()).toBeGreaterThan(0);
  });
});
