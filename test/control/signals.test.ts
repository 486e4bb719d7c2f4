import { existsSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAlive, processesMentioning, runCli, waitFor } from '../helpers/processes.js';
import { sandboxes } from './sandbox.js';

const sandbox = sandboxes();

describe('quit (SPEC §4)', () => {
  it('stops daemon-type tasks at once, lets a running cron job finish, then exits', async () => {
    const box = sandbox();
    box.write([`* * * * * * * 1 daemon name=keeper sleep 600; : ${box.dir} keeper`, `0 0 0 1 1 * * 1 cron name=slow sleep 2; echo slow-done ${box.dir}`]);
    const pid = await box.start();
    const keeper = (await waitFor(async () => (await box.task('keeper'))?.running[0]?.pid, 5000, 'the keeper instance')) as number;
    expect((await box.cli('run', 'slow')).code).toBe(0);
    const slow = (await waitFor(async () => (await box.task('slow'))?.running[0]?.pid, 3000, 'the slow job')) as number;

    const quit = runCli([...box.globalArgs, 'quit']);
    await waitFor(() => !isAlive(keeper), 3000, 'the daemon-type task to stop');
    expect(isAlive(slow)).toBe(true);
    expect(isAlive(pid)).toBe(true);

    expect(await quit.closed).toBe(0);
    expect(quit.stdout()).toBe(`gotorch quit (pid ${pid})\n`);
    expect(isAlive(pid)).toBe(false);
    expect(isAlive(slow)).toBe(false);
    expect(box.finishedRuns('slow')).toMatchObject([{ jobPid: slow, exitCode: 0, signal: null, timedOut: false }]);
    expect(box.finishedRuns('slow')[0].durationMs as number).toBeGreaterThanOrEqual(1900);
    expect(box.runRecords().some((record) => record.task === 'slow' && record.stream === 'stdout' && record.line === `slow-done ${box.dir}`)).toBe(true);
    expect(box.finishedRuns('keeper')).toMatchObject([{ jobPid: keeper, signal: 'SIGTERM' }]);
    expect(existsSync(box.pidfile)).toBe(false);
    expect(processesMentioning(box.dir)).toEqual([]);
  });
});

describe('SIGHUP (SPEC §6)', () => {
  it('reopens the log files after they were renamed (logrotate\'s move, then SIGHUP)', async () => {
    const box = sandbox();
    box.write([`* * * * * * * 1 cron name=tick echo tick`]);
    const pid = await box.start();
    await waitFor(() => box.finishedRuns('tick').length > 0, 3000, 'a first tick in runs.log');

    const rotatedDaemonLog = path.join(box.logDir, 'gotorch.log.1');
    const rotatedRunsLog = path.join(box.logDir, 'runs.log.1');
    renameSync(box.daemonLog, rotatedDaemonLog);
    renameSync(box.runsLog, rotatedRunsLog);
    process.kill(pid, 'SIGHUP');
    await waitFor(() => existsSync(box.daemonLog), 3000, 'a new gotorch.log');
    expect((await box.cli('reload')).code).toBe(0);

    await box.waitForLog('task file reloaded', { trigger: 'reload command' });
    expect(box.daemonRecords().some((record) => record.msg === 'log files reopened')).toBe(true);
    await waitFor(() => box.finishedRuns('tick').length > 0, 3000, 'ticks in the new runs.log');
    // The rotated files got what came before the reopen, and nothing after it.
    const rotated = readFileSync(rotatedDaemonLog, 'utf8');
    expect(rotated).toContain('gotorch ready');
    expect(rotated).not.toContain('task file reloaded');
    expect(readFileSync(rotatedRunsLog, 'utf8')).toContain('"msg":"run finished"');
    // Nothing is written twice across the two generations.
    const all = [...readFileSync(rotatedRunsLog, 'utf8').split('\n'), ...readFileSync(box.runsLog, 'utf8').split('\n')].filter((line) => line.includes('run finished'));
    expect(all.length).toBe(new Set(all).size);
  });
});
