import { describe, expect, it } from 'vitest';
import { isAlive, processesMentioning, waitFor } from '../helpers/processes.js';
import { commandLine, sandboxes, type Sandbox } from './sandbox.js';
import { skippedFires } from '../helpers/skips.js';

const sandbox = sandboxes();

/** Pids of `name`'s running instances, per `status --json`. */
async function runningPids(box: Sandbox, name: string): Promise<number[]> {
  return ((await box.task(name))?.running ?? []).map((run) => run.pid as number);
}

/** Waits until `name` has exactly `count` running instances; returns their pids. */
function waitForInstances(box: Sandbox, name: string, count: number, timeoutMs = 6000): Promise<number[]> {
  return waitFor(async () => {
    const pids = await runningPids(box, name);
    return pids.length === count ? pids : undefined;
  }, timeoutMs, `${count} running instance(s) of ${name}`);
}

describe('reload: cron tasks (SPEC §5)', () => {
  it('a changed cron task keeps its running job, which counts against the new max; the edit is applied', async () => {
    const box = sandbox();
    const marker = `${box.dir} nap`;
    box.write([`* * * * * * * 1 cron name=nap sleep 30; : ${marker}`]);
    await box.start();
    await box.watching();
    const [nap] = await waitForInstances(box, 'nap', 1);

    box.write([`*/1 * * * * * * 1 cron name=nap sleep 30; : ${marker}`]);
    const reloaded = await box.waitForLog('task file reloaded', { trigger: 'file change' });
    expect(reloaded.summary).toBe('added 0, changed 1, removed 0, unchanged 0');
    const task = await box.task('nap');
    expect(task).toMatchObject({ schedule: '*/1 * * * * *', current: true });
    expect(task?.running.map((run) => run.pid)).toEqual([nap]);
    // Every second is due and max is 1: the kept job must block each fire. Two seconds show that.
    const until = Date.now() + 2100;
    while (Date.now() < until) {
      expect(processesMentioning(marker)).toEqual([nap]);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Skips after the first are counted for a minute; the stop logs the count, with every second.
    expect((await box.cli('stop')).code).toBe(0);
    const skipped = skippedFires(box.daemonRecords()).filter((skip) => skip.task === 'nap').map((skip) => skip.scheduledAt);
    expect(skipped.filter((second) => second >= (reloaded.fromSecond as number)).length).toBeGreaterThanOrEqual(2);
  });

  it('a changed schedule holds from the next second', async () => {
    const box = sandbox();
    box.write([`*/10 * * * * * * 1 cron name=tick echo $GOTORCH_SCHEDULED_AT >> ${box.dir}/tick.out`]);
    await box.start();
    await box.watching();
    box.write([`* * * * * * * 1 cron name=tick echo $GOTORCH_SCHEDULED_AT >> ${box.dir}/tick.out`]);
    const reloaded = await box.waitForLog('task file reloaded', { trigger: 'file change' });
    const next = Math.floor((reloaded.time as number) / 1000) + 1;
    // Two consecutive seconds cannot both match */10: the second one is the new schedule's.
    await waitFor(() => box.numbers('tick.out').includes(next + 1), 4000, `ticks for ${next} and ${next + 1}`);
    expect(box.numbers('tick.out')).toContain(next);
  });

  it('a removed cron task is no longer scheduled; its running job finishes on its own and is tracked until then', async () => {
    const box = sandbox();
    box.write([`* * * * * * * 1 cron name=brief sleep 3; : ${box.dir}`, '0 0 0 1 1 * * 1 cron name=never true']);
    await box.start();
    await box.watching();
    const [brief] = await waitForInstances(box, 'brief', 1);

    box.write(['0 0 0 1 1 * * 1 cron name=never true']);
    expect((await box.waitForLog('task file reloaded', { trigger: 'file change' })).summary).toBe('added 0, changed 0, removed 1, unchanged 1');
    const tracked = await box.task('brief');
    expect(tracked).toMatchObject({ current: false, schedule: null, next: null });
    expect(tracked?.running.map((run) => run.pid)).toEqual([brief]);
    expect((await box.cli('status')).stdout).toMatch(new RegExp(`brief \\(removed\\)\\s+cron\\s+-\\s+${brief}\\s`));

    await waitFor(() => !isAlive(brief), 5000, 'the removed task\'s job to finish');
    await waitFor(async () => (await box.task('brief')) === undefined, 3000, 'the finished job to leave status');
    const finished = await box.waitForFinished('brief');
    expect(finished).toHaveLength(1);
    expect(finished[0]).toMatchObject({ jobPid: brief, exitCode: 0, signal: null, timedOut: false });
    expect(finished[0].durationMs as number).toBeGreaterThanOrEqual(2900);
  });
});

describe('reload: daemon tasks (SPEC §5)', () => {
  it('a removed daemon task is stopped', async () => {
    const box = sandbox();
    box.write([`* * * * * * * 1 daemon name=keeper sleep 600; : ${box.dir}`, '0 0 0 1 1 * * 1 cron name=never true']);
    await box.start();
    await box.watching();
    const [keeper] = await waitForInstances(box, 'keeper', 1);

    box.write(['0 0 0 1 1 * * 1 cron name=never true']);
    await waitFor(() => !isAlive(keeper), 5000, 'the removed daemon instance to stop');
    expect(await box.waitForLog('stopping daemon instances', { task: 'keeper', reason: 'task removed' })).toMatchObject({ pids: [keeper] });
    expect(await box.waitForFinished('keeper')).toMatchObject([{ jobPid: keeper, signal: 'SIGTERM' }]);
    await waitFor(async () => (await box.task('keeper')) === undefined, 3000, 'keeper to leave status');
    // Only the daemon (and the job keeper above it, issue 17) still mention the folder.
    expect(processesMentioning(box.dir).filter((pid) => pid !== box.pidfilePid() && !commandLine(pid).includes('gotorch_keeper'))).toEqual([]);
  });

  it('a daemon whose command changed is restarted: a new pid, the old one gone', async () => {
    const box = sandbox();
    box.write([`* * * * * * * 1 daemon name=keeper sleep 600; : ${box.dir} v1`]);
    await box.start();
    await box.watching();
    const [old] = await waitForInstances(box, 'keeper', 1);

    box.write([`* * * * * * * 1 daemon name=keeper sleep 600; : ${box.dir} v2`]);
    const [fresh] = await waitFor(() => {
      const found = processesMentioning(`${box.dir} v2`);
      return found.length > 0 ? found : undefined;
    }, 5000, 'the new definition to start');
    await waitFor(() => !isAlive(old), 5000, 'the old instance to stop');
    expect(fresh).not.toBe(old);
    expect(await runningPids(box, 'keeper')).toEqual([fresh]);
    expect(processesMentioning(`${box.dir} v1`)).toEqual([]);
    expect(processesMentioning(`${box.dir} v2`)).toEqual([fresh]);
  });

  it('a lower max stops the extra instances (3 → 1), a higher one adds instances beside the kept one', async () => {
    const box = sandbox();
    const marker = `${box.dir} keeper`;
    box.write([`* * * * * * * 3 daemon name=keeper sleep 600; : ${marker}`]);
    await box.start();
    await box.watching();
    const three = await waitForInstances(box, 'keeper', 3);

    box.write([`* * * * * * * 1 daemon name=keeper sleep 600; : ${marker}`]);
    await waitFor(() => processesMentioning(marker).length === 1, 5000, 'two instances to stop');
    const [kept] = processesMentioning(marker);
    // Newest first: the longest-running instance stays.
    expect(kept).toBe(three[0]);
    expect(await runningPids(box, 'keeper')).toEqual([kept]);

    box.write([`* * * * * * * 2 daemon name=keeper sleep 600; : ${marker}`]);
    const two = await waitForInstances(box, 'keeper', 2);
    expect(two[0]).toBe(kept);
    expect(processesMentioning(marker).sort()).toEqual(two.slice().sort());
  });
});
