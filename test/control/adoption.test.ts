import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAlive, processesMentioning, waitFor, withoutJobKeeper } from '../helpers/processes.js';
import { sandboxes } from './sandbox.js';
import { SKIP_MESSAGE } from '../../src/daemon/skip-report.js';

// Issue 17: the daemon alone re-adopts from its state file (under the job keeper a crash is taken over instead: test/keeper/daemon-crash.test.ts).
withoutJobKeeper();

const sandbox = sandboxes();

describe('a crashed daemon\'s jobs (SPEC §6)', () => {
  it('are re-adopted by the next start, count against max, and are stopped by stop', async () => {
    const box = sandbox();
    const marker = `${box.dir} long`;
    box.write([`* * * * * * * 2 cron name=long sleep 30; : ${marker}`]);
    const first = await box.start();
    const jobs = await waitFor(async () => {
      const pids = ((await box.task('long'))?.running ?? []).map((run) => run.pid as number);
      return pids.length === 2 ? pids.sort() : undefined;
    }, 6000, 'two long jobs');
    // The state file is what the next daemon reads: wait until it lists both jobs.
    await waitFor(() => box.savedJobPids().sort().join() === jobs.join(), 3000, 'the state file to list both jobs');

    process.kill(first, 'SIGKILL');
    await waitFor(() => !isAlive(first), 3000, 'the daemon to die');
    expect(jobs.every(isAlive)).toBe(true);

    const seen = box.daemonRecords().length;
    const second = await box.start();
    expect(second).not.toBe(first);
    expect(await box.waitForLog('replaced a stale pidfile', { stalePid: first }, 3000, seen)).toMatchObject({ level: 40 });
    const adopted = box.daemonRecords().slice(seen).filter((record) => record.msg === 'adopted a job still running from a previous daemon');
    expect(adopted.map((record) => record.pid as number).sort()).toEqual(jobs);
    expect(adopted.every((record) => record.task === 'long')).toBe(true);
    expect(((await box.task('long'))?.running ?? []).map((run) => run.pid).sort()).toEqual(jobs);

    // Every second is due: with both adopted jobs counted, max=2 must skip each fire. Three seconds show it.
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      expect(processesMentioning(marker).sort()).toEqual(jobs);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(box.daemonRecords().slice(seen).some((record) => record.msg === SKIP_MESSAGE && record.task === 'long')).toBe(true);

    expect(await box.cli('stop')).toMatchObject({ code: 0, stdout: `gotorch stopped (pid ${second})\n` });
    expect(jobs.filter(isAlive)).toEqual([]);
    expect(processesMentioning(box.dir)).toEqual([]);
  });

  it('of a task no longer in the file are adopted as removed, tracked, and stopped by stop', async () => {
    const box = sandbox();
    const marker = `${box.dir} orphan`;
    box.write([`* * * * * * * 1 cron name=orphan sleep 30; : ${marker}`, '0 0 0 1 1 * * 1 cron name=never true']);
    const first = await box.start();
    const job = (await waitFor(async () => (await box.task('orphan'))?.running[0]?.pid, 6000, 'the orphan job')) as number;
    await waitFor(() => box.savedJobPids().includes(job), 3000, 'the state file to list the job');
    process.kill(first, 'SIGKILL');
    await waitFor(() => !isAlive(first), 3000, 'the daemon to die');

    box.write(['0 0 0 1 1 * * 1 cron name=never true']);
    await box.start();
    const tracked = await box.task('orphan');
    expect(tracked).toMatchObject({ current: false, schedule: null });
    expect(tracked?.running.map((run) => run.pid)).toEqual([job]);
    expect((await box.cli('stop')).code).toBe(0);
    expect(isAlive(job)).toBe(false);
  });
});

describe('a start that fails after adopting', () => {
  it("leaves the previous daemon's jobs running for the next start, which adopts them", async () => {
    const box = sandbox();
    const marker = `${box.dir} kept`;
    box.write([`* * * * * * * 1 cron name=kept sleep 30; : ${marker}`]);
    const first = await box.start();
    const job = await waitFor(async () => (await box.task('kept'))?.running[0]?.pid, 6000, 'the job');
    await waitFor(() => box.savedJobPids().includes(job as number), 3000, 'the state file to list the job');
    process.kill(first, 'SIGKILL');
    await waitFor(() => !isAlive(first), 3000, 'the daemon to die');

    // A folder with something in it where the control socket goes: the listen fails after the adoption.
    rmSync(box.socket, { force: true }); // the killed daemon's socket
    mkdirSync(path.join(box.socket, 'in-the-way'), { recursive: true });
    const failed = await box.cli('start');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('start-up failed');
    expect(isAlive(job as number)).toBe(true);

    rmSync(box.socket, { recursive: true });
    await box.start();
    expect((await box.task('kept'))?.running.map((run) => run.pid)).toEqual([job]);
  });
});
