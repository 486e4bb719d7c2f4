import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/processes.js';
import { sandboxes, type Sandbox } from './sandbox.js';

const sandbox = sandboxes();

const never = (name: string): string => `0 0 0 1 1 * * 1 cron name=${name} true`;

async function taskNames(box: Sandbox): Promise<string[]> {
  return (await box.status()).tasks.map((task) => task.name);
}

/** Waits until the daemon's tasks are `names` without any reload command: the file change did it. */
async function appliedByItself(box: Sandbox, names: readonly string[], timeoutMs = 3000): Promise<void> {
  const expected = JSON.stringify(names);
  await waitFor(async () => JSON.stringify(await taskNames(box)) === expected, timeoutMs, `tasks ${expected}`).catch((error: Error) => {
    throw new Error(`${error.message}; gotorch.log has:\n${box.daemonRecords().map((record) => JSON.stringify(record)).join('\n')}`);
  });
  expect((await box.status()).lastReload?.trigger).toBe('file change');
}

describe('reload: rejected edits (SPEC §5)', () => {
  it('a deleted task file keeps the old schedule firing, with the error logged; restoring it reloads', async () => {
    const box = sandbox();
    const tick = `* * * * * * * 1 cron name=tick echo $GOTORCH_SCHEDULED_AT >> ${box.dir}/tick.out`;
    box.write([tick]);
    await box.start();
    await box.watching();
    await waitFor(() => box.numbers('tick.out').length > 0, 3000, 'a first tick');
    rmSync(box.conf);
    const rejected = await box.waitForLog('task file rejected: the previous schedule keeps running', { trigger: 'file change' });
    expect((rejected.errors as string[])[0]).toContain(`${box.conf}: no such file`);
    const after = Math.floor(Date.now() / 1000) + 1;
    await waitFor(() => box.numbers('tick.out').includes(after + 1), 4000, 'ticks after the deletion');
    expect((await box.cli('reload')).code).toBe(1);
    box.write([tick, never('back')]);
    await appliedByItself(box, ['tick', 'back']);
  });

  it('a bad edit is rejected as a whole: the old schedule keeps firing, reload exits 1 with every error', async () => {
    const box = sandbox();
    const tick = `* * * * * * * 1 cron name=tick echo $GOTORCH_SCHEDULED_AT >> ${box.dir}/tick.out`;
    box.write([tick]);
    const pid = await box.start();
    await box.watching();
    await waitFor(() => box.numbers('tick.out').length > 0, 3000, 'a first tick');

    box.write([tick, '61 * * * * * * 1 cron name=bad true', '* * * * * * * 1 crn name=worse true']);
    const rejected = await box.waitForLog('task file rejected: the previous schedule keeps running', { trigger: 'file change' });
    const errors = [`${box.conf}:2:1: second 61 is out of range 0-59`, `${box.conf}:3:17: unknown type "crn"`];
    expect(rejected.errors).toHaveLength(2);
    (rejected.errors as string[]).forEach((error, index) => expect(error.startsWith(errors[index]), error).toBe(true));

    const reload = await box.cli('reload');
    expect(reload.code).toBe(1);
    expect(reload.stdout).toBe('');
    expect(reload.stderr).toContain(`gotorch: ${box.conf} rejected; the previous schedule keeps running:\n`);
    for (const error of errors) expect(reload.stderr).toContain(error);

    const status = await box.status();
    expect(status).toMatchObject({ pid, tasksInFile: 1, lastReload: { ok: false, trigger: 'reload command' } });
    expect(status.lastReload?.errors).toHaveLength(2);
    expect(status.tasks.map((task) => task.name)).toEqual(['tick']);
    // The old schedule still fires after both rejections.
    const after = Math.floor(Date.now() / 1000) + 1;
    await waitFor(() => box.numbers('tick.out').includes(after + 1), 4000, 'ticks after the rejection');

    box.write([tick, never('fixed')]);
    await appliedByItself(box, ['tick', 'fixed']);
    expect((await box.status()).lastReload).toMatchObject({ ok: true, summary: 'added 1, changed 0, removed 0, unchanged 1' });
  });
});

