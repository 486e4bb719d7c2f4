/**
 * Crash re-adoption (SPEC §6, §12) on a fake process table and the scripted spawner: which saved jobs
 * are taken over, and that an adopted job counts against `max`, is stoppable and ends like any run.
 */
import { describe, expect, it } from 'vitest';
import { adoptableJobs, type PreviousDaemon, type SavedJob } from '../../src/supervisor/adoption.js';
import { FakeClock, FakeProcessTable, makeTask, ScriptedSpawner, settle, wiredSupervisor } from './fakes.js';

const INSTANCE = 'abcd1234';

function saved(pid: number, fields: Partial<SavedJob> = {}): SavedJob {
  return { task: 'capped', type: 'cron', graceMs: 1000, run: `100-1-${INSTANCE}`, pid, processStart: '500', role: 'job', scheduledAt: 100, startedAt: 100_000, ...fields };
}

function previous(jobs: SavedJob[], clean = false): PreviousDaemon {
  return { clean, instance: INSTANCE, jobs };
}

function setup() {
  const clock = new FakeClock();
  const spawner = new ScriptedSpawner();
  return { clock, spawner, ...wiredSupervisor({ clock, spawner, baseEnv: {} }), table: new FakeProcessTable() };
}

describe('which jobs of a previous daemon are adopted', () => {
  const task = makeTask({ id: 'capped', max: 1 });
  const tasks = new Map([[task.id, task]]);

  it.each([
    { name: 'the same process, carrying its run id', start: '500', env: { GOTORCH_RUN_ID: `100-1-${INSTANCE}` }, adopted: true },
    { name: 'a recycled pid (another start time)', start: '777', env: { GOTORCH_RUN_ID: `100-1-${INSTANCE}` }, adopted: false },
    { name: 'a process without that run id in its environment (a planted state file)', start: '500', env: { HOME: '/root' }, adopted: false },
    { name: 'a process carrying another run id', start: '500', env: { GOTORCH_RUN_ID: `101-1-${INSTANCE}` }, adopted: false },
  ])('$name: adopted $adopted', ({ start, env, adopted }) => {
    const table = new FakeProcessTable();
    table.add(4242, start, env);
    const found = adoptableJobs(previous([saved(4242)], true), table, tasks);
    expect(found.surviving.map((job) => job.pid)).toEqual(adopted ? [4242] : []);
    expect(found.gone).toBe(adopted ? 0 : 1);
  });

  it('a gone pid is counted as ended; pid 1 and malformed entries are never adopted', () => {
    const table = new FakeProcessTable();
    table.add(1, '500', { GOTORCH_RUN_ID: `100-1-${INSTANCE}` });
    const found = adoptableJobs(previous([saved(4242), saved(1), { ...saved(0), pid: Number.NaN }]), table, tasks);
    expect(found).toEqual({ surviving: [], unsaved: [], gone: 3 });
  });

  it('after a crash, finds the group leaders of runs the state file missed by their instance token; not after a clean stop', () => {
    const table = new FakeProcessTable();
    const env = (run: string) => ({ GOTORCH_RUN_ID: run, GOTORCH_TASK: 'capped', GOTORCH_SCHEDULED_AT: '105' });
    table.add(5000, '900', env(`105-7-${INSTANCE}`));
    table.add(5001, '901', env(`105-7-${INSTANCE}`), 5000); // a child in the job's group: not a job of its own
    table.add(6000, '902', env(`105-8-${INSTANCE}`), 5999); // only an escaped member is left: that run ended
    table.add(7000, '903', env('105-9-ffffffff')); // another daemon's run
    const crashed = adoptableJobs(previous([]), table, tasks);
    expect(crashed.unsaved).toEqual([
      { task: 'capped', type: 'cron', graceMs: 10_000, run: `105-7-${INSTANCE}`, pid: 5000, processStart: '900', role: 'job', scheduledAt: 105, startedAt: 9000 },
    ]);
    expect(adoptableJobs(previous([], true), table, tasks).unsaved).toEqual([]);
  });
});

describe('an adopted job', () => {
  it('holds max across the crash, shows in the snapshot, is stopped by kill, and frees its slot when it ends', async () => {
    const { clock, spawner, supervisor, runLog, table } = setup();
    const task = makeTask({ id: 'capped', max: 1 });
    table.add(4242, '500', { GOTORCH_RUN_ID: `100-1-${INSTANCE}` });
    const [job] = adoptableJobs(previous([saved(4242)]), table, new Map([[task.id, task]])).surviving;
    supervisor.adopt(task, job, true);
    expect(spawner.events).toEqual([`adopt:100-1-${INSTANCE}:4242`]);
    expect(supervisor.snapshot()[0].running).toEqual([expect.objectContaining({ run: `100-1-${INSTANCE}`, pid: 4242, scheduledAt: 100, startedAt: 100_000 })]);

    const second = Math.floor(clock.now() / 1000);
    expect(supervisor.fire(task, second)).toBe('skipped');
    const killed = supervisor.killTask('capped');
    expect(spawner.events).toContain('SIGTERM:4242');
    spawner.children[0].exit(null, 'SIGTERM');
    expect(await killed).toBe(1);
    await settle();
    expect(runLog.filter((record) => record.msg === 'run finished')).toEqual([expect.objectContaining({ run: `100-1-${INSTANCE}`, signal: 'SIGTERM', scheduledAt: 100 })]);

    expect(supervisor.fire(task, second + 1)).toBe('queued');
    await settle();
    expect(spawner.events.at(-1)).toMatch(/^spawn:echo capped:/);
  });

  it('of a task no longer in the file is tracked as removed until it ends, then forgotten', async () => {
    const { spawner, supervisor, table } = setup();
    const gone = makeTask({ id: 'old', max: 1 });
    table.add(4343, '500', { GOTORCH_RUN_ID: `100-1-${INSTANCE}` });
    const [job] = adoptableJobs(previous([saved(4343, { task: 'old' })]), table, new Map()).surviving;
    supervisor.adopt(gone, job, false);
    expect(supervisor.snapshot()).toEqual([expect.objectContaining({ id: 'old', current: false, running: [expect.objectContaining({ pid: 4343 })] })]);
    spawner.children[0].exit(0);
    await settle();
    expect(supervisor.snapshot()).toEqual([]);
  });
});
