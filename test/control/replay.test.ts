/**
 * A restart after a clean stop replays the seconds it missed (SPEC §3), but only for what the stopped
 * daemon would have run: same identity, same schedule (issue 10, item 7). A task added while it was
 * down never runs for a second before it existed, and the replay is logged as one, not as a late wake.
 */
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/processes.js';
import { sandboxes } from './sandbox.js';

const sandbox = sandboxes();

describe('restart after a clean stop (issue 10, item 7)', () => {
  it('replays the missed seconds for unchanged tasks only, logged as a replay', async () => {
    const box = sandbox();
    const recorder = (name: string, schedule = '* * * * * *') => `${schedule} * 0 cron name=${name} echo $GOTORCH_SCHEDULED_AT >> ${box.dir}/${name}.out`;
    box.write([recorder('kept'), recorder('moved', '*/2 * * * * *')]);
    await box.start();
    await waitFor(() => box.numbers('kept.out').length >= 2, 5000, 'kept to run');
    expect((await box.cli('stop')).code).toBe(0);
    const stoppedAfter = Math.max(...box.numbers('kept.out'));
    const seen = box.daemonRecords().length;

    box.write([recorder('kept'), recorder('moved', '1/2 * * * * *'), recorder('added')]);
    await new Promise((resolve) => setTimeout(resolve, 3500));
    await box.start();
    const replay = await box.waitForLog('replayed the seconds missed since the previous daemon stopped cleanly', {}, 5000, seen);
    const restartedAt = replay.toSecond as number;
    expect(replay.fromSecond).toBe(stoppedAfter + 1);
    await waitFor(() => box.numbers('added.out').length >= 2, 5000, 'added to run');

    // kept: once for the missed seconds (a task due in several runs once, for the first: SPEC §3), then
    // every second again; added and moved: nothing before the restart.
    await waitFor(() => box.numbers('kept.out').includes(restartedAt + 1), 5000, 'kept to run after the restart');
    const kept = box.numbers('kept.out');
    expect(new Set(kept).size).toBe(kept.length);
    expect(kept.filter((second) => second > stoppedAfter && second <= restartedAt)).toEqual([stoppedAfter + 1]);
    expect(box.numbers('added.out').filter((second) => second < restartedAt)).toEqual([]);
    expect(box.numbers('moved.out').filter((second) => second > stoppedAfter && second < restartedAt)).toEqual([]);
    const after = box.daemonRecords().slice(seen);
    expect(after.filter((record) => String(record.msg).startsWith('woke late'))).toEqual([]);
  });
});
