/**
 * SPEC §8 run policy on the fake clock and the scripted spawner: retries= / retry_delay= (delays
 * double and cap, attempts, the place kept against max, none across a stop) and overlap=queue /
 * replace (max never exceeded, a waiting fire starts when a slot frees, the oldest run is replaced).
 */
import { describe, expect, it } from 'vitest';
import type { EventOf, RunEvents } from '../../src/events.js';
import { runResult } from '../../src/supervisor/run-result.js';
import { RETRY_DELAY_CAP_MS } from '../../src/tasks/options.js';
import { FakeChild, FakeClock, makeTask, ScriptedSpawner, settle, wiredSupervisor } from './fakes.js';

function setup() {
  const clock = new FakeClock();
  const spawner = new ScriptedSpawner();
  const wired = wiredSupervisor({ clock, spawner, baseEnv: { PATH: '/usr/bin:/bin' } });
  return { clock, spawner, ...wired, heard: hear(wired.events) };
}

/** Every policy event, in order. */
function hear(events: RunEvents) {
  const finished: EventOf<'run-finished'>[] = [];
  const dropped: EventOf<'retry-dropped'>[] = [];
  const skipped: EventOf<'fire-skipped'>[] = [];
  events.on('run-finished', 'test', (event) => finished.push(event));
  events.on('retry-dropped', 'test', (event) => dropped.push(event));
  events.on('fire-skipped', 'test', (event) => skipped.push(event));
  return { finished, dropped, skipped };
}

/** The most children alive at once so far is checked by the caller after each step. */
const alive = (spawner: ScriptedSpawner): number => spawner.alive().length;

