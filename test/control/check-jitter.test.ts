/**
 * SPEC §8 `jitter=` end to end: `check` shows the shifted times with the offset, the same each time;
 * the daemon fires at the shifted seconds (GOTORCH_SCHEDULED_AT), and a restart keeps the offsets
 * (status --json) and replays the shifted seconds it missed.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/processes.js';
import { jitterOffset } from '../../src/planner/jitter.js';
import { sandboxes } from './sandbox.js';

const sandbox = sandboxes();
const HOST = 'web-7';

interface CheckTask {
  readonly name: string;
  readonly jitterOffsetS: number;
  readonly next: string[];
}

const seconds = (iso: string): number => Date.parse(iso) / 1000;

describe('jitter (SPEC §8)', () => {
  it('check shows the shifted next fires and the offset, the same on every run', async () => {
    const box = sandbox();
    box.write(['0 * * * * * * 1 cron name=spread jitter=1m true', '@every 90s * 1 cron name=every jitter=30s true', '0 * * * * * * 1 cron name=plain true']);
    const json = async (): Promise<CheckTask[]> => {
      const result = await box.cli('--host-id', HOST, 'check', '--json', '--next', '3');
      expect(result.code).toBe(0);
      return (JSON.parse(result.stdout) as { tasks: CheckTask[] }).tasks;
    };
    const first = await json();
    expect(first.map((task) => [task.name, task.jitterOffsetS])).toEqual([
      ['spread', jitterOffset('spread', HOST, 60)],
      ['every', jitterOffset('every', HOST, 30)],
      ['plain', 0],
    ]);
    const [spread, every, plain] = first;
    expect(spread.jitterOffsetS).toBeGreaterThan(0);
    for (const next of spread.next) expect((seconds(next) - spread.jitterOffsetS) % 60).toBe(0);
    for (const next of every.next) expect((seconds(next) - every.jitterOffsetS) % 90).toBe(0);
    for (const next of plain.next) expect(seconds(next) % 60).toBe(0);
    // A minute later the next fires may have moved on; the offsets never do.
    const second = await json();
    expect(second.map((task) => task.jitterOffsetS)).toEqual(first.map((task) => task.jitterOffsetS));
    expect(seconds(second[0].next[0]) % 60).toBe(spread.jitterOffsetS);

    const table = await box.cli('--host-id', HOST, 'check', '--next', '1');
    expect(table.stdout).toMatch(/NAME\s+TYPE\s+MAX\s+SCHEDULE\s+ZONE\s+JITTER\s+NEXT/);
    expect(table.stdout).toMatch(new RegExp(`spread\\s+cron\\s+1\\s+0 \\* \\* \\* \\* \\*\\s+\\S+\\s+\\+${spread.jitterOffsetS}s\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:${String(spread.jitterOffsetS).padStart(2, '0')} `));
    // Another host name: another offset (fixed, as the hash is).
    const other = JSON.parse((await box.cli('--host-id', 'web-8', 'check', '--json')).stdout) as { tasks: CheckTask[] };
    expect(other.tasks[0].jitterOffsetS).toBe(jitterOffset('spread', 'web-8', 60));
    expect(other.tasks[0].jitterOffsetS).not.toBe(spread.jitterOffsetS);
  });

  it('the daemon fires at the shifted seconds; a restart keeps the offsets and replays the shifted seconds missed', async () => {
    const box = sandbox();
    // recorder: every 5 s, offset 3 on web-7 (jitterOffset('recorder', 'web-7', 5)).
    const offset = jitterOffset('recorder', HOST, 5);
    expect(offset).toBe(3);
    box.write([`*/5 * * * * * * 0 cron name=recorder jitter=5s echo $GOTORCH_SCHEDULED_AT >> ${box.dir}/recorder.out`, '0 * * * * * * 1 cron name=spread jitter=1m true']);
    await box.start('--host-id', HOST);
    await waitFor(() => box.numbers('recorder.out').length >= 2, 15_000, 'recorder to run twice');
    for (const second of box.numbers('recorder.out')) expect(second % 5).toBe(offset);
    // history says by how much each run was shifted: the run records carry the offset.
    await box.waitForFinished('recorder', 2, 10_000);
    const rows = (await box.cli('history', 'recorder', '--json')).stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as { scheduledAt: number; jitterS: number });
    expect(rows.length).toBeGreaterThanOrEqual(2);
    for (const row of rows) expect([row.scheduledAt % 5, row.jitterS]).toEqual([offset, offset]);
    expect((await box.cli('history', 'recorder')).stdout.split('\n')[1]).toContain(`(+${offset}s)`);

    const before = await box.status();
    const spread = before.tasks.find((task) => task.name === 'spread');
    expect(spread?.jitterOffsetS).toBe(jitterOffset('spread', HOST, 60));
    expect((spread?.next ?? 0) % 60).toBe(spread?.jitterOffsetS);

    expect((await box.cli('stop')).code).toBe(0);
    const saved = JSON.parse(readFileSync(box.state, 'utf8')) as { schedules: Record<string, string> };
    expect(saved.schedules.recorder).toMatch(/^\*\/5 \* \* \* \* \* \S+ \+3s$/);
    const stoppedAfter = Math.max(...box.numbers('recorder.out'));
    const seen = box.daemonRecords().length;
    await new Promise((resolve) => setTimeout(resolve, 6000));

    await box.start('--host-id', HOST);
    const replay = await box.waitForLog('replayed the seconds missed since the previous daemon stopped cleanly', {}, 5000, seen);
    expect(replay.fires).toBeGreaterThanOrEqual(1);
    const after = await box.status();
    expect(after.tasks.map((task) => [task.name, task.jitterOffsetS])).toEqual([
      ['recorder', offset],
      ['spread', spread?.jitterOffsetS],
    ]);
    await waitFor(() => box.numbers('recorder.out').some((second) => second > (replay.toSecond as number)), 15_000, 'recorder to run after the restart');
    const all = box.numbers('recorder.out');
    for (const second of all) expect(second % 5).toBe(offset);
    // The missed shifted seconds ran once, for the first of them (SPEC §3); none twice.
    expect(all.filter((second) => second > stoppedAfter && second <= (replay.toSecond as number))).toEqual([stoppedAfter + 5]);
    expect(new Set(all).size).toBe(all.length);
  });
});
