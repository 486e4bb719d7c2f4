/**
 * Fault injection: `kill -9` of the daemon under load, then the next daemon (SPEC §6, §1.3, §3): the
 * job keeper's restart (issue 17, the default), or `gotorch start` for a daemon run alone
 * (GOTORCH_KEEPER=off). The jobs it left are taken over — also those started in the instant before the
 * crash — `max` holds across both lifetimes, no (task, second) starts twice, and `stop` ends every job,
 * adopted ones included. Two crashes (the last one right before `stop`); six with GOTORCH_LONG=1.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { procTable } from '../../src/supervisor/process-table.js';
import { isAlive, waitFor } from '../helpers/processes.js';
import { sandboxes } from '../control/sandbox.js';
import { doubleStarts, jobLeaders, jobProcesses, LONG, markerLine, peakOverlap, percentile, readEvidence, writeJobScript } from './faults-support.js';

const sandbox = sandboxes();

const CRASHES = LONG ? 5 : 1;
/** Tasks due every second with max=1 and a 20-30 s job: each always has its one job running. */
const SLOW_TASKS = 50;
/** Tasks due every second with max=3 and a 2 s job: a start every second, so a crash always falls right after one. */
const QUICK_TASKS = 5;
const QUICK_MAX = 3;
/** Tasks due every second with max=1 and a 1.5 s job: a start every other second; a job not re-adopted shows as two at once. */
const BRIEF_TASKS = 10;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const slowName = (index: number): string => `slow-${String(index).padStart(2, '0')}`;

