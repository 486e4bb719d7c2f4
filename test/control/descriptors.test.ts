/**
 * The daemon keeps no descriptor it did not open, and jobs get only 0, 1 and 2 (issue 10, item 5):
 * `gotorch start 30>&1 | cat` returns, and a `flock` the calling shell held is released with it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, waitFor } from '../helpers/processes.js';
import { sandboxes } from './sandbox.js';

const sandbox = sandboxes();

/** Runs `script` under bash (dash takes single-digit descriptors only) with `$GOTORCH` set to the CLI and the sandbox's options; resolves with its exit code. */
function shell(script: string, globalArgs: readonly string[], timeoutMs: number): Promise<number | null | 'timeout'> {
  const gotorch = [process.execPath, CLI, ...globalArgs].map((word) => `'${word}'`).join(' ');
  const child = spawn('bash', ['-c', script.replaceAll('$GOTORCH', gotorch)], { stdio: 'ignore', detached: true });
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      process.kill(-(child.pid as number), 'SIGKILL');
      resolve('timeout');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe('inherited file descriptors (issue 10, item 5)', () => {
  it('`gotorch start 30>&1 | cat` returns: the daemon does not hold the pipe', async () => {
    const box = sandbox();
    box.write(['* * * * * * * 1 cron name=tick true']);
    expect(await shell('$GOTORCH start 30>&1 | cat >/dev/null', box.globalArgs, 15_000)).toBe(0);
  });

  it("a flock held on fd 200 by the calling shell is released once that shell exits; a job's descriptors are 0, 1, 2", async () => {
    const box = sandbox();
    const lock = path.join(box.dir, 'lock');
    box.write(['* * * * * * * 1 cron name=long sleep 30']);
    expect(await shell(`exec 200>'${lock}'; flock 200; $GOTORCH start`, box.globalArgs, 15_000)).toBe(0);
    expect(spawnSync('flock', ['-n', lock, 'true']).status, 'the lock is free once the starting shell is gone').toBe(0);
    const job = await waitFor(async () => (await box.task('long'))?.running[0]?.pid, 5000, 'the job to run');
    // `sh -c 'sleep 30'` execs sleep: the job's process holds exactly what it was given.
    expect(readdirSync(`/proc/${job}/fd`).sort()).toEqual(['0', '1', '2']);
  });
});
