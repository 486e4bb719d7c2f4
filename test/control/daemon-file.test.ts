/**
 * `reload` and `restart` without `-c` (SPEC §4): they concern the file the running daemon runs, not a
 * `./tasks.conf` in whatever folder the command is typed in.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, isAlive, waitFor } from '../helpers/processes.js';
import { runToEnd, sandboxes, type CliResult, type Sandbox } from './sandbox.js';

const sandbox = sandboxes();
const elsewhere: string[] = [];
afterEach(() => {
  for (const dir of elsewhere.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A folder with a `tasks.conf` of its own that is not the daemon's: the trap the default `-c` fell into. */
function otherFolder(lines: readonly string[]): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-cwd-'));
  elsewhere.push(dir);
  writeFileSync(path.join(dir, 'tasks.conf'), lines.join('\n') + '\n');
  return dir;
}

/** The CLI run in `cwd` with the sandbox's pidfile and logs but no `-c`. */
const withoutTasksOption = (box: Sandbox, cwd: string, ...args: string[]): Promise<CliResult> =>
  runToEnd(process.execPath, [CLI, '--pidfile', box.pidfile, '--log-dir', box.logDir, ...args], { cwd });

describe('reload and restart use the running daemon’s task file unless -c names one', () => {
  it('reload without -c names the daemon’s file when it rejects it, not ./tasks.conf', async () => {
    const box = sandbox();
    box.write(['0 0 0 1 1 * * 1 cron name=never true']);
    await box.start();
    const cwd = otherFolder(['0 0 0 1 1 * * 1 cron name=unrelated true']);
    box.write(['0 0 0 1 1 * * 1 cron name=never true', '* * * * * * * 1 cron name=bad timeout=soon true']);
    const reload = await withoutTasksOption(box, cwd, 'reload');
    expect(reload.code).toBe(1);
    expect(reload.stderr).toMatch(new RegExp(`^gotorch: ${box.conf} rejected; the previous schedule keeps running:\\n${box.conf}:2:`));
  });

  it('reload -c naming another file than the daemon’s is refused, saying which file the daemon runs', async () => {
    const box = sandbox();
    box.write(['0 0 0 1 1 * * 1 cron name=never true']);
    await box.start();
    const other = box.write(['0 0 0 1 1 * * 1 cron name=other true'], 'other.conf');
    const reload = await runToEnd(process.execPath, [CLI, '-c', other, '--pidfile', box.pidfile, '--log-dir', box.logDir, 'reload']);
    expect(reload).toEqual({
      code: 1,
      stdout: '',
      stderr: `gotorch: the daemon runs ${box.conf}, not ${other}; reload applies the daemon's own file (to switch files: gotorch -c ${other} restart)\n`,
    });
    // The same file by a relative name is the daemon's file.
    const relative = await runToEnd(process.execPath, [CLI, '-c', 'tasks.conf', '--pidfile', box.pidfile, '--log-dir', box.logDir, 'reload'], { cwd: box.dir });
    expect(relative).toMatchObject({ code: 0, stderr: '' });
  });

  it('restart without -c validates the daemon’s file (a bad one leaves the daemon alone) and restarts with it', async () => {
    const box = sandbox();
    box.write(['0 0 0 1 1 * * 1 cron name=never true']);
    const first = await box.start();
    const cwd = otherFolder(['this is not a task file']);
    box.write(['0 0 0 1 1 * * 1 cron name=never true', '* * * * * * * 1 cron name=bad timeout=soon true']);
    const rejected = await withoutTasksOption(box, cwd, 'restart');
    expect(rejected.code).toBe(1);
    expect(rejected.stderr).toMatch(new RegExp(`^gotorch: ${box.conf} rejected, the running daemon was left alone:\\n${box.conf}:2:`));
    expect(isAlive(first)).toBe(true);

    box.write(['0 0 0 1 1 * * 1 cron name=never true', '0 0 0 1 1 * * 1 cron name=added true']);
    const restarted = await withoutTasksOption(box, cwd, 'restart');
    expect(restarted.code, restarted.stderr).toBe(0);
    // Stopped and started again, or (under the job keeper, issue 17) handed over.
    expect(restarted.stdout).toMatch(new RegExp(`gotorch stopped \\(pid ${first}\\)|pid ${first} handed over to pid \\d+`));
    const status = await box.status();
    expect(status.pid).not.toBe(first);
    expect(status.file).toBe(box.conf);
    expect(status.tasks.map((task) => task.name)).toEqual(['never', 'added']);
  });

  it('a foreground daemon started with a relative -c reports its file as an absolute path', async () => {
    const box = sandbox();
    box.write(['0 0 0 1 1 * * 1 cron name=never true']);
    const daemon = spawn(process.execPath, [CLI, '-c', 'tasks.conf', '--pidfile', box.pidfile, '--log-dir', box.logDir, 'start', '--foreground'], { cwd: box.dir, stdio: 'ignore' });
    box.track(daemon.pid!);
    // The daemon is the process started, or (issue 17) the child of the job keeper it became in place.
    await waitFor(() => existsSync(box.socket) && [daemon.pid, ...childrenOf(daemon.pid!)].includes(box.pidfilePid()), 10_000, 'the foreground daemon');
    expect((await box.status()).file).toBe(box.conf);
  });
});

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
