/**
 * A job that double-forks into the background (setsid) leaves its process group but keeps its run's
 * environment and often its pipes: timeout and stop must still end it (SPEC §2; reliability faults).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, killAll, processesMentioning, waitFor } from '../helpers/processes.js';

let dir = '';
const marks: string[] = [];

function gotorch(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [CLI, '-c', path.join(dir, 'tasks.conf'), '--pidfile', path.join(dir, 'run', 'gotorch.pid'), '--log-dir', path.join(dir, 'log'), ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** A sleep length no other process uses: finds the escaped process in /proc. */
function mark(): string {
  const value = String(200_000 + Math.floor(Math.random() * 700_000));
  marks.push(value);
  return value;
}

afterEach(async () => {
  gotorch('stop');
  for (const value of marks.splice(0)) await killAll(processesMentioning(`sleep\0${value}`));
  if (dir) await killAll(processesMentioning(dir));
});

describe('jobs that escape their process group', () => {
  it('a double-forked job is gone after its timeout', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-escape-'));
    const value = mark();
    writeFileSync(path.join(dir, 'tasks.conf'), `* * * * * * * 1 cron name=escape timeout=1s grace=500ms (setsid sleep ${value} &) ; sleep 100\n`);
    expect(gotorch('start').status).toBe(0);
    await waitFor(() => processesMentioning(`sleep\0${value}`).length > 0, 5000, 'the escaped process');
    const runs = path.join(dir, 'log', 'runs.log');
    const record = await waitFor(
      () => (existsSync(runs) ? readFileSync(runs, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>).find((entry) => 'timedOut' in entry) : undefined),
      10_000,
      'the timed-out run',
    );
    expect(record.timedOut).toBe(true);
    await waitFor(() => processesMentioning(`sleep\0${value}`).length === 0, 3000, 'the escaped process to be gone').catch(() => undefined);
    expect(processesMentioning(`sleep\0${value}`)).toEqual([]);
  }, 30_000);

  it('stop ends a run whose escaped process holds its pipes, promptly', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-escape-'));
    const value = mark();
    writeFileSync(path.join(dir, 'tasks.conf'), `* * * * * * * 1 cron name=holder (setsid sleep ${value} &) ; exit 0\n`);
    expect(gotorch('start').status).toBe(0);
    await waitFor(() => processesMentioning(`sleep\0${value}`).length > 0, 5000, 'the escaped process');
    const begin = Date.now();
    const stopped = gotorch('stop');
    expect(stopped.status, stopped.output).toBe(0);
    expect(Date.now() - begin).toBeLessThan(5000);
    expect(processesMentioning(`sleep\0${value}`)).toEqual([]);
  }, 30_000);
});