describe('retries= and retry_delay= (SPEC §8)', () => {
  it('starts a failed run again for the same second, delays doubling from retry_delay, attempts 1…N+1, then stops', async () => {
    const { supervisor, spawner, clock, heard } = setup();
    const task = makeTask({ id: 'flaky', max: 1 }, { retries: 3, retryDelayMs: 10_000 });
    const second = clock.now() / 1000;
    supervisor.fire(task, second);
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 4; attempt++) {
      await settle();
      expect(spawner.children).toHaveLength(attempt);
      const child = spawner.children[attempt - 1];
      expect(child.request.env).toMatchObject({ GOTORCH_SCHEDULED_AT: String(second), GOTORCH_ATTEMPT: String(attempt) });
      child.exit(3);
      await settle();
      const finished = heard.finished.at(-1)!;
      expect(finished.record).toMatchObject({ attempt, trigger: attempt === 1 ? 'schedule' : 'retry', scheduledAt: second, exitCode: 3 });
      if (finished.retryInMs === null) break;
      delays.push(finished.retryInMs);
      // Not a millisecond early.
      clock.advance(finished.retryInMs - 1);
      await settle();
      expect(spawner.children).toHaveLength(attempt);
      clock.advance(1);
    }
    expect(delays).toEqual([10_000, 20_000, 40_000]);
    expect(heard.finished.map((event) => event.retryInMs)).toEqual([10_000, 20_000, 40_000, null]);
    clock.advance(RETRY_DELAY_CAP_MS * 2);
    await settle();
    expect(spawner.children).toHaveLength(4);
  });

  it('caps the doubling at 10 minutes', async () => {
    const { supervisor, spawner, clock, heard } = setup();
    const task = makeTask({ id: 'slow-retry', max: 1 }, { retries: 4, retryDelayMs: 4 * 60_000 });
    supervisor.fire(task, clock.now() / 1000);
    for (let attempt = 1; attempt <= 5; attempt++) {
      await settle();
      spawner.children[attempt - 1].exit(1);
      await settle();
      clock.advance(heard.finished.at(-1)!.retryInMs ?? 0);
    }
    expect(heard.finished.map((event) => event.retryInMs)).toEqual([240_000, 480_000, RETRY_DELAY_CAP_MS, RETRY_DELAY_CAP_MS, null]);
  });

  it('retries a timeout, a signal and a spawn error; not a success or a kill', async () => {
    const { supervisor, spawner, clock, heard } = setup();
    const retried = async (id: string, options: Parameters<typeof makeTask>[1], end: (child: FakeChild) => void): Promise<boolean> => {
      supervisor.fire(makeTask({ id, max: 1 }, { retries: 1, ...options }), clock.now() / 1000);
      await settle();
      end(spawner.children.at(-1)!);
      await settle();
      return heard.finished.at(-1)!.retryInMs !== null;
    };
    expect(await retried('signal', {}, (child) => child.exit(null, 'SIGSEGV'))).toBe(true);
    expect(await retried('success', {}, (child) => child.exit(0))).toBe(false);
    expect(
      await retried('timeout', { timeoutMs: 5000 }, (child) => {
        clock.advance(5000);
        expect(child.signals).toEqual(['SIGTERM']);
        child.exit(null, 'SIGTERM');
      }),
    ).toBe(true);
    expect(heard.finished.at(-1)!.record.timedOut).toBe(true);
    // A spawn that failed has no process: the scripted spawner hands out one child without a pid.
    const spawn = spawner.spawn.bind(spawner);
    spawner.spawn = (request) => {
      spawner.spawn = spawn;
      const child = new FakeChild(request, undefined);
      spawner.children.push(child);
      return child;
    };
    expect(await retried('spawn-error', {}, (child) => child.fail('spawn /bin/sh ENOENT'))).toBe(true);
    expect(runResult(heard.finished.at(-1)!.record)).toBe('spawn error');
    supervisor.fire(makeTask({ id: 'killed', max: 1 }, { retries: 1 }), clock.now() / 1000);
    await settle();
    const killing = supervisor.killTask('killed');
    spawner.children.at(-1)!.exit(null, 'SIGTERM');
    await killing;
    await settle();
    expect(heard.finished.at(-1)!.record.killed).toBe(true);
    expect(heard.finished.at(-1)!.retryInMs).toBeNull();
  });

  it('keeps the failed run place against max: the next fire is skipped while the retry waits', async () => {
    const { supervisor, spawner, clock, heard } = setup();
    const task = makeTask({ id: 'held-by-retry', max: 1 }, { retries: 1, retryDelayMs: 30_000 });
    const second = clock.now() / 1000;
    supervisor.fire(task, second);
    await settle();
    spawner.children[0].exit(2);
    await settle();
    clock.advance(1000);
    expect(supervisor.fire(task, second + 1)).toBe('skipped');
    await settle();
    expect(heard.skipped.at(-1)).toMatchObject({ reason: 'max', running: 0, starting: 1 });
    expect(supervisor.snapshot()[0].retries).toEqual([{ attempt: 2, at: second * 1000 + 30_000 }]);
    clock.advance(29_000);
    await settle();
    expect(spawner.children).toHaveLength(2);
    expect(alive(spawner)).toBe(1);
    expect(spawner.children[1].request.env.GOTORCH_SCHEDULED_AT).toBe(String(second));
  });

  it('a reload that keeps the task keeps its waiting retry', async () => {
    const { supervisor, spawner, clock, heard } = setup();
    const task = makeTask({ id: 'kept', max: 1 }, { retries: 1, retryDelayMs: 5000 });
    supervisor.fire(task, clock.now() / 1000);
    await settle();
    spawner.children[0].exit(1);
    await settle();
    supervisor.setTasks([makeTask({ id: 'kept', max: 1 }, { retries: 1, retryDelayMs: 5000 })]);
    await settle();
    expect(heard.dropped).toEqual([]);
    clock.advance(5000);
    await settle();
    expect(spawner.children).toHaveLength(2);
    expect(spawner.children[1].request.env.GOTORCH_ATTEMPT).toBe('2');
  });

  it('starts no retry across a stop: the waiting one is dropped and said so (the failure hook still fires)', async () => {
    const { supervisor, spawner, clock, heard } = setup();
    const task = makeTask({ id: 'stopped-retry', max: 1 }, { retries: 2 });
    supervisor.fire(task, clock.now() / 1000);
    await settle();
    spawner.children[0].exit(1);
    await settle();
    await supervisor.stopAll();
    await settle();
    expect(heard.dropped).toEqual([expect.objectContaining({ reason: 'shutting down', record: expect.objectContaining({ attempt: 1, exitCode: 1 }) })]);
    clock.advance(RETRY_DELAY_CAP_MS);
    await settle();
    expect(spawner.children).toHaveLength(1);
  });

  it('a failure while stopping is the last attempt; kill and removal drop waiting retries', async () => {
    const { supervisor, spawner, clock, heard } = setup();
    const a = makeTask({ id: 'a', max: 1 }, { retries: 1 });
    const b = makeTask({ id: 'b', max: 1 }, { retries: 1 });
    supervisor.fire(a, clock.now() / 1000);
    supervisor.fire(b, clock.now() / 1000);
    await settle();
    spawner.children[0].exit(1);
    spawner.children[1].exit(1);
    await settle();
    await supervisor.killTask('a');
    supervisor.setTasks([a]);
    await settle();
    expect(heard.dropped.map((event) => [event.task.id, event.reason])).toEqual([
      ['a', 'killed'],
      ['b', 'task removed'],
    ]);
    supervisor.fire(a, clock.now() / 1000 + 1);
    await settle();
    const stopping = supervisor.stopAll();
    spawner.children[2].exit(1);
    await stopping;
    await settle();
    expect(heard.finished.at(-1)!.retryInMs).toBeNull();
  });
});