describe.each([
  { mode: 'under the job keeper, which starts it again', keeper: true },
  { mode: 'run alone, then `gotorch start`', keeper: false },
])('kill -9 of the daemon under load (SPEC §6): $mode', ({ keeper }) => {
  it(`re-adopts every job it left, keeps max and starts no second twice, across ${CRASHES + 1} crashes`, async () => {
    const box = sandbox();
    const evidence = path.join(box.dir, 'evidence');
    writeJobScript(box.dir, evidence);
    const lines = [markerLine(box.dir)];
    for (let index = 0; index < SLOW_TASKS; index++) lines.push(`* * * * * * * 1 cron name=${slowName(index)} sh job.sh ${20 + (index % 11)}`);
    for (let index = 0; index < QUICK_TASKS; index++) lines.push(`* * * * * * * ${QUICK_MAX} cron name=quick-${index} sh job.sh 2`);
    for (let index = 0; index < BRIEF_TASKS; index++) lines.push(`* * * * * * * 1 cron name=brief-${index} sh job.sh 1.5`);
    box.write(lines);

    let pid = await box.startWithEnv({ GOTORCH_KEEPER: keeper ? 'on' : 'off' });
    const started = (task: string, after: number): boolean => readEvidence(evidence).some((entry) => entry.kind === 's' && entry.task === task && entry.second > after);
    await waitFor(() => Array.from({ length: SLOW_TASKS }, (_, index) => slowName(index)).every((task) => started(task, 0)), 15_000, 'every slow task to start');

    const figures = { orphans: [] as number[], adopted: [] as number[], unsaved: [] as number[], restartMs: [] as number[] };
    /** kill -9, then `gotorch start`: every job alive at the crash must be tracked again. Returns the second it restarted. */
    const crashAndRestart = async (): Promise<number> => {
      const seen = box.daemonRecords().length;
      process.kill(pid, 'SIGKILL');
      await waitFor(() => !isAlive(pid), 3000, 'the daemon to die');
      // The jobs alive at the crash (one that ended between the scan and the stat is left out).
      const orphans = jobLeaders(box.dir)
        .map((leader) => ({ pid: leader, start: procTable.stat(leader)?.startTime }))
        .filter((orphan) => orphan.start !== undefined);

      const begin = Date.now();
      // Under the keeper the next daemon is the one it starts (after GOTORCH_RESTART_DELAY, 1 s); alone, `gotorch start`.
      const next = keeper
        ? (await box.statusOfAnother(pid, 15_000, 'the keeper to start the daemon again')).pid
        : await box.startWithEnv({ GOTORCH_KEEPER: 'off' });
      figures.restartMs.push(Date.now() - begin);
      expect(next).not.toBe(pid);
      expect(await box.waitForLog('replaced a stale pidfile', { stalePid: pid }, 3000, seen)).toMatchObject({ level: 40 });

      // Every job alive at the crash is tracked again, unless it ended meanwhile.
      const listed = new Set((await box.status()).tasks.flatMap((task) => task.running.map((run) => run.pid)));
      const lost = orphans.filter((orphan) => !listed.has(orphan.pid) && procTable.stat(orphan.pid)?.startTime === orphan.start);
      expect(lost, `jobs alive at the crash that the restarted daemon does not track (${orphans.length} were alive)`).toEqual([]);
      const records = box.daemonRecords().slice(seen);
      const alive = orphans.filter((orphan) => procTable.stat(orphan.pid)?.startTime === orphan.start).length;
      const adopted = keeper
        ? Array.from({ length: Number(records.find((record) => record.msg === 'took over the jobs the keeper held while no daemon ran')?.jobs ?? 0) })
        : records.filter((record) => record.msg === 'adopted a job still running from a previous daemon');
      expect(adopted.length).toBeGreaterThanOrEqual(alive);
      figures.orphans.push(orphans.length);
      figures.adopted.push(adopted.length);
      figures.unsaved.push(Number(records.find((record) => record.msg === 'found jobs the previous daemon started after its last state save')?.jobs ?? 0));
      pid = next;
      return Math.floor(begin / 1000);
    };

    let restartSecond = 0;
    for (let crash = 0; crash < CRASHES; crash++) {
      // A random moment, under load: the quick tasks started a job less than a second ago, whatever it is.
      await sleep(2000 + Math.random() * (LONG ? 20_000 : 4000));
      restartSecond = await crashAndRestart();
    }

    // Every slow task's adopted job ends (20-30 s) and the task starts again under the last daemon.
    const slowTasks = Array.from({ length: SLOW_TASKS }, (_, index) => slowName(index));
    await waitFor(() => slowTasks.every((task) => started(task, restartSecond)), 45_000, 'every slow task to start again after the last restart');

    // One more crash, and `stop` at once: every job it stops is one it adopted.
    await crashAndRestart();
    expect(await box.cli('stop')).toMatchObject({ code: 0, stdout: `gotorch stopped (pid ${pid})\n` });
    expect(jobProcesses(box.dir)).toEqual([]);

    const all = readEvidence(evidence);
    const peaks = peakOverlap(all);
    const slowPeak = Math.max(...slowTasks.map((task) => peaks.get(task) ?? 0));
    const quickPeak = Math.max(...Array.from({ length: QUICK_TASKS }, (_, index) => peaks.get(`quick-${index}`) ?? 0));
    const briefPeak = Math.max(...Array.from({ length: BRIEF_TASKS }, (_, index) => peaks.get(`brief-${index}`) ?? 0));
    const starts = all.filter((entry) => entry.kind === 's').length;
    console.log(
      `kill -9 (${keeper ? 'the keeper starts it again' : 'alone, gotorch start'}): ${CRASHES + 1} crashes, ${starts} runs, jobs alive at each crash ${figures.orphans.join('/')}, adopted ${figures.adopted.join('/')} ` +
        `(not in the state file, found by run id: ${figures.unsaved.join('/')}), ` +
        `restart to ready ${figures.restartMs.join('/')} ms (p50 ${percentile(figures.restartMs, 0.5)}), peak overlap slow ${slowPeak} brief ${briefPeak} (max 1) quick ${quickPeak} (max ${QUICK_MAX}), doubles ${doubleStarts(all).length}`,
    );
    expect(doubleStarts(all)).toEqual([]);
    expect(slowPeak).toBe(1);
    expect(briefPeak).toBe(1);
    expect(quickPeak).toBeLessThanOrEqual(QUICK_MAX);
  }, (LONG ? 240 : 120) * 1000);
});