describe('reload: what triggers it (SPEC §4, §5)', () => {
  it('reload prints what changed, and says so when the watcher applied the edit first; SIGUSR2 reloads too', async () => {
    const box = sandbox();
    box.write([never('kept'), never('changed'), never('removed')]);
    const pid = await box.start();
    await box.watching();
    box.write([never('kept'), '0 0 0 2 1 * * 1 cron name=changed true', never('added')]);
    const watched = await box.waitForLog('task file reloaded', { trigger: 'file change' });
    expect(watched.summary).toBe('added 1, changed 1, removed 1, unchanged 1');

    const reload = await box.cli('reload');
    expect(reload.code).toBe(0);
    expect(reload.stdout).toMatch(
      /^added 0, changed 0, removed 0, unchanged 3 \(already applied by file change at \d{4}-\d\d-\d\dT[\d:.]+Z: added 1, changed 1, removed 1, unchanged 1\)\n$/,
    );

    const seen = box.daemonRecords().length;
    process.kill(pid, 'SIGUSR2');
    expect((await box.waitForLog('task file reloaded', { trigger: 'SIGUSR2' }, 3000, seen)).summary).toMatch(/^added 0, changed 0, removed 0, unchanged 3/);
    // A reload of the same file again names the change once: notes never nest, growing every record.
    const again = await box.cli('reload');
    expect(again.stdout).toMatch(/^added 0, changed 0, removed 0, unchanged 3 \(already applied by file change at [^()]+: added 1, changed 1, removed 1, unchanged 1\)\n$/);
  });

  it('an edit of an included file, and a new file matching the include, reload by themselves', async () => {
    const box = sandbox();
    box.write(['include conf.d/*.conf']);
    box.write([never('a')], 'conf.d/a.conf');
    await box.start();
    await box.watching('tasks.conf', '.', 'conf.d', 'conf.d/a.conf');
    expect(await taskNames(box)).toEqual(['a']);

    box.write(['0 0 0 2 1 * * 1 cron name=a true'], 'conf.d/a.conf');
    await waitFor(async () => (await box.task('a'))?.schedule === '0 0 0 2 1 *', 3000, 'the edited include to apply');
    expect((await box.status()).lastReload).toMatchObject({ trigger: 'file change', summary: 'added 0, changed 1, removed 0, unchanged 0' });

    box.write([never('b')], 'conf.d/b.conf');
    await appliedByItself(box, ['a', 'b']);
  });

  // The include folder does not exist at start: its creation must be watched from an existing ancestor.
  it('a file in an include folder created after start reloads by itself', async () => {
    const box = sandbox();
    box.write(['include conf.d/*.conf']);
    await box.start();
    await box.watching();
    box.write([never('late')], 'conf.d/late.conf');
    await appliedByItself(box, ['late'], 2000);
  });

  it('an atomic save (write a temporary file, then mv it over the task file) reloads by itself', async () => {
    const box = sandbox();
    box.write([never('before')]);
    await box.start();
    await box.watching();
    box.saveAtomically([never('after')]);
    await appliedByItself(box, ['after']);
  });

  it('an ln -sfn swap of the task file symlink (tasks.conf -> releases/a/tasks.conf) reloads by itself', async () => {
    const box = sandbox();
    box.write([never('a')], 'releases/a/tasks.conf');
    box.write([never('b')], 'releases/b/tasks.conf');
    symlinkSync('releases/a/tasks.conf', box.conf);
    await box.start();
    await box.watching('.');
    expect(await taskNames(box)).toEqual(['a']);
    execFileSync('ln', ['-sfn', 'releases/b/tasks.conf', 'tasks.conf'], { cwd: box.dir });
    await appliedByItself(box, ['b']);
  });

  it('an ln -sfn swap of a release folder (current -> releases/a) reloads by itself', async () => {
    const box = sandbox('current/tasks.conf');
    box.write([never('a')], 'releases/a/tasks.conf');
    box.write([never('b')], 'releases/b/tasks.conf');
    symlinkSync('releases/a', path.join(box.dir, 'current'));
    await box.start();
    await box.watching('.');
    expect(await taskNames(box)).toEqual(['a']);
    execFileSync('ln', ['-sfn', 'releases/b', 'current'], { cwd: box.dir });
    await appliedByItself(box, ['b']);
  });

  // Only the folder holding the symlink is seen by watching the path: the file's real folder must be watched too, and follow the swap.
  it('an in-place edit after an ln -sfn swap of the task file symlink reloads by itself', async () => {
    const box = sandbox();
    box.write([never('a')], 'releases/a/tasks.conf');
    box.write([never('b')], 'releases/b/tasks.conf');
    symlinkSync('releases/a/tasks.conf', box.conf);
    await box.start();
    await box.watching('.');
    execFileSync('ln', ['-sfn', 'releases/b/tasks.conf', 'tasks.conf'], { cwd: box.dir });
    await appliedByItself(box, ['b']);
    writeFileSync(box.conf, `${never('b2')}\n`);
    await appliedByItself(box, ['b2'], 3000);
  });

  it('an in-place edit after an ln -sfn swap of the release folder reloads by itself', async () => {
    const box = sandbox('current/tasks.conf');
    box.write([never('a')], 'releases/a/tasks.conf');
    box.write([never('b')], 'releases/b/tasks.conf');
    symlinkSync('releases/a', path.join(box.dir, 'current'));
    await box.start();
    await box.watching('.');
    execFileSync('ln', ['-sfn', 'releases/b', 'current'], { cwd: box.dir });
    await appliedByItself(box, ['b']);
    writeFileSync(box.conf, `${never('b2')}\n`);
    await appliedByItself(box, ['b2'], 3000);
  });
});

