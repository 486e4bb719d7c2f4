/** `gotorch history` and `gotorch logs` as a user runs them, on run logs written here (no daemon). */
import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runToEnd } from '../control/sandbox.js';
import { CLI, runCli, waitFor } from '../helpers/processes.js';
import { finishedLine, hookLine, logFolders, outputLine, runId, skippedLine, writeLog } from './run-log-fixtures.js';

const T = 1_796_000_000; // 2026-11-30 00:53:20 UTC
const logFolder = logFolders();

async function gotorch(dir: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = runCli(['--log-dir', dir, ...args], { TZ: 'UTC', ...env });
  const code = await run.closed;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

function sampleLog(): string {
  const dir = logFolder();
  writeLog(dir, {
    'runs.log.1': [outputLine('report', runId(T, 1), T * 1000 + 5, 'rows: 1200'), finishedLine('report', runId(T, 1), { scheduledAt: T, durationMs: 1234 })],
    'runs.log': [
      outputLine('fetch', runId(T + 1, 2), (T + 1) * 1000 + 5, 'GET /feed'),
      outputLine('fetch', runId(T + 1, 2), (T + 1) * 1000 + 7, '\u001b[31m503\u001b[0m', 'stderr'),
      finishedLine('fetch', runId(T + 1, 2), { scheduledAt: T + 1, exitCode: 3, lateMs: 1500 }),
      skippedLine('held', (T + 62) * 1000, [T + 2, T + 3]),
    ],
  });
  return dir;
}

describe('gotorch history', () => {
  it('prints a table, newest first, times in the local zone with their offset', async () => {
    const dir = sampleLog();
    expect(await gotorch(dir, ['history'])).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        'SCHEDULED                   TASK    RUN                    RESULT         TRIGGER   ATTEMPT  DURATION  LATE',
        '2026-11-30 00:53:23 +00:00  held    -                      skipped (max)  -         -        -         -',
        // Ordered by when it happened: the late run finished at 00:53:22.52, after the skip at :22.
        '2026-11-30 00:53:21 +00:00  fetch   1796000001-2-0463ee15  exit 3         schedule  1        20ms      1.5s',
        '2026-11-30 00:53:22 +00:00  held    -                      skipped (max)  -         -        -         -',
        '2026-11-30 00:53:20 +00:00  report  1796000000-1-0463ee15  ok             schedule  1        1.2s      3ms',
        '',
      ].join('\n'),
    });
    const kolkata = await gotorch(dir, ['history', 'report'], { TZ: 'Asia/Kolkata' });
    expect(kolkata.stdout.split('\n')[1]).toMatch(/^2026-11-30 06:23:20 \+05:30  report /);
  });

  it('--json: one object per line, the same rows', async () => {
    const result = await gotorch(sampleLog(), ['history', '--json', '--limit', '2', 'held']);
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual([T + 3, T + 2].map((scheduledAt) => ({
      task: 'held', run: null, scheduledAt, result: 'skipped', reason: 'max', trigger: null, attempt: null, jitterS: null, startedAt: null, finishedAt: null, durationMs: null, lateMs: null, hooks: null,
    })));
  });

  it('a HOOKS column once a row shown has hooks; --json has them as an array', async () => {
    const dir = sampleLog();
    appendFileSync(path.join(dir, 'runs.log'), `${hookLine('fetch', runId(T + 1, 2), (T + 63) * 1000, 'ping', 'sent', '3')}\n${hookLine('fetch', runId(T + 1, 2), (T + 63) * 1000 + 1, 'on_failure', 'failed')}\n`);
    const table = await gotorch(dir, ['history', '--limit', '2', 'fetch']);
    expect(table.stdout).toBe(
      [
        'SCHEDULED                   TASK   RUN                    RESULT  TRIGGER   ATTEMPT  DURATION  LATE  HOOKS',
        '2026-11-30 00:53:21 +00:00  fetch  1796000001-2-0463ee15  exit 3  schedule  1        20ms      1.5s  ping /3 sent, on_failure failed',
        '',
      ].join('\n'),
    );
    const json = await gotorch(dir, ['history', '--json', 'fetch']);
    expect((JSON.parse(json.stdout) as { hooks: unknown }).hooks).toEqual([
      { hook: 'ping', result: 'sent', ping: '3' },
      { hook: 'on_failure', result: 'failed', ping: null },
    ]);
    // Rows without hooks show a dash beside one that has them.
    expect((await gotorch(dir, ['history'])).stdout.split('\n')[4]).toMatch(/ok +schedule +1 +1\.2s +3ms +-$/);
  });

  it.each([
    { args: ['history', 'nosuch'], code: 0, stderr: /^gotorch: no runs or skipped fires of nosuch in .+\n$/ },
    { args: ['history', '--failed', 'report'], code: 0, stderr: /^gotorch: no failed runs of report in / },
    { args: ['history', '--limit', '0x10'], code: 2, stderr: /^gotorch: --limit "0x10" must be a whole number of rows, 1 or more/ },
    { args: ['history', '--limit', '-5'], code: 2, stderr: /^gotorch: --limit "-5" must be/ },
    { args: ['history', '--limit', '0'], code: 2, stderr: /^gotorch: --limit "0" must be/ },
    { args: ['history', '--since', 'yesterday'], code: 2, stderr: /^gotorch: --since "yesterday" is neither a duration .* nor an ISO time/ },
    { args: ['history', '--since', '2026-02-30'], code: 2, stderr: /^gotorch: --since "2026-02-30"/ },
    { args: ['logs', 'report', '--run', 'nope'], code: 1, stderr: /^gotorch: no run nope of report in .+\n$/ },
    { args: ['logs', 'nosuch'], code: 0, stderr: /^gotorch: no output of nosuch in .+\n$/ },
  ])('$args: exit $code', async ({ args, code, stderr }) => {
    const result = await gotorch(sampleLog(), args);
    expect(result.code).toBe(code);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(stderr);
  });

  it('a log folder that cannot be read: exit 1 with the reason in one line', async () => {
    const dir = logFolder();
    writeFileSync(path.join(dir, 'file'), '');
    for (const [folder, reason] of [[path.join(dir, 'missing'), 'it does not exist'], [path.join(dir, 'file'), 'it is not a folder']]) {
      expect(await gotorch(folder, ['history'])).toEqual({ code: 1, stdout: '', stderr: `gotorch: cannot read the log folder ${folder} (${reason})\n` });
      expect((await gotorch(folder, ['logs', 'report'])).code).toBe(1);
    }
  });
});

