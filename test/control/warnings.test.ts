/** Check's warnings reach the daemon's log on start and on every reload, and never reject a file (issue 10, items 9-10). */
import { describe, expect, it } from 'vitest';
import { sandboxes } from './sandbox.js';

const sandbox = sandboxes();

describe('task file warnings in the daemon', () => {
  it('are logged at start and on a reload, for this host only; the file still applies', async () => {
    const box = sandbox();
    box.write([`* * * * * * * 1 cron name=lost cwd=${box.dir}/missing true`, `* * * * * * not-this-host 1 cron name=elsewhere cwd=${box.dir}/gone true`]);
    await box.start();
    await box.watching();
    const atStart = await box.waitForLog('task file warnings', { trigger: 'start' });
    expect(atStart.warnings).toEqual([expect.stringContaining(`${box.conf}:1:`)]);
    expect(String((atStart.warnings as string[])[0])).toContain(`${box.dir}/missing`);

    const seen = box.daemonRecords().length;
    box.saveAtomically([`* * * * * * * 1 cron name=lost cwd=${box.dir}/missing true`, '0 0 0 1 1 * * 1 cron name=late echo hi timeout=5s']);
    const reloaded = await box.waitForLog('task file reloaded', { trigger: 'file change' }, 5000, seen);
    expect(reloaded.summary).toBe('added 1, changed 0, removed 0, unchanged 1'); // elsewhere never applied here
    const onReload = await box.waitForLog('task file warnings', { trigger: 'file change' }, 5000, seen);
    // Parse warnings come first, host facts after them.
    expect(onReload.warnings).toEqual([expect.stringContaining(`${box.conf}:2:40: "timeout=5s" after the command`), expect.stringContaining(`${box.conf}:1:1: cwd ${box.dir}/missing`)]);
  });
});
