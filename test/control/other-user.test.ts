/**
 * A user who is not the daemon's (SPEC §4 messages): "permission denied", naming the file, never "not
 * running" — `stop` must not report success for a daemon it cannot see.
 */
import { chmodSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLI, isAlive } from '../helpers/processes.js';
import { runToEnd, sandboxes, type CliResult, type Sandbox } from './sandbox.js';

const asRoot = process.getuid?.() === 0;
if (!asRoot) console.warn('\n!!! OTHER-USER TESTS SKIPPED: not running as root (they run the CLI as nobody against root\'s daemon) !!!\n');

const sandbox = sandboxes();

/** The built CLI as `nobody` (setpriv, util-linux), with the sandbox's options. */
const asNobody = (box: Sandbox, ...args: string[]): Promise<CliResult> =>
  runToEnd('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, ...box.globalArgs, ...args]);

describe.skipIf(!asRoot)("root's daemon, commands run by another user", () => {
  it('an unreadable pidfile: stop, quit and start say permission denied naming it, exit 1; the daemon runs on', async () => {
    const box = sandbox();
    box.write(['0 0 0 1 1 * * 1 cron name=never true']);
    const pid = await box.start();
    for (const command of ['stop', 'quit', 'start']) {
      const result = await asNobody(box, command);
      expect(result.code, command).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(`gotorch: permission denied reading the pidfile ${box.pidfile}: it belongs to another user (root?); run gotorch as the user the daemon runs as\n`);
    }
    const status = await asNobody(box, 'status');
    expect(status.code).toBe(1);
    expect(status.stderr).toBe(`gotorch: permission denied on the control socket ${box.socket}: the daemon runs as another user; run gotorch as that user\n`);
    expect(isAlive(pid)).toBe(true);
  });

  it('a readable pidfile of a daemon it may not signal: stop says permission denied, exit 1', async () => {
    const box = sandbox();
    box.write(['0 0 0 1 1 * * 1 cron name=never true']);
    const pid = await box.start();
    for (const folder of [box.dir, box.runDir]) chmodSync(folder, 0o755);
    chmodSync(box.pidfile, 0o644);
    const stop = await asNobody(box, 'stop');
    expect(stop.code).toBe(1);
    expect(stop.stderr).toBe(`gotorch: permission denied: cannot signal the daemon (pid ${pid}, pidfile ${box.pidfile}), which runs as another user; run gotorch as that user\n`);
    expect(isAlive(pid)).toBe(true);
  });
});