describe('overlap= (SPEC §8)', () => {
  it('queue: one fire waits while max runs, starts when a slot frees (late, its own second); a second waiting one is skipped', async () => {
    const { supervisor, spawner, clock, heard } = setup();
    const task = makeTask({ id: 'queued', max: 1 }, { overlap: 'queue' });
    const second = clock.now() / 1000;
    expect(supervisor.fire(task, second)).toBe('queued');
    await settle();
    clock.advance(1000);
    expect(supervisor.fire(task, second + 1)).toBe('waiting');
    clock.advance(1000);
    expect(supervisor.fire(task, second + 2)).toBe('skipped');
    await settle();
    expect(heard.skipped.map((event) => [event.scheduledAt, event.reason])).toEqual([[second + 2, 'queue full']]);
    expect(supervisor.snapshot()[0].waiting).toBe(second + 1);
    expect(spawner.children).toHaveLength(1);
    clock.advance(3000);
    spawner.children[0].exit(0);
    await settle();
    expect(spawner.children).toHaveLength(2);
    expect(alive(spawner)).toBe(1);
    expect(spawner.children[1].request.env.GOTORCH_SCHEDULED_AT).toBe(String(second + 1));
    spawner.children[1].exit(0);
    await settle();
    expect(heard.finished[1].record).toMatchObject({ scheduledAt: second + 1, lateMs: 4000 });
  });

  it('queue: a stop drops the waiting fire (skipped: shutting down); a reload to overlap=skip drops it too', async () => {
    const { supervisor, spawner, clock, heard } = setup();
    const task = makeTask({ id: 'queued', max: 1 }, { overlap: 'queue' });
    const second = clock.now() / 1000;
    supervisor.fire(task, second);
    await settle();
    supervisor.fire(task, second + 1);
    supervisor.setTasks([makeTask({ id: 'queued', max: 1 })]);
    supervisor.setTasks([task]);
    supervisor.fire(task, second + 2);
    const stopping = supervisor.stopAll();
    spawner.children[0].exit(null, 'SIGTERM');
    await stopping;
    await settle();
    expect(heard.skipped.map((event) => [event.scheduledAt, event.reason])).toEqual([
      [second + 1, 'task removed'],
      [second + 2, 'shutting down'],
    ]);
    expect(spawner.children).toHaveLength(1);
  });

  it('replace: TERMs the oldest run, KILLs it after grace, starts the newest fire only once it is gone; max never exceeded', async () => {
    const { supervisor, spawner, clock, heard } = setup();
    const task = makeTask({ id: 'replaced', max: 2 }, { overlap: 'replace', graceMs: 5000 });
    const second = clock.now() / 1000;
    supervisor.fire(task, second);
    supervisor.fire(task, second);
    await settle();
    const [oldest, younger] = spawner.children;
    clock.advance(1000);
    expect(supervisor.fire(task, second + 1)).toBe('waiting');
    expect(oldest.signals).toEqual(['SIGTERM']);
    expect(younger.signals).toEqual([]);
    // Another fire while the oldest is still dying: the newest waits, the one before gives way.
    clock.advance(1000);
    expect(supervisor.fire(task, second + 2)).toBe('waiting');
    await settle();
    expect(heard.skipped.map((event) => [event.scheduledAt, event.reason])).toEqual([[second + 1, 'superseded']]);
    expect(younger.signals).toEqual([]);
    clock.advance(5000); // grace
    expect(oldest.signals).toEqual(['SIGTERM', 'SIGKILL']);
    await settle();
    expect(spawner.children).toHaveLength(2);
    oldest.exit(null, 'SIGKILL');
    await settle();
    expect(spawner.children).toHaveLength(3);
    expect(alive(spawner)).toBe(2);
    expect(spawner.children[2].request.env.GOTORCH_SCHEDULED_AT).toBe(String(second + 2));
    const record = heard.finished[0].record;
    expect(record).toMatchObject({ replaced: true, scheduledAt: second });
    expect(runResult(record)).toBe('replaced');
    expect(heard.finished[0].retryInMs).toBeNull();
  });

  it('replace: a retry waiting for its delay is what gives way when no run is left to stop', async () => {
    const { supervisor, spawner, clock, heard } = setup();
    const task = makeTask({ id: 'replace-retry', max: 1 }, { overlap: 'replace', retries: 2 });
    const second = clock.now() / 1000;
    supervisor.fire(task, second);
    await settle();
    spawner.children[0].exit(1);
    await settle();
    clock.advance(1000);
    expect(supervisor.fire(task, second + 1)).toBe('queued');
    await settle();
    expect(heard.dropped.map((event) => event.reason)).toEqual(['replaced']);
    expect(spawner.children).toHaveLength(2);
    expect(spawner.children[1].request.env).toMatchObject({ GOTORCH_SCHEDULED_AT: String(second + 1), GOTORCH_ATTEMPT: '1' });
  });
});
