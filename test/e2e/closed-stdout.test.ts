import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers/processes.js';
import { runToEnd, sandboxes } from '../control/sandbox.js';

const sandbox = sandboxes();

/** The built CLI with a stdout pipe whose reader is gone before the first write (`gotorch status | head -0`). */
async function withClosedStdout(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  const { code, stderr } = await runToEnd(process.execPath, [CLI, ...args], { closeStdout: true });
  return { code, stderr };
}

describe('a closed stdout ends a command quietly, with its own exit code (SPEC §4)', () => {
  it('check, check --json, a rejected check and status without a daemon', async () => {
    const box = sandbox();
    box.write(Array.from({ length: 40 }, (_, index) => `${index} * * * * * * 1 cron name=t${index} true`));
    const bad = box.write(['61 * * * * * * 1 cron true'], 'bad.conf');
    const [check, json, rejected, status] = await Promise.all([
      withClosedStdout([...box.globalArgs, 'check', '--next', '20']),
      withClosedStdout([...box.globalArgs, 'check', '--json']),
      withClosedStdout(['-c', bad, 'check', '--json']),
      withClosedStdout([...box.globalArgs, 'status']),
    ]);
    expect(check).toEqual({ code: 0, stderr: '' });
    expect(json).toEqual({ code: 0, stderr: '' });
    expect(rejected).toEqual({ code: 1, stderr: '' });
    expect(status).toEqual({ code: 3, stderr: '' });
  });

  it('status of a running daemon', async () => {
    const box = sandbox();
    box.write(['0 0 0 1 1 * * 1 cron name=never true']);
    await box.start();
    expect(await withClosedStdout([...box.globalArgs, 'status'])).toEqual({ code: 0, stderr: '' });
    expect(await withClosedStdout([...box.globalArgs, 'status', '--json'])).toEqual({ code: 0, stderr: '' });
  });
});
