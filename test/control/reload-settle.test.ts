/**
 * A file being written in place is applied only once it has stopped changing (issue 10, item 6): an
 * `scp` or a slow copy rewriting a 20-daemon file in two chunks 0.5 s apart once applied `removed 10`
 * (stopping ten daemons), then `added 10`. Atomic saves (a rename) are complete when they appear and
 * are still applied at once.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SETTLE_MS } from '../../src/daemon/watcher.js';
import { waitFor } from '../helpers/processes.js';
import { sandboxes } from './sandbox.js';

const sandbox = sandboxes();
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('reload: files being written (issue 10, item 6)', () => {
  it('a 20-daemon file rewritten in place in two chunks 0.5 s apart is applied once, whole: no daemon stopped', async () => {
    const box = sandbox();
    const daemons = Array.from({ length: 20 }, (_, index) => `* * * * * * * 1 daemon name=d${index} sleep 300; : ${box.dir}`);
    box.write(daemons);
    await box.start();
    await box.watching();
    const pids = async () => (await box.status()).tasks.flatMap((task) => task.running.map((run) => run.pid));
    const before = await waitFor(async () => ((await pids()).length === 20 ? await pids() : undefined), 10_000, '20 daemons running');
    const seen = box.daemonRecords().length;

    const fd = openSync(box.conf, 'w'); // truncates in place, as scp and cp do
    writeSync(fd, daemons.slice(0, 10).join('\n') + '\n');
    await pause(500);
    writeSync(fd, [...daemons.slice(10), '0 0 0 1 1 * * 1 cron name=added true'].join('\n') + '\n');
    closeSync(fd);

    const reloaded = await box.waitForLog('task file reloaded', { trigger: 'file change' }, 10_000, seen);
    expect(reloaded.summary).toBe('added 1, changed 0, removed 0, unchanged 20');
    await pause(SETTLE_MS + 500); // nothing else follows
    expect(box.daemonRecords().slice(seen).filter((record) => record.msg === 'task file reloaded')).toHaveLength(1);
    expect((await pids()).sort()).toEqual(before.sort());
  });

  it('an atomic save (rename) is applied without the settle wait', async () => {
    const box = sandbox();
    box.write(['0 0 0 1 1 * * 1 cron name=first true']);
    await box.start();
    await box.watching();
    const seen = box.daemonRecords().length;
    const saved = Date.now();
    box.saveAtomically(['0 0 0 1 1 * * 1 cron name=first true', '0 0 0 1 1 * * 1 cron name=second true']);
    const reloaded = await box.waitForLog('task file reloaded', { trigger: 'file change' }, 5000, seen);
    expect(reloaded.summary).toBe('added 1, changed 0, removed 0, unchanged 1');
    expect((reloaded.time as number) - saved).toBeLessThan(SETTLE_MS);
  });
});
