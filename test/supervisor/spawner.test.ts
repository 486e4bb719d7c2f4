import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { environValue } from '../../src/supervisor/process-table.js';
import type { ChildHandle, OutputStream, SpawnRequest, Spawner } from '../../src/supervisor/spawner.js';
import { resolveUser } from '../../src/supervisor/user.js';
import { liveGroupMembers, waitFor } from './processes.js';
import { realSpawners } from './spawners.js';

const started: ChildHandle[] = [];
function spawnWith(spawner: Spawner, command: string, env: Record<string, string> = { PATH: '/usr/bin:/bin' }, more: Partial<SpawnRequest> = {}) {
  const child = spawner.spawn({ shell: '/bin/sh', command, env, cwd: '/', ...more });
  started.push(child);
  const chunks: string[] = [];
  child.onOutput((stream: OutputStream, chunk: Buffer) => chunks.push(`${stream}:${chunk.toString()}`));
  return { child, chunks };
}
afterEach(() => {
  for (const child of started.splice(0)) child.signalGroup('SIGKILL');
});
const dir = mkdtempSync(join(tmpdir(), 'gotorch-spawner-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const notExecutable = join(dir, 'not-a-shell');
writeFileSync(notExecutable, 'echo hi\n');
chmodSync(notExecutable, 0o644);

describe.each(realSpawners)('%s spawner (SPEC §2)', (_name, jobSpawner) => {
  const spawn = (command: string, env?: Record<string, string>, more?: Partial<SpawnRequest>) => spawnWith(jobSpawner, command, env, more);

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

  it.each([
    ['a signal', 'kill -USR1 $$', { exitCode: null, signal: 'SIGUSR1' }],
    ['exit 0', 'true', { exitCode: 0, signal: null }],
    ['exit 255', 'exit 255', { exitCode: 255, signal: null }],
  ])('ends with %s', async (_what, command, outcome) => {
    expect(await spawn(command).child.outcome).toEqual(outcome);
  });

  it('runs in the job’s cwd', async () => {
    const { child, chunks } = spawn('pwd', undefined, { cwd: dir });
    await child.outcome;
    expect(chunks).toEqual([`stdout:${dir}\n`]);
  });

  it('a job gets default signal dispositions and mask (Node ignores SIGPIPE): a writer to a closed pipe dies of it', async () => {
    const { child, chunks } = spawn('(yes; echo "yes=$?" >&2) | head -c 1 >/dev/null');
    await child.outcome;
    expect(chunks).toEqual(['stderr:yes=141\n']);
    const shell = spawn('exec grep -E "^Sig(Blk|Ign)" /proc/self/status'); // the process spawned, exec'ed in place
    await shell.child.outcome;
    expect(shell.chunks).toEqual(['stdout:SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n']);
  });

  it('user= switches uid, gid and groups through setpriv', async () => {
    const { child, chunks } = spawn('id -u; id -g; id -G', undefined, { user: 'nobody' });
    expect(await child.outcome).toEqual({ exitCode: 0, signal: null });
    const nobody = resolveUser('nobody');
    expect(nobody.ok && chunks.map((chunk) => chunk.replace(/^stdout:/, '')).join('')).toBe(nobody.ok && `${nobody.uid}\n${nobody.gid}\n${nobody.gid}\n`);
  });

  it.each([
    ['a missing shell', { shell: '/nonexistent/sh' }, 'spawn /nonexistent/sh ENOENT'],
    ['a shell not on PATH', { shell: 'no-such-shell-gotorch' }, 'spawn no-such-shell-gotorch ENOENT'],
    ['a missing cwd', { cwd: '/nonexistent/gotorch' }, 'cwd /nonexistent/gotorch is not an existing directory (spawn /bin/sh ENOENT)'],
    ['a cwd that is a file', { cwd: '/etc/passwd' }, 'cwd /etc/passwd is not an existing directory (spawn ENOTDIR)'],
    ['a shell that is not executable', { shell: notExecutable }, `spawn ${notExecutable} EACCES`],
    ['a NUL in the environment', { env: { BAD: 'a\0b' } }, expect.stringMatching(/null bytes/)],
  ])('%s is a failure outcome with the message child_process gives', async (_what, more, error) => {
    const { child } = spawn('true', undefined, more);
    expect(child.pid).toBeUndefined();
    expect(await child.outcome).toEqual({ exitCode: null, signal: null, error });
    expect(child.signalGroup('SIGTERM')).toBe(false);
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
