/**
 * Issue 16: which spawner the daemon runs — the posix_spawn addon when built, child_process when it is
 * missing (the reason logged) or forced by GOTORCH_SPAWNER — is in the `gotorch ready` record and in
 * `status --json`; GOTORCH_SPAWNER=native without the addon fails the start, saying why.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sandboxes, type Sandbox } from './sandbox.js';

const sandbox = sandboxes();
/** A CI run of the fallback alone may have no addon built. */
const fallbackOnly = process.env.GOTORCH_SPAWNER === 'child_process';

/** Starts a daemon whose one task echoes every second; what its ready record, status and first run say. */
async function startWith(box: Sandbox, env: NodeJS.ProcessEnv) {
  box.write(['* * * * * * * 1 cron name=echo echo "from $GOTORCH_TASK"']);
  await box.startWithEnv(env);
  const ready = await box.waitForLog('gotorch ready');
  const status = (await box.status()) as unknown as { spawner: string };
  const [run] = await box.waitForFinished('echo', 1, 5000);
  const output = box.runRecords().find((record) => record.task === 'echo' && 'line' in record);
  return { ready, status, run, output, warning: box.daemonRecords().find((record) => record.msg === 'native spawner not used: jobs start through child_process') };
}

describe('the daemon’s spawner (issue 16)', () => {
  it.skipIf(fallbackOnly)('native when the addon is built: in the ready record and status --json, and jobs run on it', async () => {
    const box = sandbox();
    const { ready, status, run, output, warning } = await startWith(box, { GOTORCH_SPAWNER: '' });
    expect(ready.spawner).toBe('native');
    expect(status.spawner).toBe('native');
    expect(run).toMatchObject({ exitCode: 0, signal: null, error: null });
    expect(output?.line).toBe('from echo');
    expect(warning).toBeUndefined();
  });

  it('the addon missing: child_process, the reason logged', async () => {
    const box = sandbox();
    const missing = path.join(box.dir, 'no-such-addon.node');
    const { ready, status, run, output, warning } = await startWith(box, { GOTORCH_SPAWNER: '', GOTORCH_NATIVE_ADDON: missing });
    expect(ready.spawner).toBe('child_process');
    expect(status.spawner).toBe('child_process');
    expect(warning?.reason).toContain(`${missing} is missing`);
    expect(run).toMatchObject({ exitCode: 0, signal: null, error: null });
    expect(output?.line).toBe('from echo');
  });

  it('GOTORCH_SPAWNER=child_process forces the fallback, nothing to warn about', async () => {
    const box = sandbox();
    const { ready, status, run, warning } = await startWith(box, { GOTORCH_SPAWNER: 'child_process' });
    expect(ready.spawner).toBe('child_process');
    expect(status.spawner).toBe('child_process');
    expect(run).toMatchObject({ exitCode: 0 });
    expect(warning).toBeUndefined();
  });

  it.each([
    ['native without the addon', { GOTORCH_SPAWNER: 'native', GOTORCH_NATIVE_ADDON: '/nonexistent/gotorch_spawn.node' }, 'gotorch: GOTORCH_SPAWNER=native, but the native addon is not built (/nonexistent/gotorch_spawn.node is missing; `npm rebuild gotorch`, or `npm run install` in a checkout, builds it); unset GOTORCH_SPAWNER to run on child_process\n'],
    ['an unknown spawner', { GOTORCH_SPAWNER: 'fork' }, 'gotorch: GOTORCH_SPAWNER=fork is not a spawner: write GOTORCH_SPAWNER=native or GOTORCH_SPAWNER=child_process, or leave it unset (native when built, else child_process)\n'],
  ])('GOTORCH_SPAWNER: %s fails the start with exit 1 and why', async (_what, env, stderr) => {
    const box = sandbox();
    box.write(['* * * * * * * 1 cron name=echo echo hi']);
    const result = await box.cliWithEnv(env, 'start');
    expect(result).toMatchObject({ code: 1, stderr });
    expect(box.pidfilePid()).toBeUndefined();
  });
});
