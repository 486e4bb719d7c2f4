/**
 * SPEC §4 start: "else print why and return 1". A folder the daemon cannot write, and a daemon that
 * dies before it reports, are explained on stderr, not with "see gotorch.stderr".
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { processesMentioning, runCli } from '../helpers/processes.js';
import { commandLine, sandboxes, type Sandbox } from './sandbox.js';

const sandbox = sandboxes();
const asRoot = process.getuid?.() === 0;

const daemonsOf = (box: Sandbox): number[] => processesMentioning(box.dir).filter((pid) => commandLine(pid).startsWith('gotorch: daemon'));

/** `start` with the sandbox's task file and these folders. */
async function start(box: Sandbox, pidfile: string, logDir = box.logDir, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = runCli(['-c', box.conf, '--pidfile', pidfile, '--log-dir', logDir, 'start'], env);
  const code = await run.closed;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

/** A read-only bind mount of a fresh folder: what a container's read-only volume is. */
function readOnlyFolder(dir: string): string | undefined {
  const folder = path.join(dir, 'ro');
  mkdirSync(folder);
  return spawnSync('mount', ['--bind', '-o', 'ro', folder, folder]).status === 0 ? folder : undefined;
}

/** Whether this process may bind-mount (root with CAP_SYS_ADMIN; not in every container). */
const canMount = ((): boolean => {
  if (!asRoot) return false;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-mount-'));
  const folder = readOnlyFolder(dir);
  if (folder !== undefined) spawnSync('umount', [folder]);
  rmSync(dir, { recursive: true, force: true });
  return folder !== undefined;
})();
if (!canMount) console.warn('\n!!! READ-ONLY MOUNT TEST SKIPPED: mount --bind needs root with CAP_SYS_ADMIN !!!\n');

const pidfileHint = (folder: string): string => `; the pidfile, control socket and state file live in ${folder}: give --pidfile a folder this user can write\n`;

describe('start on a folder it cannot write: exit 1 and the error, naming the path', () => {
  it('the pidfile folder is a file', async () => {
    const box = sandbox();
    box.write(['0 0 0 1 1 * * 1 cron name=never true']);
    const file = box.write(['not a folder'], 'run');
    const result = await start(box, path.join(file, 'gotorch.pid'));
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`gotorch: could not start: cannot mkdir ${file} (ENOTDIR: a file, not a directory)${pidfileHint(file)}`);
    expect(daemonsOf(box)).toEqual([]);
  });

  it.skipIf(!canMount)('the pidfile folder is in a read-only mount, existing or to be created', async () => {
    const box = sandbox();
    box.write(['0 0 0 1 1 * * 1 cron name=never true']);
    const folder = readOnlyFolder(box.dir)!;
    try {
      const existing = await start(box, path.join(folder, 'gotorch.pid'));
      expect(existing.code).toBe(1);
      expect(existing.stderr).toMatch(new RegExp(`^gotorch: could not start: cannot open ${folder}/gotorch\\.pid\\.[0-9a-f]+\\.tmp \\(EROFS: read-only file system\\)`));
      expect(existing.stderr).toMatch(new RegExp(`${pidfileHint(folder).replace(/[.()]/g, '\\$&')}$`));
      // mkdirSync's recursive mode would call this ENOENT.
      const missing = await start(box, path.join(folder, 'run', 'deeper', 'gotorch.pid'));
      expect(missing.code).toBe(1);
      expect(missing.stderr).toBe(`gotorch: could not start: cannot mkdir ${folder}/run (EROFS: read-only file system)${pidfileHint(`${folder}/run/deeper`)}`);
      const logs = await start(box, box.pidfile, path.join(folder, 'log'));
      expect(logs).toEqual({ code: 1, stdout: '', stderr: `gotorch: cannot create the log folder ${folder}/log (EROFS: read-only file system); give --log-dir a folder this user can write\n` });
      expect(daemonsOf(box)).toEqual([]);
    } finally {
      spawnSync('umount', [folder]);
    }
  });

  it.skipIf(asRoot)('the pidfile folder is not writable by this user', async () => {
    const box = sandbox();
    box.write(['0 0 0 1 1 * * 1 cron name=never true']);
    mkdirSync(box.runDir, { mode: 0o500 });
    chmodSync(box.runDir, 0o500);
    const result = await start(box, box.pidfile);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^gotorch: could not start: cannot open ${box.runDir}/gotorch\\.pid\\.[0-9a-f]+\\.tmp \\(EACCES: permission denied\\)`));
  });

  it('the log folder, or gotorch.stderr in it, cannot be created by the starting command', async () => {
    const box = sandbox();
    box.write(['0 0 0 1 1 * * 1 cron name=never true']);
    const file = box.write(['not a folder'], 'logfile');
    expect(await start(box, box.pidfile, path.join(file, 'log'))).toEqual({
      code: 1,
      stdout: '',
      stderr: `gotorch: cannot create the log folder ${file}/log (ENOTDIR: not a directory); give --log-dir a folder this user can write\n`,
    });
    mkdirSync(path.join(box.logDir, 'gotorch.stderr'), { recursive: true });
    expect(await start(box, box.pidfile)).toEqual({
      code: 1,
      stdout: '',
      stderr: `gotorch: cannot open ${box.logDir}/gotorch.stderr (EISDIR: illegal operation on a directory); give --log-dir a folder this user can write\n`,
    });
  });
});

describe('a daemon that dies before it reports', () => {
  it('start prints the end of what it wrote to gotorch.stderr (and nothing older)', async () => {
    const box = sandbox();
    box.write(['0 0 0 1 1 * * 1 cron name=never true']);
    // Crashes the daemonized child only, before any gotorch code runs: what an import error or a broken install does.
    const crash = box.write(['if (process.argv.includes("--daemon-child")) throw new Error("planted crash before the daemon ran")'], 'crash.cjs');
    mkdirSync(box.logDir, { recursive: true });
    writeFileSync(path.join(box.logDir, 'gotorch.stderr'), 'an older daemon said this\n');
    const result = await start(box, box.pidfile, box.logDir, { NODE_OPTIONS: `--require ${crash}` });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^gotorch: the daemon exited \\(exit code 1\\) before it was ready; the end of ${box.logDir}/gotorch\\.stderr:\\n`));
    expect(result.stderr).toContain('Error: planted crash before the daemon ran');
    expect(result.stderr).not.toContain('an older daemon said this');
  });
});
