/**
 * The state file's saves (SPEC §6; issue 16's lean per-run path): a save that would only move
 * `lastSecond` is skipped, a change of the running jobs is written, a clean stop always is, and a
 * failed write does not stop later saves.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readState, StateFile } from '../../src/daemon/state.js';
import type { Run } from '../../src/supervisor/run.js';
import { tasksFrom } from '../helpers/tasks.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'gotorch-state-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A running job as the state file reads it: this test process stands in for the job (a real pid with a start time). */
function runningJob(id: string): Run {
  return { id, pid: process.pid, task: tasksFrom('* * * * * * * 1 cron name=job true')[0], role: 'job', scheduledAt: 100, startedAt: 100_000, trigger: 'schedule', attempt: 1 } as unknown as Run;
}

const written = (file: string) => ({ state: readState(file), inode: statSync(file).ino, mtimeMs: statSync(file).mtimeMs });

describe('StateFile', () => {
  it('skips a save whose jobs are those on disk, writes a change of jobs, and always a clean stop', async () => {
    const file = path.join(dir, 'gotorch.state.json');
    const state = new StateFile(file, 'abcd1234');
    await state.saveIfDirty(10, []);
    const first = written(file);
    expect(first.state).toMatchObject({ lastSecond: 10, clean: false, jobs: [] });

    // Runs that started and ended between two ticks: dirty, but the same (empty) jobs.
    state.markDirty();
    await state.saveIfDirty(11, []);
    expect(written(file)).toEqual(first);

    const job = runningJob('11-1-abcd1234');
    state.markDirty();
    await state.saveIfDirty(12, [job]);
    const second = written(file);
    expect(second.inode).not.toBe(first.inode); // a new file renamed over the old one
    expect(second.state).toMatchObject({ lastSecond: 12, jobs: [{ run: '11-1-abcd1234', pid: process.pid }] });

    state.markDirty();
    await state.saveIfDirty(13, [job]);
    expect(written(file).inode).toBe(second.inode);

    state.markDirty();
    await state.saveIfDirty(14, []);
    expect(written(file).state).toMatchObject({ lastSecond: 14, jobs: [] });

    await state.saveClean(15, [], () => 0);
    expect(written(file).state).toMatchObject({ lastSecond: 15, clean: true, jobs: [] });
  });

  it('writes again after a failed write, with the jobs of the next save', async () => {
    const folder = path.join(dir, 'run');
    const file = path.join(folder, 'gotorch.state.json');
    const state = new StateFile(file, 'abcd1234');
    // The folder is missing: the write fails and says so to its caller.
    await expect(state.saveIfDirty(10, [])).rejects.toThrow();
    mkdirSync(folder);
    state.markDirty();
    await state.saveIfDirty(11, []);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ lastSecond: 11, jobs: [] });
  });
});
