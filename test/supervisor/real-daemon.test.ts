import { afterEach, describe, expect, it } from 'vitest';
import { makeTask } from './fakes.js';
import { liveGroupMembers, realSupervisor, waitFor } from './processes.js';
import { realSpawners } from './spawners.js';

let current: ReturnType<typeof realSupervisor> | undefined;
afterEach(async () => {
  await current?.cleanup();
  current = undefined;
});

describe.each(realSpawners)('real daemon tasks (%s spawner, real clock)', (_name, spawner) => {
  it('SPEC §1.4: a daemon exiting 3 is restarted after ~1 s, then ~2 s, each exit logged with its code', async () => {
    current = realSupervisor(spawner);
    const { supervisor, finished, log, dir } = current;
    const task = makeTask({ id: 'flaky', type: 'daemon', max: 1, command: 'exit 3' }, { cwd: dir });
    supervisor.setTasks([task]);
    supervisor.keepDaemons(task, true);
    const tick = setInterval(() => supervisor.keepDaemons(task, true), 1000); // as the daemon's tick does
    try {
      await waitFor(() => finished().length >= 3, 8000, 'three runs');
    } finally {
      clearInterval(tick);
    }
    const runs = finished().slice(0, 3);
    const gaps = [1, 2].map((i) => {
      const previousEnd = Number(runs[i - 1].startedAt) + Number(runs[i - 1].durationMs);
      return Number(runs[i].startedAt) - previousEnd;
    });
    console.log(`restart gaps: ${gaps.join(', ')} ms`);
    expect(gaps[0]).toBeGreaterThanOrEqual(990);
    expect(gaps[0]).toBeLessThan(1300);
    expect(gaps[1]).toBeGreaterThanOrEqual(1990);
    expect(gaps[1]).toBeLessThan(2300);
    expect(runs.map((run) => run.exitCode)).toEqual([3, 3, 3]);
    const exits = log.filter((record) => record.msg === 'daemon exited').slice(0, 2);
    expect(exits).toEqual([
      expect.objectContaining({ task: 'flaky', exitCode: 3, restartInMs: 1000 }),
      expect.objectContaining({ task: 'flaky', exitCode: 3, restartInMs: 2000 }),
    ]);
  });

  it('SPEC §5: a changed command starts the new instance before the old one is stopped', async () => {
    current = realSupervisor(spawner);
    const { supervisor, finished, runLog, dir } = current;
    const v1 = makeTask(
      { id: 'svc', type: 'daemon', max: 1, command: 'echo v1; exec sleep 100' },
      { cwd: dir, graceMs: 2000 },
    );
    supervisor.setTasks([v1]);
    supervisor.keepDaemons(v1, true);
    await waitFor(() => runLog.some((record) => record.line === 'v1'), 5000, 'v1 to start');
    const oldPid = supervisor.snapshot()[0].running[0].pid as number;
    const v2 = makeTask({ ...v1, command: 'echo v2; exec sleep 100' });
    supervisor.setTasks([v2]);
    await waitFor(() => finished().length === 1, 5000, 'v1 to stop');
    expect(finished()[0]).toMatchObject({ jobPid: oldPid, signal: 'SIGTERM' });
    await waitFor(() => runLog.some((record) => record.line === 'v2'), 5000, 'v2 to start');
    const running = supervisor.snapshot()[0].running;
    expect(running).toHaveLength(1);
    expect(running[0].pid).not.toBe(oldPid);
    const oldEnd = Number(finished()[0].startedAt) + Number(finished()[0].durationMs);
    expect(running[0].startedAt).toBeLessThanOrEqual(oldEnd);
    expect(liveGroupMembers(oldPid)).toEqual([]);
    await supervisor.stopAll();
    expect(liveGroupMembers(running[0].pid as number)).toEqual([]);
  });
});
