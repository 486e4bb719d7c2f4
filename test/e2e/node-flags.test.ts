/**
 * The daemon runs with its small-footprint V8 flags however it is started: forked by `gotorch start`,
 * or in the foreground through the executable's `#!/usr/bin/env -S node ...` line, or `npm start`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DAEMON_NODE_FLAGS } from '../../src/daemon/node-flags.js';
import { CLI, killAll, processesMentioning } from '../helpers/processes.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-flags-'));
const conf = path.join(dir, 'tasks.conf');
const common = ['-c', conf, '--pidfile', path.join(dir, 'gotorch.pid'), '--log-dir', path.join(dir, 'log')];

afterAll(async () => {
  spawnSync(process.execPath, [CLI, ...common, 'stop']);
  await killAll(processesMentioning(dir));
});

describe('the daemon V8 flags', () => {
  it('are on the executable line and in npm start', () => {
    expect(readFileSync(CLI, 'utf8').split('\n')[0]).toBe(`#!/usr/bin/env -S node ${DAEMON_NODE_FLAGS.join(' ')}`);
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toContain(`node ${DAEMON_NODE_FLAGS.join(' ')} dist/src/cli/main.js`);
  });

  it('let the executable run through its own first line', () => {
    const result = spawnSync(CLI, ['--version'], { encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('reach the daemon that `gotorch start` forks', () => {
    writeFileSync(conf, '0 0 0 1 jan * * 1 cron name=never true\n');
    const started = spawnSync(process.execPath, [CLI, ...common, 'start'], { encoding: 'utf8' });
    expect(started.status, started.stderr).toBe(0);
    // The daemon renames itself (process.title), so /proc/PID/cmdline no longer shows them: its log does.
    const ready = readFileSync(path.join(dir, 'log', 'gotorch.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { msg: string; nodeFlags?: string[] })
      .find((record) => record.msg === 'gotorch ready');
    expect(ready?.nodeFlags).toEqual(DAEMON_NODE_FLAGS);
  });
});
