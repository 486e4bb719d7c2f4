import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTask } from './fakes.js';
import { liveGroupMembers, processesWithEnv, realSupervisor, waitFor } from './processes.js';
import { realSpawners } from './spawners.js';
import type { Spawner } from '../../src/supervisor/spawner.js';
import { SKIP_MESSAGE } from '../../src/daemon/skip-report.js';
import { skippedFires } from '../helpers/skips.js';

function notExecutable(dir: string): string {
  const path = join(dir, 'not-a-shell');
  writeFileSync(path, 'echo hi\n', { mode: 0o644 });
  return path;
}

let current: ReturnType<typeof realSupervisor> | undefined;
function setup(spawner: Spawner, baseEnv?: Record<string, string>) {
  current = realSupervisor(spawner, baseEnv);
  return current;
}
afterEach(async () => {
  await current?.cleanup();
  current = undefined;
});

describe.each(realSpawners)('real jobs (%s spawner, real clock)', (_name, spawner) => {
  it('SPEC §1.3: max=2 holds under a burst of 50 fires', async () => {
    const { supervisor, log, finished, dir, events, daemonLog } = setup(spawner);
    // Jobs that outlast the burst however loaded the machine is: only a stop ends them.
    const task = makeTask({ id: `burst-${process.pid}`, max: 2, command: 'sleep 60' }, { cwd: dir });
    const marker = `GOTORCH_TASK=${task.id}`;
    let maxAlive = 0;
    const sampler = setInterval(() => {
      const groups = new Set(processesWithEnv(marker).map((proc) => proc.pgrp));
      maxAlive = Math.max(maxAlive, groups.size);
    }, 5);
    const results: string[] = [];
    const firstSecond = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 50; i++) {
      results.push(supervisor.fire(task, firstSecond + Math.floor(i / 10)));
      await new Promise((resolve) => setTimeout(resolve, 15)); // spawns and exits get their turns in between
    }
    await waitFor(() => maxAlive === 2, 5000, 'both jobs to run');
    await events.drained();
    expect(results.filter((result) => result === 'queued')).toHaveLength(2);
    expect(log.filter((record) => record.msg === SKIP_MESSAGE)).toHaveLength(1); // the rest are counted for a minute
    await supervisor.stopAll();
    await events.drained();
    daemonLog.flush(); // as the daemon's stop does: the skips still being counted are logged
    clearInterval(sampler);
    expect(maxAlive).toBe(2);
    const skips = skippedFires(log);
    expect(skips).toHaveLength(48);
    expect(skips[0]).toMatchObject({ task: task.id, scheduledAt: firstSecond, max: 2 });
    expect(finished().map((record) => record.signal)).toEqual(['SIGTERM', 'SIGTERM']);
  });

  it.each([
    ['forked grandchildren', "sh -c 'sleep 100 & sleep 100 & wait'", 'SIGTERM'],
    ['a job that ignores SIGTERM', 'trap "" TERM; sleep 100', 'SIGKILL'],
  ])('SPEC §2 timeout: kills %s, the whole process group', async (_name, command, signal) => {
    const { supervisor, finished, dir } = setup(spawner);
    const task = makeTask({ id: 'timeout', command }, { timeoutMs: 300, graceMs: 500, cwd: dir });
    supervisor.fire(task, Date.now() / 1000);
    await waitFor(() => finished().length === 1, 5000, 'the run record');
    const record = finished()[0];
    expect(record).toMatchObject({ timedOut: true, signal, exitCode: null });
    expect(record.durationMs).toBeGreaterThanOrEqual(signal === 'SIGKILL' ? 800 : 300);
    expect(liveGroupMembers(record.jobPid as number)).toEqual([]);
  });

  it('a missing command is a failed run (exit 127) and the supervisor goes on', async () => {
    const { supervisor, finished, runLog, dir } = setup(spawner);
    const task = makeTask({ id: 'missing', max: 1, command: 'no-such-command-gotorch' }, { cwd: dir });
    expect(supervisor.fire(task, Date.now() / 1000)).toBe('queued');
    await waitFor(() => finished().length === 1, 5000, 'the run record');
    expect(finished()[0]).toMatchObject({ task: 'missing', exitCode: 127, error: null });
    expect(runLog.some((record) => record.stream === 'stderr' && /not found/.test(String(record.line)))).toBe(true);
    expect(supervisor.fire(task, Date.now() / 1000)).toBe('queued');
    await waitFor(() => finished().length === 2, 5000, 'the second run record');
  });

  it.each([
    ['a missing cwd', () => ({ shell: '/bin/sh', cwd: '/nonexistent/gotorch' }), /cwd/],
    ['a missing shell', () => ({ shell: '/nonexistent/sh' }), /ENOENT/],
    ['a shell that is not executable', (dir: string) => ({ shell: notExecutable(dir) }), /EACCES/],
  ])('%s is a failed run record, not a throw', async (_name, where, error) => {
    const { supervisor, finished, dir } = setup(spawner);
    const { shell, cwd } = where(dir) as { shell: string; cwd?: string };
    const task = makeTask({ id: 'unspawnable', max: 1, command: 'true', shell }, { cwd });
    expect(supervisor.fire(task, Date.now() / 1000)).toBe('queued');
    await waitFor(() => finished().length === 1, 5000, 'the run record');
    const failure = { jobPid: null, exitCode: null, signal: null, error: expect.stringMatching(error) };
    expect(finished()[0]).toMatchObject(failure);
    expect(supervisor.snapshot()[0].running).toEqual([]);
  });

  it('SPEC §2: a job sees exactly its environment, in order, on every run of a definition and after a redefinition', async () => {
    const { supervisor, finished, runLog, dir } = setup(spawner, { PATH: '/usr/bin:/bin', SHARED: 'base', HOME: '/root' });
    // The shell's /proc/PID/environ is the environment as execve gave it (the shell's own `env` would add PWD);
    // a task env line naming a run variable keeps its place.
    const defined = (env: Record<string, string>) => makeTask({ id: 'env-exact', command: "tr '\\0' '\\n' < /proc/$$/environ", env }, { cwd: dir });
    const first = defined({ SHARED: 'task', GOTORCH_RUN_ID: 'mine', ONLY: 'task' });
    supervisor.fire(first, 1_700_000_001);
    await waitFor(() => finished().length === 1, 5000, 'the first run');
    supervisor.fire(first, 1_700_000_002);
    await waitFor(() => finished().length === 2, 5000, 'the second run');
    supervisor.fire(defined({ ONLY: 'redefined' }), 1_700_000_003);
    await waitFor(() => finished().length === 3, 5000, 'the run of the new definition');
    const seen = finished().map((record) =>
      runLog.filter((entry) => entry.run === record.run && 'line' in entry).map((entry) => String(entry.line).replace(String(record.run), 'RUN')),
    );
    const run = (second: number) => [`GOTORCH_TASK=env-exact`, `GOTORCH_SCHEDULED_AT=${second}`, 'GOTORCH_ATTEMPT=1'];
    expect(seen).toEqual([
      ['PATH=/usr/bin:/bin', 'SHARED=task', 'HOME=/root', 'GOTORCH_RUN_ID=RUN', 'ONLY=task', ...run(1_700_000_001)],
      ['PATH=/usr/bin:/bin', 'SHARED=task', 'HOME=/root', 'GOTORCH_RUN_ID=RUN', 'ONLY=task', ...run(1_700_000_002)],
      ['PATH=/usr/bin:/bin', 'SHARED=base', 'HOME=/root', 'ONLY=redefined', 'GOTORCH_TASK=env-exact', 'GOTORCH_RUN_ID=RUN', 'GOTORCH_SCHEDULED_AT=1700000003', 'GOTORCH_ATTEMPT=1'],
    ]);
  });

  it('SPEC §2: GOTORCH_* reach the job and no environment value reaches any log', async () => {
    const base = 'base-secret-8c1f';
    const token = 'task-secret-77d2';
    const { supervisor, finished, runLog, log, dir } = setup(spawner, { PATH: process.env.PATH ?? '/bin', DB_PASSWORD: base });
    // The command compares through more variables, so no secret is in the command text either.
    const command = [
      'printf "%s|%s|%s\\n" "$GOTORCH_TASK" "$GOTORCH_RUN_ID" "$GOTORCH_SCHEDULED_AT"',
      'test "$API_TOKEN" = "$WANT_TOKEN" && test "$DB_PASSWORD" = "$WANT_DB" && echo secrets-present',
    ].join('; ');
    const env = { API_TOKEN: token, WANT_TOKEN: token, WANT_DB: base };
    supervisor.fire(makeTask({ id: 'env-check', command, env }, { cwd: dir }), 1_700_000_123);
    supervisor.fire(makeTask({ id: 'env-fail', command, env }, { cwd: join(dir, 'missing') }), 1_700_000_124);
    await waitFor(() => finished().length === 2, 5000, 'both run records');
    const record = finished().find((entry) => entry.task === 'env-check');
    const lines = runLog.filter((entry) => entry.task === 'env-check' && 'line' in entry).map((entry) => entry.line);
    expect(lines).toEqual([`env-check|${String(record?.run)}|1700000123`, 'secrets-present']);
    expect(String(record?.run)).toMatch(/^1700000123-\d+-[0-9a-f]+$/);
    expect(finished().find((entry) => entry.task === 'env-fail')?.error).toMatch(/cwd/);
    const everything = JSON.stringify([...runLog, ...log]);
    for (const secret of [base, token]) expect(everything).not.toContain(secret);
  });
});
