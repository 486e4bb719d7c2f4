import { describe, expect, it } from 'vitest';
import { FakeClock, makeTask, ScriptedSpawner, settle, wiredSupervisor } from './fakes.js';
import { SKIP_MESSAGE, SKIP_REPORT_MS, SKIPPED_FIRE_MESSAGE } from '../../src/daemon/skip-report.js';
import { skippedFires } from '../helpers/skips.js';

function setup(baseEnv: Record<string, string> = { PATH: '/usr/bin:/bin' }) {
  const clock = new FakeClock();
  const spawner = new ScriptedSpawner();
  const wired = wiredSupervisor({ clock, spawner, baseEnv });
  const finished = () => wired.runLog.filter((record) => record.msg === 'run finished');
  return { clock, spawner, ...wired, finished };
}

describe('Supervisor cron jobs (fake clock, scripted spawner)', () => {
  it('a start planned before its second begins is held to the boundary (issue 16: the ticker hands seconds over early); others are not held', async () => {
    const clock = new FakeClock(1_700_000_000_998);
    const spawner = new ScriptedSpawner();
    const holds: number[] = [];
    const spawnedAt: number[] = [];
    const recording = { spawn: (request: Parameters<ScriptedSpawner['spawn']>[0]) => (spawnedAt.push(clock.now()), spawner.spawn(request)), adopt: spawner.adopt.bind(spawner) };
    const holdUntil = (epochMs: number) => {
      holds.push(epochMs);
      if (epochMs > clock.now()) clock.advanceTo(epochMs); // as the addon's sleep does
    };
    const { supervisor, runLog } = wiredSupervisor({ clock, spawner: recording, baseEnv: {}, holdUntil });
    const next = 1_700_000_001;
    expect(supervisor.fire(makeTask({ id: 'due' }), next)).toBe('queued');
    await settle();
    expect(holds).toEqual([next * 1000]);
    expect(spawnedAt).toEqual([next * 1000]);
    spawner.children[0].exit(0);
    await settle();
    expect(runLog.find((record) => record.msg === 'run finished')).toMatchObject({ task: 'due', startedAt: next * 1000, lateMs: 0 });
    // A manual run is of the second it is in: the hold returns at once.
    clock.advance(300);
    supervisor.runNow(makeTask({ id: 'now' }));
    await settle();
    expect(spawnedAt).toEqual([next * 1000, next * 1000 + 300]);
  });

  it('SPEC §1.3: skips and logs a fire that would exceed max, counting queued starts, saying what holds it', async () => {
    const { supervisor, spawner, log, runLog, clock } = setup();
    const task = makeTask({ id: 'capped', max: 2 });
    const at = clock.now() / 1000;
    const results = Array.from({ length: 5 }, () => supervisor.fire(task, at));
    expect(results).toEqual(['queued', 'queued', 'skipped', 'skipped', 'skipped']);
    await settle();
    // Nothing ran yet when they were skipped: the two accepted starts hold max, and the record says so.
    expect(log.filter((record) => record.msg === SKIP_MESSAGE)).toEqual([expect.objectContaining({ task: 'capped', scheduledAt: at, running: 0, starting: 2, max: 2 })]);
    // The run log, the history, has them too, with the reason (SPEC §7).
    expect(runLog.filter((record) => record.msg === SKIPPED_FIRE_MESSAGE)).toEqual([expect.objectContaining({ task: 'capped', scheduledAt: at, reason: 'max', running: 0, starting: 2, max: 2 })]);
    await settle();
    expect(spawner.children).toHaveLength(2);
    expect(supervisor.fire(task, at + 1)).toBe('skipped');
    await settle();
    clock.advance(SKIP_REPORT_MS);
    const counted = log.filter((record) => record.msg === SKIP_MESSAGE)[1];
    expect(counted).toMatchObject({ task: 'capped', skipped: 3, seconds: [at, at, at + 1], running: 2, starting: 0, max: 2 });
    spawner.children[0].exit(0);
    await settle();
    expect(supervisor.fire(task, at + 1)).toBe('queued');
  });

  it('a task held at max logs one record a minute, with every skipped second, not one a second (supercronic#86)', async () => {
    const { supervisor, spawner, log, clock, events, daemonLog } = setup();
    const held = makeTask({ id: 'held', max: 1 });
    const other = makeTask({ id: 'other', max: 1 });
    const first = clock.now() / 1000;
    supervisor.fire(held, first);
    supervisor.fire(other, first);
    await settle();
    expect(spawner.children).toHaveLength(2);
    for (let second = first + 1; second <= first + 300; second++) {
      clock.advanceTo(second * 1000);
      expect(supervisor.fire(held, second)).toBe('skipped');
      if (second <= first + 3) expect(supervisor.fire(other, second)).toBe('skipped');
      await settle(2); // the skips reach the daemon's log before the clock moves on
    }
    const records = log.filter((record) => record.msg === SKIP_MESSAGE);
    // held: the first skip at once, then one record per full minute (the last minute is still counting).
    expect(records.filter((record) => record.task === 'held')).toHaveLength(5);
    // other: one at once, the next two counted into one record a minute later.
    expect(records.filter((record) => record.task === 'other').map((record) => record.skipped ?? 1)).toEqual([1, 2]);
    // The minute still counting is logged at shutdown: every skip is on record.
    const stopped = supervisor.stopAll();
    for (const child of spawner.children) child.exit(null, 'SIGTERM');
    await stopped;
    await events.drained();
    daemonLog.flush();
    const skips = skippedFires(log);
    expect(skips.filter((skip) => skip.task === 'held').map((skip) => skip.scheduledAt)).toEqual(Array.from({ length: 300 }, (_, index) => first + 1 + index));
    expect(skips.filter((skip) => skip.task === 'other')).toHaveLength(3);
  });

  it('max 0 is unlimited', () => {
    const { supervisor } = setup();
    const task = makeTask({ id: 'free', max: 0 });
    expect(Array.from({ length: 20 }, () => supervisor.fire(task, 1))).not.toContain('skipped');
  });

  it('spawns from a queue on the next turn, never inside fire() (batching: start-queue.test.ts)', async () => {
    const { supervisor, spawner } = setup();
    const task = makeTask({ id: 'burst' });
    for (let i = 0; i < 200; i++) supervisor.fire(task, 1);
    expect(spawner.children).toHaveLength(0);
    await settle(250);
    expect(spawner.children).toHaveLength(200);
  });

  it('SPEC §2: shell, command, cwd and the job environment', async () => {
    const { supervisor, spawner } = setup({ PATH: '/bin', HOME: '/root', SHARED: 'base' });
    const task = makeTask(
      { id: 'env', command: 'run-it', shell: '/bin/bash', env: { SHARED: 'task', ONLY: 'task' } },
      { cwd: '/srv' },
    );
    supervisor.fire(task, 1_700_000_000);
    await settle();
    const { request } = spawner.children[0];
    expect(request).toMatchObject({ shell: '/bin/bash', command: 'run-it', cwd: '/srv' });
    expect(request.env).toMatchObject({
      PATH: '/bin',
      HOME: '/root',
      SHARED: 'task',
      ONLY: 'task',
      GOTORCH_TASK: 'env',
      GOTORCH_SCHEDULED_AT: '1700000000',
    });
    expect(request.env.GOTORCH_RUN_ID).toMatch(/^1700000000-\d+-[0-9a-f]+$/);
  });

  it('gives every run a unique id', async () => {
    const { supervisor, spawner } = setup();
    const task = makeTask({ id: 'ids' });
    for (let i = 0; i < 50; i++) supervisor.fire(task, 5);
    await settle(80);
    expect(new Set(spawner.children.map((child) => child.request.env.GOTORCH_RUN_ID)).size).toBe(50);
  });

  it('SPEC §2: output lines and one final record with lateness, duration and bytes', async () => {
    const { supervisor, spawner, clock, runLog, finished } = setup();
    const scheduledAt = Math.floor(clock.now() / 1000);
    clock.advance(250);
    supervisor.fire(makeTask({ id: 'rec' }, { logLimit: 8 }), scheduledAt);
    await settle();
    const child = spawner.children[0];
    const runId = child.request.env.GOTORCH_RUN_ID;
    child.write('stdout', 'hello\n');
    child.write('stderr', 'oops\nlost\n');
    clock.advance(1500);
    child.exit(2);
    await settle();
    const lines = runLog.filter((record) => 'line' in record);
    expect(lines).toEqual([
      expect.objectContaining({ task: 'rec', run: runId, stream: 'stdout', line: 'hello' }),
      expect.objectContaining({ task: 'rec', run: runId, stream: 'stderr', line: 'oo' }),
    ]);
    expect(finished()).toEqual([
      expect.objectContaining({
        task: 'rec',
        run: runId,
        jobPid: child.pid,
        scheduledAt,
        lateMs: 250,
        durationMs: 1500,
        exitCode: 2,
        signal: null,
        timedOut: false,
        bytesKept: 8,
        bytesDropped: 8,
        error: null,
      }),
    ]);
  });

  it('a spawn failure is a failed run record and clears the running state', async () => {
    const { supervisor, spawner, finished } = setup();
    const task = makeTask({ id: 'broken', max: 1 });
    supervisor.fire(task, 1);
    await settle();
    spawner.children[0].fail('spawn /bin/nosh ENOENT');
    await settle();
    expect(finished()[0]).toMatchObject({ task: 'broken', exitCode: null, error: 'spawn /bin/nosh ENOENT' });
    expect(supervisor.snapshot()[0]).toMatchObject({ running: [], lastExit: { error: 'spawn /bin/nosh ENOENT' } });
    expect(supervisor.fire(task, 2)).toBe('queued');
  });

  it('SPEC §1.5 timeout: TERM the group, KILL after grace, record says timed out', async () => {
    const { supervisor, spawner, clock, finished } = setup();
    supervisor.fire(makeTask({ id: 'slow' }, { timeoutMs: 5000, graceMs: 2000 }), clock.now() / 1000);
    await settle();
    const child = spawner.children[0];
    clock.advance(4999);
    expect(child.signals).toEqual([]);
    clock.advance(1);
    expect(child.signals).toEqual(['SIGTERM']);
    clock.advance(1999);
    expect(child.signals).toEqual(['SIGTERM']);
    clock.advance(1);
    expect(child.signals).toEqual(['SIGTERM', 'SIGKILL']);
    child.exit(null, 'SIGKILL');
    await settle();
    expect(finished()[0]).toMatchObject({ timedOut: true, signal: 'SIGKILL', exitCode: null, durationMs: 7000 });
  });

  it('a run that exits after TERM is not killed later, and its timeout no longer matters', async () => {
    const { supervisor, spawner, clock } = setup();
    supervisor.fire(makeTask({ id: 'polite' }, { timeoutMs: 1000, graceMs: 2000 }), 1);
    await settle();
    const child = spawner.children[0];
    clock.advance(1000);
    child.exit(null, 'SIGTERM');
    await settle();
    expect(clock.pending).toBe(0);
    clock.advance(5000);
    expect(child.signals).toEqual(['SIGTERM']);
  });

  it('killTask TERMs every instance, KILLs after grace, and resolves with the count once they exited', async () => {
    const { supervisor, spawner, clock } = setup();
    const task = makeTask({ id: 'victim' }, { graceMs: 3000 });
    supervisor.fire(task, 1);
    supervisor.fire(task, 1);
    await settle();
    let killed: number | undefined;
    void supervisor.killTask('victim').then((count) => (killed = count));
    expect(spawner.children.map((child) => child.signals)).toEqual([['SIGTERM'], ['SIGTERM']]);
    spawner.children[0].exit(null, 'SIGTERM');
    clock.advance(3000);
    expect(spawner.children[1].signals).toEqual(['SIGTERM', 'SIGKILL']);
    await settle();
    expect(killed).toBeUndefined();
    spawner.children[1].exit(null, 'SIGKILL');
    await settle();
    expect(killed).toBe(2);
    expect(await supervisor.killTask('nobody')).toBe(0);
  });

  it('runNow respects max and uses the current second', async () => {
    const { supervisor, spawner, clock } = setup();
    const task = makeTask({ id: 'manual', max: 1 });
    expect(supervisor.runNow(task)).toBe('queued');
    expect(supervisor.runNow(task)).toBe('skipped');
    await settle();
    expect(spawner.children[0].request.env.GOTORCH_SCHEDULED_AT).toBe(String(Math.floor(clock.now() / 1000)));
  });

  it('stopAll drops queued starts, TERMs everything and resolves when all exited', async () => {
    const { supervisor, spawner, log } = setup();
    const task = makeTask({ id: 'many' });
    supervisor.fire(task, 1);
    await settle();
    supervisor.fire(task, 1);
    let stopped = false;
    void supervisor.stopAll().then(() => (stopped = true));
    await settle();
    expect(spawner.children).toHaveLength(1);
    expect(spawner.children[0].signals).toEqual(['SIGTERM']);
    expect(log.some((record) => record.msg === 'shutting down: queued starts dropped')).toBe(true);
    expect(stopped).toBe(false);
    spawner.children[0].exit(null, 'SIGTERM');
    await settle();
    expect(stopped).toBe(true);
    expect(supervisor.fire(task, 2)).toBe('skipped');
  });

  it('drain lets cron jobs finish without signalling them', async () => {
    const { supervisor, spawner } = setup();
    supervisor.fire(makeTask({ id: 'cron' }), 1);
    await settle();
    let drained = false;
    void supervisor.drain().then(() => (drained = true));
    await settle();
    expect(spawner.children[0].signals).toEqual([]);
    expect(drained).toBe(false);
    spawner.children[0].exit(0);
    await settle();
    expect(drained).toBe(true);
  });
});
