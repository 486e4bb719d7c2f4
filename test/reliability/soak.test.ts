/**
 * Soak with churn: 1,000 second-level tasks, the task file rewritten every 5 s with random changes
 * (tasks added and removed, schedules and `max` changed, lines moved), in place or by an editor's
 * atomic rename. Every job appends `task GOTORCH_SCHEDULED_AT` to one record file; counted against the
 * schedules in force (SPEC §5: a reload holds from the first second planned after it), no fire may be
 * missed or duplicated (SPEC §3). 2 minutes by default, 10 with GOTORCH_LONG=1; SOAK_SEED replays a run.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { summary } from '../../scripts/bench/stats.js';
import { isAlive, waitFor } from '../helpers/processes.js';
import { readRotatedLog, sandboxes, type LogRecord, type Sandbox } from '../control/sandbox.js';
import { expectedFires, fireRate, tally, taskFileLines, Workload, type LateWake, type Version } from './soak-support.js';
import { skippedFires } from '../helpers/skips.js';

const LONG = process.env.GOTORCH_LONG === '1';
const DURATION_MS = (LONG ? 600 : 120) * 1000;
const REWRITE_MS = 5000;
const TASKS = 1000;
const SEED = process.env.SOAK_SEED === undefined ? 0x50a4_2026 : Number(process.env.SOAK_SEED);

const sandbox = sandboxes();

/** A JSON-lines log with its rotated generations (name.log.5 … name.log.1, then name.log), oldest first. */
const reloads = (box: Sandbox): LogRecord[] => box.daemonRecords().filter((record) => record.msg === 'task file reloaded');

function fireRecords(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

function residentKb(pid: number): number {
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
}

const sleepUntil = (at: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));

