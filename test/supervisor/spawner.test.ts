import { afterEach, describe, expect, it } from 'vitest';
import { environValue } from '../../src/supervisor/process-table.js';
import { jobSpawner, type ChildHandle, type OutputStream } from '../../src/supervisor/spawner.js';
import { resolveUser } from '../../src/supervisor/user.js';
import { liveGroupMembers, waitFor } from './processes.js';

const started: ChildHandle[] = [];
function spawn(command: string, env: Record<string, string> = { PATH: '/usr/bin:/bin' }) {
  const child = jobSpawner.spawn({ shell: '/bin/sh', command, env, cwd: '/' });
  started.push(child);
  const chunks: string[] = [];
  child.onOutput((stream: OutputStream, chunk: Buffer) => chunks.push(`${stream}:${chunk.toString()}`));
  return { child, chunks };
}
afterEach(() => {
  for (const child of started.splice(0)) child.signalGroup('SIGKILL');
});

describe('jobSpawner (SPEC §2)', () => {
  it('streams stdout and stderr and resolves with the exit code', async () => {
    const { child, chunks } = spawn('echo out; echo err >&2; exit 7');
    expect(await child.outcome).toEqual({ exitCode: 7, signal: null });
    expect(chunks.sort()).toEqual(['stderr:err\n', 'stdout:out\n']);
  });

  it('passes exactly the given environment, nothing of the daemon’s own', async () => {
    process.env.GOTORCH_SPAWNER_LEAK = 'leaked';
    try {
      const { child, chunks } = spawn('echo "[$GOTORCH_SPAWNER_LEAK][$ONLY]"', { ONLY: 'given' });
      await child.outcome;
      expect(chunks).toEqual(['stdout:[][given]\n']);
    } finally {
      delete process.env.GOTORCH_SPAWNER_LEAK;
    }
  });

  it('runs the job in its own process group with stdin closed', async () => {
    const { child, chunks } = spawn('ps -o pgid= -p $$; cat; echo "cat=$?"');
    await child.outcome;
    expect(chunks.join('')).toMatch(new RegExp(`^stdout:\\s*${child.pid}\\n(stdout:)?cat=0\\n$`));
  });

  it('signalGroup reaches the whole group, and is false (not a throw) once the group is gone', async () => {
    const { child } = spawn('sleep 100 & sleep 100 & wait');
    await waitFor(() => liveGroupMembers(child.pid as number).length >= 3, 5000, 'the group to start');
    expect(child.signalGroup(0)).toBe(true);
    expect(child.signalGroup('SIGTERM')).toBe(true);
    expect(await child.outcome).toEqual({ exitCode: null, signal: 'SIGTERM' });
    // Members may linger as zombies until init reaps them; the group is gone after that.
    await waitFor(() => !child.signalGroup(0), 5000, 'the group to be gone');
    expect(child.signalGroup('SIGKILL')).toBe(false);
  });

  it('an unknown user is a spawn failure outcome', async () => {
    const child = jobSpawner.spawn({ shell: '/bin/sh', command: 'true', env: {}, user: 'no-such-user-gotorch' });
    expect(child.pid).toBeUndefined();
    const outcome = await child.outcome;
    expect(outcome).toMatchObject({ exitCode: null, signal: null, error: expect.stringMatching(/unknown user/) });
    expect(child.signalGroup('SIGTERM')).toBe(false);
  });
});

describe('resolveUser (SPEC §1.5 user=)', () => {
  const passwd = 'root:x:0:0:root:/root:/bin/bash\nsvc:x:998:997::/srv:/usr/sbin/nologin\n';
  it.each([
    ['svc', { ok: true, uid: 998, gid: 997, name: 'svc', home: '/srv' }],
    ['998', { ok: true, uid: 998, gid: 997, name: 'svc', home: '/srv' }],
    ['4242', { ok: true, uid: 4242, gid: 4242 }],
    ['ghost', { ok: false, error: 'unknown user "ghost": no such entry in /etc/passwd' }],
  ])('%s', (user, expected) => {
    expect(resolveUser(user, passwd)).toEqual(expected);
  });
});

describe('environValue (a /proc/PID/environ entry)', () => {
  const environ = 'GOTORCH_RUN_ID=first\0XGOTORCH_TASK=decoy\0NOTE=GOTORCH_TASK=inside\0GOTORCH_TASK=real\0EMPTY=';
  it.each([
    ['GOTORCH_RUN_ID', 'first'],
    ['GOTORCH_TASK', 'real'],
    ['EMPTY', ''],
    ['MISSING', undefined],
    ['GOTORCH', undefined],
  ])('%s → %s', (name, value) => {
    expect(environValue(environ, name)).toBe(value);
  });
});
