/**
 * Fault injection: jobs that ignore SIGTERM, against the real daemon (SPEC §1.5 timeout= and grace=,
 * §2, §4 kill). TERM goes first; after `grace` the whole group gets KILL, and nothing of the job is left
 * in /proc. A job that double-forks out of its group is covered by test/e2e/escape.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { sandboxes } from '../control/sandbox.js';
import { waitFor } from '../helpers/processes.js';
import { jobProcesses, markerLine } from './faults-support.js';

const sandbox = sandboxes();

const never = '0 0 0 1 1 * * 1 cron';
const GRACE_MS = 1000;

describe('a job that ignores SIGTERM (SPEC §2)', () => {
  it('is killed after grace when its timeout= passes: the run record says timed out, SIGKILL', async () => {
    const box = sandbox();
    box.write([markerLine(box.dir), `${never} name=stubborn timeout=1s grace=1s trap "" TERM; sleep 60`]);
    await box.start();
    expect((await box.cli('run', 'stubborn')).code).toBe(0);
    await waitFor(() => jobProcesses(box.dir).length >= 2, 5000, 'the job and its sleep');
    const [record] = await box.waitForFinished('stubborn', 1, 10_000);
    // TERM at 1 s is ignored by the shell and by sleep (an ignored signal stays ignored across exec).
    expect(record).toMatchObject({ timedOut: true, signal: 'SIGKILL', exitCode: null });
    expect(record.durationMs as number).toBeGreaterThanOrEqual(1000 + GRACE_MS);
    expect(record.durationMs as number).toBeLessThan(1000 + GRACE_MS + 3000);
    expect(jobProcesses(box.dir)).toEqual([]);
    console.log(`TERM-ignoring job, timeout=1s grace=1s: killed after ${String(record.durationMs)} ms`);
  }, 30_000);

  it.each([
    ['the whole job', 'trap "" TERM; sleep 60', 'SIGKILL'],
    // The shell dies of TERM at once; its child ignores TERM and holds no pipe, so it outlives the run record.
    ['a child that closed its output', '(trap "" TERM; exec sleep 60) >/dev/null 2>&1 & wait', 'SIGTERM'],
  ])('is killed after grace by `gotorch kill`: %s', async (_name, command, signal) => {
    const box = sandbox();
    box.write([markerLine(box.dir), `${never} name=stubborn grace=1s ${command}`]);
    await box.start();
    expect((await box.cli('run', 'stubborn')).code).toBe(0);
    await waitFor(() => jobProcesses(box.dir).length >= 2, 5000, 'the job and its sleep');
    const begin = Date.now();
    expect(await box.cli('kill', 'stubborn')).toEqual({ code: 0, stdout: 'stopped 1 running instance(s) of stubborn\n', stderr: '' });
    const [record] = await box.waitForFinished('stubborn', 1, 5000);
    expect(record).toMatchObject({ timedOut: false, signal, exitCode: null });
    await waitFor(() => jobProcesses(box.dir).length === 0, GRACE_MS + 3000, 'every process of the job to be gone');
    const gone = Date.now() - begin;
    expect(gone).toBeGreaterThanOrEqual(GRACE_MS);
    console.log(`TERM-ignoring ${_name}, kill with grace=1s: run record after ${String(record.durationMs)} ms of run, all gone ${gone} ms after kill`);
  }, 30_000);
});
