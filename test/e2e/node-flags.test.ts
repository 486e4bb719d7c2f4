/**
 * The daemon runs with its small-footprint V8 flags however it is started: forked by `gotorch start`,
 * or in the foreground through the executable's `#!/usr/bin/env -S node ...` line, or `npm start`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DAEMON_NODE_FLAGS, missingDaemonFlags } from '../../src/daemon/node-flags.js';
import { CLI, killAll, processesMentioning, waitFor, withoutJobKeeper } from '../helpers/processes.js';

// Issue 17: a plain-node foreground daemon re-execs itself with the flags (under the job keeper the exec is the keeper's, flags included: test/keeper).
withoutJobKeeper();

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

  it.each([
    ['none given', [], '', DAEMON_NODE_FLAGS],
    ['both given', [...DAEMON_NODE_FLAGS], '', []],
    ['one with another value, as the user chose', ['--max-semi-space-size=4'], '', ['--v8-pool-size=1']],
    ['in V8 spelling', ['--max_semi_space_size=2'], '', ['--v8-pool-size=1']],
    ['in NODE_OPTIONS', [], '--v8-pool-size=2 --max-semi-space-size=1', []],
  ])('missing when %s', (_what, execArgv, nodeOptions, missing) => {
    expect(missingDaemonFlags(execArgv, nodeOptions)).toEqual(missing);
  });

  /** `node main.js start -f` (no flags) in its own folder; resolves with its ready record, its stderr and its exit. */
  async function plainNodeForeground(name: string, env: NodeJS.ProcessEnv = {}) {
    const folder = mkdtempSync(path.join(dir, `${name}-`));
    const file = path.join(folder, 'tasks.conf');
    writeFileSync(file, '0 0 0 1 jan * * 1 cron name=never true\n');
    const child = spawn(process.execPath, [CLI, '-c', file, '--pidfile', path.join(folder, 'gotorch.pid'), '--log-dir', path.join(folder, 'log'), 'start', '--foreground'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const ready = () => stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { msg: string; pid: number; nodeFlags: string[] }).find((record) => record.msg === 'gotorch ready');
    await waitFor(() => ready() !== undefined || child.exitCode !== null, 30_000, `${name}: the foreground daemon to be ready`);
    child.kill('SIGTERM');
    return { pid: child.pid, ready: ready(), stderr, exitCode: await exited };
  }

  it('reach a foreground daemon started by plain node: it execs itself with them, keeping its pid and its stdout', async () => {
    const run = await plainNodeForeground('exec');
    expect(run.stderr).toBe('');
    expect(run.ready?.pid).toBe(run.pid);
    expect(run.ready?.nodeFlags).toEqual([...DAEMON_NODE_FLAGS]);
    expect(run.exitCode).toBe(0);
  });

  it('without the native addon, a plain node foreground daemon runs without them and says so', async () => {
    const run = await plainNodeForeground('no-addon', { GOTORCH_NATIVE_ADDON: path.join(dir, 'missing.node') });
    expect(run.stderr).toContain("gotorch: running without the daemon's node flags --max-semi-space-size=1 --v8-pool-size=1 (the native addon is not built");
    expect(run.ready?.nodeFlags).toEqual([]);
    expect(run.exitCode).toBe(0);
  });
});
