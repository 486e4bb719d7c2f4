import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/processes.js';

// Nothing here may reach a real runtime folder, whatever the parser makes of the arguments.
const home = mkdtempSync(path.join(os.tmpdir(), 'gotorch-usage-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

async function gotorch(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = runCli(args, { GOTORCH_HOME: home });
  const code = await run.closed;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

describe('usage (SPEC §4: 0 success, 2 usage error)', () => {
  it('bare gotorch prints its help on stdout and exits 0, as --help and help do', async () => {
    for (const args of [[], ['--help'], ['help']]) {
      const result = await gotorch(...args);
      expect(result.code, args.join(' ')).toBe(0);
      expect(result.stdout).toMatch(/^Usage: gotorch \[options\] \[command\]\n/);
      expect(result.stdout).toContain('\nCommands:\n');
      expect(result.stderr).toBe('');
    }
  });

  it('options without a command exit 2 and say so, naming an option that took a command as its value', async () => {
    const swallowed = await gotorch('--pidfile', 'stop');
    expect(swallowed.code).toBe(2);
    expect(swallowed.stdout).toBe('');
    expect(swallowed.stderr).toMatch(/^error: no command given \(--pidfile took "stop" as its value\)\n\nUsage: gotorch /);
    const onlyOptions = await gotorch('-c', 'other.conf');
    expect(onlyOptions.code).toBe(2);
    expect(onlyOptions.stderr).toMatch(/^error: no command given\n/);
  });

  it.each([
    { args: ['--pidfile'], stderr: "error: option '--pidfile <file>' argument missing" },
    { args: ['status', '--pidfile'], stderr: "error: option '--pidfile <file>' argument missing" },
    { args: ['bogus'], stderr: "error: unknown command 'bogus'" },
    { args: ['status', '--bogus'], stderr: "error: unknown option '--bogus'" },
    { args: ['kill'], stderr: "error: missing required argument 'name'" },
  ])('$args exits 2: $stderr', async ({ args, stderr }) => {
    const result = await gotorch(...args);
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')[0]).toBe(stderr);
  });
});
