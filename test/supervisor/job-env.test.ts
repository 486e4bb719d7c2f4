import { describe, expect, it } from 'vitest';
import { givenEnvironment, jobEnv, JobEnvironments } from '../../src/supervisor/job-env.js';
import { makeTask } from './fakes.js';

const base = { PATH: '/usr/bin:/bin', HOME: '/root', SHARED: 'base', LANG: 'C.UTF-8' };
const run = { GOTORCH_TASK: 't', GOTORCH_RUN_ID: '5-1-ab', GOTORCH_SCHEDULED_AT: '5', GOTORCH_ATTEMPT: '2' };

describe('JobEnvironments (SPEC §2: the daemon’s variables, the task’s env lines, then the run’s)', () => {
  it.each([
    ['no env lines', {}, { ...base, ...run }],
    ['env lines over the daemon’s', { SHARED: 'task', ONLY: 'task' }, { ...base, SHARED: 'task', ONLY: 'task', ...run }],
    // As a spread lays them: the run's value, in the env line's place.
    ['an env line naming a run variable', { GOTORCH_RUN_ID: 'mine', ONLY: 'task' }, { ...base, GOTORCH_RUN_ID: '5-1-ab', ONLY: 'task', ...run }],
  ])('%s', (_name, env, expected) => {
    const environment = new JobEnvironments(base).of(makeTask({ id: 't', env }), '5-1-ab', 5, 2);
    expect(environment.all).toEqual(expected);
    expect(Object.keys(environment.all)).toEqual(Object.keys(expected));
    const { shared, own } = environment.pairs();
    expect([...shared, ...own]).toEqual(Object.entries(expected).map(([name, value]) => `${name}=${value}`));
    for (const [name, value] of Object.entries(expected)) expect(environment.get(name)).toBe(value);
    expect(environment.get('NOT_SET')).toBeUndefined();
  });

  it('shares a definition’s part between its runs, and a new definition (a reload’s Task) gets its own', () => {
    const environments = new JobEnvironments(base);
    const task = makeTask({ id: 't', env: { ONLY: 'first' } });
    const [one, two] = [environments.of(task, '1-1-ab', 1, 1), environments.of(task, '2-2-ab', 2, 1)];
    expect([one.get('GOTORCH_RUN_ID'), two.get('GOTORCH_RUN_ID')]).toEqual(['1-1-ab', '2-2-ab']);
    // The same shared array for both runs: the native spawner copies it to C once per definition.
    expect(two.pairs().shared).toBe(one.pairs().shared);
    expect(two.pairs().own).toContain('GOTORCH_SCHEDULED_AT=2');
    const redefined = environments.of({ ...task, env: { ONLY: 'second' } }, '3-3-ab', 3, 1);
    expect([one.get('ONLY'), redefined.get('ONLY')]).toEqual(['first', 'second']);
    expect(redefined.pairs().shared).not.toBe(one.pairs().shared);
  });

  it('SPEC §1.5 user=: none of the daemon’s variables but LANG, then the env lines', () => {
    const environment = new JobEnvironments(base).of(makeTask({ id: 't', env: { ONLY: 'task' } }, { user: '0' }), '5-1-ab', 5, 2);
    expect(environment.all).toMatchObject({ HOME: '/root', USER: 'root', LOGNAME: 'root', SHELL: '/bin/sh', PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8', ONLY: 'task' });
    expect(environment.get('SHARED')).toBeUndefined();
  });

  it('jobEnv (a hook’s base) is the same complete environment', () => {
    const task = makeTask({ id: 't', env: { ONLY: 'task' } });
    expect(jobEnv(base, task, '5-1-ab', 5, 2)).toEqual(new JobEnvironments(base).of(task, '5-1-ab', 5, 2).all);
  });

  it('a request’s environment given as one object reads the same', () => {
    const given = givenEnvironment({ A: '1', B: '2' });
    expect(given.pairs()).toEqual({ shared: [], own: ['A=1', 'B=2'] });
    expect([given.get('B'), given.get('C')]).toEqual(['2', undefined]);
  });
});