describe('reload: the same-second guard (SPEC §3, §5)', () => {
  it('many reloads (command, SIGUSR2, changed file) over 5 s never run a task twice for one second', async () => {
    const box = sandbox();
    const out = path.join(box.dir, 'tick.out');
    // Each variant changes tick's definition (schedule text, zone, environment) and the task list.
    const variant = (save: number): string[] => [
      `SAVE=${save}`,
      `${['* * * * * *', '*/1 * * * * *', '0-59 * * * * *'][save % 3]} * 1 cron name=tick ${['', 'tz=UTC ', 'tz=Asia/Kolkata '][Math.floor(save / 3) % 3]}echo $GOTORCH_SCHEDULED_AT >> ${out}`,
      ...(save % 2 === 0 ? [never('extra')] : []),
    ];
    box.write(variant(0));
    const pid = await box.start();
    await box.watching();
    await waitFor(() => box.numbers('tick.out').length > 0, 3000, 'a first tick');

    const commands: Promise<{ code: number | null; stdout: string }>[] = [];
    const until = Date.now() + 5000;
    for (let step = 1; Date.now() < until; step++) {
      if (step % 3 === 0) commands.push(box.cli('reload'));
      else if (step % 3 === 1) process.kill(pid, 'SIGUSR2');
      else box.saveAtomically(variant(Math.floor(step / 3) + 1));
      // Pacing between stimuli, jittered so they land at every point of a second.
      await new Promise((resolve) => setTimeout(resolve, 40 + Math.random() * 120));
    }
    const results = await Promise.all(commands);
    expect(results.length).toBeGreaterThanOrEqual(10);
    for (const result of results) expect(result).toMatchObject({ code: 0, stdout: expect.stringMatching(/^added \d+, changed \d+, removed \d+, unchanged \d+/) });
    const reloads = box.daemonRecords().filter((record) => record.msg === 'task file reloaded');
    expect(new Set(reloads.map((record) => record.trigger))).toEqual(new Set(['file change', 'reload command', 'SIGUSR2']));
    expect(reloads.length).toBeGreaterThanOrEqual(30);

    const last = Math.floor(Date.now() / 1000) + 1;
    await waitFor(() => box.numbers('tick.out').includes(last), 3000, 'a tick after the reloads');
    expect((await box.cli('stop')).code).toBe(0);

    const seconds = box.numbers('tick.out');
    const duplicates = seconds.filter((second, index) => seconds.indexOf(second) !== index);
    expect(duplicates).toEqual([]);
    const scheduled = box.finishedRuns('tick').map((record) => record.scheduledAt);
    expect(scheduled.length).toBe(new Set(scheduled).size);
    // Reloads must not skip seconds either; one may go missing to a late wake on a loaded machine.
    const missing = Array.from({ length: seconds.at(-1)! - seconds[0] + 1 }, (_, index) => seconds[0] + index).filter((second) => !seconds.includes(second));
    expect(missing.length).toBeLessThanOrEqual(1);
  });
});
