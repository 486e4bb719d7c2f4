/**
 * SPEC §10 without --etcd (README: Singleton tasks): a real daemon never runs a singleton task, says so
 * at start, shows it in `status`; `check` warns. Local tasks beside it run as ever.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { WITHOUT_FLEET } from '../../../src/fleet/singleton/without-fleet.js';
import { waitFor } from '../../helpers/processes.js';
import { sandboxes } from '../../control/sandbox.js';

const sandbox = sandboxes();

describe('singleton tasks on a daemon without --etcd', () => {
  it('never run (cron and daemon type), warned at start and by check; a local task runs', async () => {
    const box = sandbox();
    const marks = (name: string) => path.join(box.dir, name);
    box.write([
      `* * * * * * * 0 cron name=alone singleton=yes touch ${marks('alone')}`,
      `* * * * * * * 1 daemon name=keeper singleton=yes sh -c 'touch ${marks('keeper')}; sleep 60'`,
      `* * * * * * * 1 cron name=local touch ${marks('local')}`,
    ]);
    const check = await box.cli('check');
    expect(check.code).toBe(0);
    expect(check.stderr).toContain(`${box.conf}:1:1: ${WITHOUT_FLEET}`);
    expect(check.stderr).toContain(`${box.conf}:2:1: ${WITHOUT_FLEET}`);
    await box.start();
    const warned = await box.waitForLog('singleton tasks without a fleet: they never run');
    expect(warned.tasks).toHaveLength(2);
    await waitFor(async () => existsSync(marks('local')), 5000, 'the local task to run');
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(existsSync(marks('alone'))).toBe(false);
    expect(existsSync(marks('keeper'))).toBe(false);
    const status = await box.status();
    const byName = new Map(status.tasks.map((task) => [task.name, task as unknown as Record<string, unknown>]));
    expect(byName.get('alone')).toMatchObject({ singleton: null, running: [] });
    expect(byName.get('keeper')).toMatchObject({ singleton: null, running: [] });
    expect(byName.get('local')).not.toHaveProperty('singleton');
    const text = await box.cli('status');
    expect(text.stdout).toContain('cron (singleton: holder unknown)');
  });
});