describe('soak with churn', () => {
  it(`fires every due (task, second) exactly once for ${DURATION_MS / 60_000} min of reloads every 5 s (seed ${SEED})`, async () => {
    const box = sandbox();
    const records = path.join(box.dir, 'fires.log');
    const workload = new Workload(SEED);
    let tasks = workload.initial(TASKS);
    box.write(taskFileLines(tasks, records));
    const pid = await box.start();
    await box.watching();
    const ready = await box.waitForLog('gotorch ready');
    const readyAt = ready.time as number;
    // Resident memory after each rewrite: growth that does not level off would be a leak.
    const rss = [residentKb(pid)];
    const versions: Version[] = [{ fromSecond: Number.NEGATIVE_INFINITY, tasks }];
    const rates = [fireRate(tasks)];
    let atomic = 0;
    let shuffled = 0;

    // The workload's own cadence: a rewrite every 5 s, each of which must be applied before the next.
    for (let at = readyAt + REWRITE_MS; at < readyAt + DURATION_MS - 2000; at += REWRITE_MS) {
      await sleepUntil(at);
      expect(isAlive(pid) && box.pidfilePid() === pid, `the daemon (pid ${pid}) is gone or was replaced before rewrite ${versions.length}`).toBe(true);
      const change = workload.churn(tasks, TASKS);
      const lines = taskFileLines(change.tasks, records);
      if (workload.atomicSave()) {
        box.saveAtomically(lines);
        atomic++;
      } else {
        box.write(lines);
      }
      if (change.shuffled) shuffled++;
      const index = versions.length - 1;
      const reload = await waitFor(() => reloads(box)[index], 4000, `the reload of rewrite ${index + 1} (seed ${SEED}): a rewrite not applied`);
      expect(reload, `rewrite ${index + 1} (seed ${SEED})`).toMatchObject({ trigger: 'file change', summary: change.summary, tasks: change.tasks.size });
      expect(reload.fromSecond, `rewrite ${index + 1}: the first second under the new schedule`).toBeGreaterThan(versions[index].fromSecond);
      versions.push({ fromSecond: reload.fromSecond as number, tasks: change.tasks });
      rates.push(fireRate(change.tasks));
      tasks = change.tasks;
      rss.push(residentKb(pid));
    }
    await sleepUntil(readyAt + DURATION_MS);

    // Counted: the seconds after the one the daemon became ready in, up to the last one fully behind us.
    const first = Math.floor(readyAt / 1000) + 1;
    const last = Math.floor(Date.now() / 1000) - 1;
    const lateWakes = (): LateWake[] =>
      box
        .daemonRecords()
        .filter((record) => record.msg === 'woke late: planned every missed second, each due task once')
        .map((record) => ({ fromSecond: record.fromSecond as number, toSecond: record.toSecond as number }));
    const pending = expectedFires(versions, lateWakes(), first, last);
    // The last second's jobs may still be starting: wait for their records before stopping the daemon.
    await waitFor(() => {
      const seen = new Set(fireRecords(records));
      return [...pending].every((pair) => seen.has(pair));
    }, 15_000, 'every expected fire to be recorded').catch(() => undefined);
    expect(isAlive(pid) && box.pidfilePid() === pid, `the daemon (pid ${pid}) is gone or was replaced`).toBe(true);
    rss.push(residentKb(pid));
    const stopped = await box.cli('stop');
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(isAlive(pid)).toBe(false);

    const daemonLog = readRotatedLog(box.daemonLog);
    const skips = new Set(skippedFires(daemonLog).map((skip) => `${skip.task} ${skip.scheduledAt}`));
    const expected = expectedFires(versions, lateWakes(), first, last);
    const counts = tally(expected, fireRecords(records), skips, first, last);
    const runs = readRotatedLog(box.runsLog).filter((record) => record.msg === 'run finished' && (record.scheduledAt as number) <= last);
    const failedRuns = runs.filter((record) => record.exitCode !== 0 || record.error !== null);
    const lateness = summary(runs.filter((record) => (record.scheduledAt as number) >= first).map((record) => record.lateMs as number));
    const errors = daemonLog.filter((record) => (record.level as number) >= 50);
    const clockJumps = daemonLog.filter((record) => /^clock jumped/.test(String(record.msg)));
    const late = lateWakes();
    const meanRate = rates.reduce((sum, rate) => sum + rate, 0) / rates.length;

    console.log(
      `soak seed=${SEED} ${((last - first + 1) / 60).toFixed(1)} min, ${TASKS} tasks (~${meanRate.toFixed(0)} fires/s): ` +
        `fires expected ${counts.expected}, seen ${counts.seen}, missed ${counts.missed.length}, duplicated ${counts.duplicated.length}, ` +
        `unexpected ${counts.unexpected.length}, skipped for max ${counts.skipped.length}; reloads ${versions.length - 1}/${versions.length - 1} applied ` +
        `(${atomic} atomic, ${versions.length - 1 - atomic} in place, ${shuffled} reordered); late wakes ${late.length} ` +
        `(${late.reduce((sum, wake) => sum + wake.toSecond - wake.fromSecond - 1, 0)} s); start lateness p50 ${lateness.p50} ms, p99 ${lateness.p99} ms, ` +
        `max ${lateness.max} ms; daemon RSS ${[rss[0], rss[Math.floor(rss.length / 2)], rss.at(-1)!].map((kb) => Math.round(kb / 1024)).join(' → ')} MiB (start, middle, end)`,
    );

    const sample = (pairs: readonly string[]): string => pairs.slice(0, 10).join('; ');
    expect(counts.missed.length, `missed (replay with SOAK_SEED=${SEED}): ${sample(counts.missed)}`).toBe(0);
    expect(counts.duplicated.length, `duplicated: ${sample(counts.duplicated)}`).toBe(0);
    expect(counts.unexpected.length, `fired outside the schedule in force: ${sample(counts.unexpected)}`).toBe(0);
    expect(counts.skipped.length, `skipped for max though every job is one short append: ${sample(counts.skipped)}`).toBe(0);
    expect(counts.expected).toBeGreaterThan(((last - first) * meanRate) / 2);
    expect(reloads(box).length, 'reloads logged: one per rewrite, none extra').toBe(versions.length - 1);
    expect(daemonLog.filter((record) => record.msg === 'gotorch ready').map((record) => record.pid)).toEqual([pid]);
    expect(errors.map((record) => JSON.stringify(record))).toEqual([]);
    expect(clockJumps.map((record) => JSON.stringify(record))).toEqual([]);
    expect(failedRuns.map((record) => JSON.stringify(record)).slice(0, 10)).toEqual([]);
    expect(runs.filter((record) => (record.scheduledAt as number) >= first).length).toBe(counts.seen + counts.unexpected.length);
  }, DURATION_MS + 120_000);
});
