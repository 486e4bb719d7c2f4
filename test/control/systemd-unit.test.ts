/**
 * What the unit `gotorch systemd-unit` prints does, played as systemd plays it under KillMode=process
 * (SPEC §11): ExecStart runs the daemon in the foreground, ExecReload reloads it, a crash of the main
 * pid leaves the jobs for the next ExecStart to adopt, so does RestartKillSignal (systemctl restart), and
 * SIGTERM to the main pid alone (systemctl stop) ends every job through gotorch's own stop.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { isAlive, runCli, waitFor, withoutJobKeeper } from '../helpers/processes.js';
import { runToEnd, sandboxes, type Sandbox } from './sandbox.js';

// Issue 17: the unit without the job keeper (under it, the foreground start becomes the keeper: test/keeper/daemon-crash.test.ts).
withoutJobKeeper();

const sandbox = sandboxes();

/** The words of `key=` in the unit: the sandbox's paths have no blanks, so systemd splits them on spaces. */
function commandOf(unit: string, key: string): string[] {
  const text = unit.split('\n').find((line) => line.startsWith(`${key}=`));
  if (text === undefined) throw new Error(`no ${key}= in the unit:\n${unit}`);
  return text.slice(key.length + 1).split(' ');
}

/** ExecStart as systemd runs it: a child of its own (systemd is not the test), the daemon's pid once it answers. */
async function execStart(box: Sandbox, words: readonly string[]): Promise<{ pid: number; exited: Promise<number | null> }> {
  const child = spawn(words[0], words.slice(1), { stdio: ['ignore', 'ignore', 'ignore'], cwd: '/' });
  const pid = child.pid as number;
  box.track(pid);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await waitFor(async () => (await box.cli('status')).code === 0, 15_000, 'the daemon of ExecStart to answer');
  return { pid, exited };
}

describe('the systemd unit, played as systemd plays it (KillMode=process)', () => {
  it('reloads, survives a crash with its jobs adopted, and ends them on SIGTERM to the main pid', async () => {
    const box = sandbox();
    box.write([`0 0 0 1 1 * * 1 cron name=long sleep 300; : ${box.dir}`]);
    const printed = runCli(['systemd-unit', ...box.globalArgs]);
    expect(await printed.closed).toBe(0);
    const unit = printed.stdout();
    const start = commandOf(unit, 'ExecStart');
    const reload = commandOf(unit, 'ExecReload');

    const first = await execStart(box, start);
    expect(await runToEnd(reload[0], reload.slice(1), { cwd: '/' })).toMatchObject({ code: 0, stdout: expect.stringMatching(/unchanged 1/) as unknown });

    expect((await box.cli('run', 'long')).code).toBe(0);
    const job = (await waitFor(async () => (await box.task('long'))?.running[0]?.pid, 10_000, 'the long job')) as number;
    await waitFor(() => box.savedJobPids().includes(job), 5000, 'the state file to list the job');

    // A crash: systemd (KillMode=process) signals nothing else and starts ExecStart again.
    process.kill(first.pid, 'SIGKILL');
    await first.exited;
    expect(isAlive(job)).toBe(true);
    const second = await execStart(box, start);
    expect(((await box.task('long'))?.running ?? []).map((run) => run.pid)).toEqual([job]);

    // systemctl restart: RestartKillSignal to the main pid only; the daemon exits 0 leaving the job, and the next adopts it.
    const restartSignal = unit.split('\n').find((line) => line.startsWith('RestartKillSignal='))?.slice('RestartKillSignal='.length) as NodeJS.Signals;
    expect(restartSignal).toBe('SIGUSR1');
    process.kill(second.pid, restartSignal);
    expect(await second.exited).toBe(0);
    expect(isAlive(job)).toBe(true);
    expect(box.daemonRecords().find((record) => record.msg === 'detaching: running jobs are left for the next daemon to adopt')).toMatchObject({ jobs: 1 });
    const third = await execStart(box, start);
    expect(((await box.task('long'))?.running ?? []).map((run) => run.pid)).toEqual([job]);

    // systemctl stop: SIGTERM to the main pid only; gotorch's stop ends the job, the daemon exits 0.
    process.kill(third.pid, 'SIGTERM');
    expect(await third.exited).toBe(0);
    expect(isAlive(job)).toBe(false);
  });
});
