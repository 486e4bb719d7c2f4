/**
 * `@at` on the real daemon (SPEC §11): a one-shot fires once; one already past at load never runs; a
 * reload before it keeps it, and neither a reload nor a restart after it fires it again.
 */
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/processes.js';
import { sandboxes, type Sandbox } from './sandbox.js';

const sandbox = sandboxes();

/** `@at` for the Unix second `second`, in UTC. */
const isoSecond = (second: number): string => new Date(second * 1000).toISOString().replace('.000', '');
const nowSecond = (): number => Math.floor(Date.now() / 1000);

function lines(box: Sandbox, at: number): string[] {
  return [
    `@at ${isoSecond(at)} * 1 cron name=once echo $GOTORCH_SCHEDULED_AT >> ${box.dir}/once.out`,
    `* * * * * * * 0 cron name=tick echo $GOTORCH_SCHEDULED_AT >> ${box.dir}/tick.out`,
  ];
}

/** Waits until the every-second task ran for a second after `second`: the daemon planned past it. */
async function plannedPast(box: Sandbox, second: number): Promise<void> {
  await waitFor(() => box.numbers('tick.out').some((tick) => tick > second), 15_000, `the daemon to plan past ${second}`);
}

describe('@at on the real daemon (SPEC §11)', () => {
  it('fires once at its second, then shows done', async () => {
    const box = sandbox();
    const at = nowSecond() + 4;
    box.write(lines(box, at));
    await box.start();
    expect((await box.task('once'))?.next).toBe(at);
    await waitFor(() => box.numbers('once.out').length > 0, 15_000, 'the one-shot to run');
    await plannedPast(box, at + 2);
    expect(box.numbers('once.out')).toEqual([at]);
    expect(await box.task('once')).toMatchObject({ next: null, done: true });
    const status = await box.cli('status');
    expect(status.stdout).toMatch(/^once\s+cron\s.*\sdone\s*$/m);
    const check = await box.cli('check');
    expect(check.stdout).toMatch(/^once\s+cron\s.*\sdone\s*$/m);
  });

  it('never runs when its time is past at load', async () => {
    const box = sandbox();
    const start = nowSecond();
    box.write(lines(box, start - 2));
    await box.start();
    await plannedPast(box, nowSecond() + 2);
    expect(box.numbers('once.out')).toEqual([]);
    expect(await box.task('once')).toMatchObject({ next: null, done: true });
  });

  it('survives a reload before it; a reload and a restart after it do not run it again', async () => {
    const box = sandbox();
    const at = nowSecond() + 6;
    box.write(lines(box, at));
    await box.start();
    const reload = await box.cli('reload');
    expect(reload.code).toBe(0);
    expect(nowSecond()).toBeLessThan(at);
    await waitFor(() => box.numbers('once.out').length > 0, 15_000, 'the one-shot to run');
    expect(box.numbers('once.out')).toEqual([at]);

    expect((await box.cli('reload')).code).toBe(0);
    await plannedPast(box, nowSecond() + 1);
    expect((await box.cli('stop')).code).toBe(0);
    await box.start();
    await plannedPast(box, nowSecond() + 2);
    expect(box.numbers('once.out')).toEqual([at]);
  });
});
