import { describe, expect, it } from 'vitest';
import { backoffAfterExit, initialBackoff } from '../../src/supervisor/backoff.js';
import type { Task } from '../../src/tasks/types.js';
import { FakeClock, makeTask, ScriptedSpawner, settle, wiredSupervisor } from './fakes.js';

function setup() {
  const clock = new FakeClock();
  const spawner = new ScriptedSpawner();
  const { supervisor, log } = wiredSupervisor({ clock, spawner, baseEnv: {} });
  return { clock, spawner, log, supervisor };
}

const daemon = (fields: Partial<Task> = {}, options = {}) =>
  makeTask({ id: 'worker', type: 'daemon', max: 1, command: 'node worker.js', ...fields }, options);

describe('back-off (SPEC §1.4)', () => {
  it('doubles from 1 s, caps at 60 s, resets after 60 s up', () => {
    let state = initialBackoff;
    const delays: number[] = [];
    for (const upMs of [0, 10, 500, 900, 5000, 59_999, 0, 0, 60_000, 0]) {
      const { delayMs, next } = backoffAfterExit(state, upMs);
      delays.push(delayMs);
      state = next;
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 1000, 2000]);
  });
});

describe('daemon tasks (fake clock, scripted spawner)', () => {
  it('SPEC §1.4: keeps max instances while the window is open', async () => {
    const { supervisor, spawner } = setup();
    const task = daemon({ max: 3 });
    supervisor.setTasks([task]);
    supervisor.keepDaemons(task, true);
    supervisor.keepDaemons(task, true);
    await settle();
    expect(spawner.alive()).toHaveLength(3);
    supervisor.keepDaemons(task, true);
    await settle();
    expect(spawner.children).toHaveLength(3);
  });

  it('restarts an exited instance after 1, 2, 4 ... 60, 60 s and resets after 60 s up', async () => {
    const { supervisor, spawner, clock, log } = setup();
    const task = daemon();
    supervisor.setTasks([task]);
    supervisor.keepDaemons(task, true);
    await settle();
    const observed: number[] = [];
    const crashAfter = async (upMs: number) => {
      clock.advance(upMs);
      spawner.alive()[0].exit(3);
      await settle();
      const before = spawner.children.length;
      let waited = 0;
      while (spawner.children.length === before) {
        clock.advance(1000);
        supervisor.keepDaemons(task, true); // the tick calls it every second: it must not skip the back-off
        waited += 1000;
        await settle();
        if (waited > 120_000) throw new Error('no restart');
      }
      observed.push(waited);
    };
    for (let i = 0; i < 8; i++) await crashAfter(0);
    await crashAfter(60_000);
    await crashAfter(0);
    expect(observed).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 1000, 2000]);
    const exits = log.filter((record) => record.msg === 'daemon exited');
    expect(exits[0]).toMatchObject({ task: 'worker', exitCode: 3, restartInMs: 1000 });
    expect(exits[7]).toMatchObject({ exitCode: 3, restartInMs: 60_000 });
  });

  it('the restart comes exactly at the back-off time, from the injected clock', async () => {
    const { supervisor, spawner, clock } = setup();
    const task = daemon();
    supervisor.keepDaemons(task, true);
    await settle();
    spawner.children[0].exit(1);
    await settle();
    expect(supervisor.snapshot()[0].backoff).toEqual({ nextDelayMs: 2000, restartAt: clock.now() + 1000 });
    clock.advance(999);
    await settle();
    expect(spawner.children).toHaveLength(1);
    clock.advance(1);
    await settle();
    expect(spawner.children).toHaveLength(2);
  });

  it('stops instances gracefully when the window closes, and starts fresh when it reopens', async () => {
    const { supervisor, spawner, clock } = setup();
    const task = daemon({ max: 2 }, { graceMs: 5000 });
    supervisor.keepDaemons(task, true);
    await settle();
    supervisor.keepDaemons(task, false);
    expect(spawner.children.map((child) => child.signals)).toEqual([['SIGTERM'], ['SIGTERM']]);
    clock.advance(5000);
    expect(spawner.children.map((child) => child.signals)).toEqual([
      ['SIGTERM', 'SIGKILL'],
      ['SIGTERM', 'SIGKILL'],
    ]);
    for (const child of spawner.children) child.exit(null, 'SIGKILL');
    await settle();
    expect(spawner.children).toHaveLength(2);
    expect(supervisor.snapshot()[0].backoff).toEqual({ nextDelayMs: 1000, restartAt: null });
    supervisor.keepDaemons(task, true);
    await settle();
    expect(spawner.alive()).toHaveLength(2);
  });

  it.each([
    ['command', daemon({ command: 'node worker2.js' })],
    ['environment', daemon({ env: { MODE: 'fast' } })],
    ['shell', daemon({ shell: '/bin/bash' })],
    ['cwd', daemon({}, { cwd: '/srv' })],
    ['user', daemon({}, { user: 'nobody' })],
  ])('SPEC §5: a changed %s restarts the instances: start new, then stop old', async (_field, changed) => {
    const { supervisor, spawner } = setup();
    const task = daemon({ max: 2 });
    supervisor.setTasks([task]);
    supervisor.keepDaemons(task, true);
    await settle();
    const old = spawner.alive();
    spawner.events.length = 0;
    const next = { ...changed, max: 2 };
    supervisor.setTasks([next]);
    await settle();
    expect(spawner.events).toEqual([
      `spawn:${next.command}:1003`,
      `spawn:${next.command}:1004`,
      `SIGTERM:${old[0].pid}`,
      `SIGTERM:${old[1].pid}`,
    ]);
    const { shell, options } = next;
    expect(spawner.children[2].request).toMatchObject({ shell, cwd: options.cwd, user: options.user });
    for (const child of old) child.exit(0);
    await settle();
    supervisor.keepDaemons(next, true);
    await settle();
    expect(spawner.children).toHaveLength(4);
  });

  it('SPEC §5: other changes (schedule, grace, timeout) keep the running instances', async () => {
    const { supervisor, spawner } = setup();
    const task = daemon({ max: 2 });
    supervisor.setTasks([task]);
    supervisor.keepDaemons(task, true);
    await settle();
    supervisor.setTasks([daemon({ max: 2, scheduleText: '* * 9-17 * * *' }, { graceMs: 1, timeoutMs: 99 })]);
    await settle();
    expect(spawner.children).toHaveLength(2);
    expect(spawner.children.flatMap((child) => child.signals)).toEqual([]);
  });

  it('SPEC §5: a lower max stops the newest extra instances; a higher max starts more', async () => {
    const { supervisor, spawner } = setup();
    const task = daemon({ max: 3 });
    supervisor.setTasks([task]);
    supervisor.keepDaemons(task, true);
    await settle();
    supervisor.setTasks([daemon({ max: 1 })]);
    await settle();
    expect(spawner.children.map((child) => child.signals.length)).toEqual([0, 1, 1]);
    for (const child of spawner.children.slice(1)) child.exit(null, 'SIGTERM');
    await settle();
    supervisor.keepDaemons(daemon({ max: 1 }), true);
    await settle();
    expect(spawner.alive()).toHaveLength(1);
    supervisor.setTasks([daemon({ max: 2 })]);
    await settle();
    expect(spawner.alive()).toHaveLength(2);
  });

  it('SPEC §5: a removed daemon task is stopped gracefully and not restarted', async () => {
    const { supervisor, spawner, clock, log } = setup();
    const task = daemon();
    supervisor.setTasks([task]);
    supervisor.keepDaemons(task, true);
    await settle();
    supervisor.setTasks([]);
    expect(spawner.children[0].signals).toEqual(['SIGTERM']);
    expect(supervisor.snapshot()[0]).toMatchObject({ id: 'worker', current: false });
    spawner.children[0].exit(null, 'SIGTERM');
    await settle();
    clock.advance(120_000);
    await settle();
    expect(spawner.children).toHaveLength(1);
    expect(supervisor.snapshot()).toEqual([]);
    expect(log.some((record) => record.msg === 'daemon instance stopped' && record.signal === 'SIGTERM')).toBe(true);
  });

  it('SPEC §5: cron jobs of changed and removed tasks keep running and count against the new max', async () => {
    const { supervisor, spawner } = setup();
    const task = makeTask({ id: 'report', max: 0 });
    supervisor.setTasks([task]);
    for (let i = 0; i < 3; i++) supervisor.fire(task, 1);
    await settle();
    const changed = makeTask({ id: 'report', max: 2, command: 'report --v2' });
    supervisor.setTasks([changed]);
    expect(spawner.children.flatMap((child) => child.signals)).toEqual([]);
    expect(supervisor.fire(changed, 2)).toBe('skipped');
    spawner.children[0].exit(0);
    spawner.children[1].exit(0);
    await settle();
    expect(supervisor.fire(changed, 3)).toBe('queued');
    await settle();
    expect(spawner.children[3].request.command).toBe('report --v2');
    supervisor.setTasks([]);
    expect(supervisor.snapshot()[0]).toMatchObject({ current: false, running: [{ pid: 1003 }, { pid: 1004 }] });
    expect(spawner.children.flatMap((child) => child.signals)).toEqual([]);
    spawner.children[2].exit(0);
    spawner.children[3].exit(0);
    await settle();
    expect(supervisor.snapshot()).toEqual([]);
  });

  it('a killed daemon instance is restarted through the back-off', async () => {
    const { supervisor, spawner, clock } = setup();
    const task = daemon();
    supervisor.keepDaemons(task, true);
    await settle();
    const kill = supervisor.killTask('worker');
    spawner.children[0].exit(null, 'SIGTERM');
    expect(await kill).toBe(1);
    await settle();
    clock.advance(1000);
    await settle();
    expect(spawner.alive()).toHaveLength(1);
  });

  it('stopAll cancels a pending restart, so nothing keeps the daemon process alive', async () => {
    const { supervisor, spawner, clock } = setup();
    const task = daemon();
    supervisor.keepDaemons(task, true);
    await settle();
    spawner.children[0].exit(1);
    await settle();
    expect(clock.pending).toBe(1);
    await supervisor.stopAll();
    expect(clock.pending).toBe(0);
  });

  it('drain stops daemon instances and does not restart them', async () => {
    const { supervisor, spawner, clock } = setup();
    const task = daemon();
    supervisor.keepDaemons(task, true);
    await settle();
    const drained = supervisor.drain();
    expect(spawner.children[0].signals).toEqual(['SIGTERM']);
    spawner.children[0].exit(null, 'SIGTERM');
    await drained;
    supervisor.keepDaemons(task, true);
    clock.advance(60_000);
    await settle();
    expect(spawner.children).toHaveLength(1);
  });
});