describe('gotorch logs', () => {
  it("prints the latest run's lines with time and stream, control characters shown, and how it ended", async () => {
    expect(await gotorch(sampleLog(), ['logs', 'fetch'])).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        '==> fetch run 1796000001-2-0463ee15 (scheduled 2026-11-30 00:53:21 +00:00) <==',
        '2026-11-30 00:53:21.005 +00:00 stdout GET /feed',
        '2026-11-30 00:53:21.007 +00:00 stderr \\x1b[31m503\\x1b[0m',
        '==> fetch run 1796000001-2-0463ee15: exit 3 after 20ms <==',
        '',
      ].join('\n'),
    });
    const json = await gotorch(sampleLog(), ['logs', 'report', '--run', runId(T, 1), '--json']);
    expect(json.stdout).toBe(JSON.stringify({ time: T * 1000 + 5, task: 'report', run: runId(T, 1), stream: 'stdout', line: 'rows: 1200' }) + '\n');
  });

  it('--follow prints new lines of the task until SIGTERM, then exits 0 quietly', async () => {
    const dir = sampleLog();
    const run = runCli(['--log-dir', dir, 'logs', 'fetch', '--follow', '--json']);
    await waitFor(() => run.stdout().includes('GET /feed'), 10_000, 'the latest run');
    appendFileSync(path.join(dir, 'runs.log'), [outputLine('other', runId(T + 5, 4), (T + 5) * 1000, 'not fetch'), outputLine('fetch', runId(T + 5, 3), (T + 5) * 1000, 'next run')].map((line) => `${line}\n`).join(''));
    await waitFor(() => run.stdout().includes('next run'), 10_000, 'the new line');
    run.child.kill('SIGTERM');
    expect(await run.closed).toBe(0);
    expect(run.stderr()).toBe('');
    expect(run.stdout()).not.toContain('not fetch');
  });

  it('--follow --run ends with that run; --follow into a reader that went away ends too', async () => {
    const dir = sampleLog();
    const finished = await gotorch(dir, ['logs', 'fetch', '--run', runId(T + 1, 2), '--follow']);
    expect(finished.code).toBe(0);
    expect(finished.stdout).toContain('exit 3 after 20ms');
    const closed = await runToEnd(process.execPath, [CLI, '--log-dir', dir, 'logs', 'fetch', '--follow'], { closeStdout: true });
    expect(closed).toEqual({ code: 0, stdout: '', stderr: '' });
  });
});
