import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readJsonLines } from '../control/sandbox.js';
import { killAll, processesMentioning, runCli, waitFor, type Started } from '../helpers/processes.js';

const MiB = 1024 * 1024;
const started: Started[] = [];
const marks: string[] = [];

afterEach(async () => {
  await killAll(started.splice(0).flatMap((run) => (run.child.pid ? [run.child.pid] : [])));
  for (const mark of marks.splice(0)) await killAll(processesMentioning(mark));
});

function rssOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((entry) => entry.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1]) * 1024;
}

function runRecords(dir: string, task: string): Record<string, unknown>[] {
  // The daemon is writing the file: its last line may be half written (readJsonLines skips it).
  return readJsonLines(path.join(dir, 'log', 'runs.log')).filter((record) => record.task === task && 'durationMs' in record);
}

async function startDaemon(lines: readonly string[]): Promise<{ dir: string; daemon: Started }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-output-'));
  writeFileSync(path.join(dir, 'tasks.conf'), lines.join('\n') + '\n');
  const daemon = runCli(['start', '--foreground', '-c', path.join(dir, 'tasks.conf'), '--pidfile', path.join(dir, 'pid'), '--log-dir', path.join(dir, 'log')]);
  started.push(daemon);
  await waitFor(() => daemon.output().includes('gotorch ready'), 10_000, 'the daemon to be ready');
  return { dir, daemon };
}

describe('job output and the daemon (SPEC §2)', () => {
  it("a job printing 1 GB leaves the daemon's RSS within 20 MB of its start", async () => {
    const second = (Math.floor(Date.now() / 1000) + 4) % 60;
    const { dir } = await startDaemon([`${second} * * * * * * 1 cron name=big yes "$(head -c 1000 /dev/zero | tr '\\0' x)" | head -c 1000000000`]);
    // The daemon's own pid (under the job keeper the foreground process is the keeper, the daemon its child).
    const pid = Number(readFileSync(path.join(dir, 'pid'), 'utf8'));
    const before = rssOf(pid);
    const [record] = await waitFor(() => runRecords(dir, 'big').length > 0 && runRecords(dir, 'big'), 40_000, 'the 1 GB run to finish');
    const after = rssOf(pid);
    console.log(`daemon RSS before ${(before / MiB).toFixed(1)} MiB, after the 1 GB job ${(after / MiB).toFixed(1)} MiB`);
    expect(record).toMatchObject({ exitCode: 0, bytesKept: MiB, bytesDropped: 1_000_000_000 - MiB });
    expect(after - before).toBeLessThan(20 * MiB);
  }, 60_000);

  it('a job flooding its output past log_limit is still timed out, and nothing of it survives', async () => {
    const mark = `flood-${process.pid}-${Date.now()}`;
    marks.push(mark);
    const { dir } = await startDaemon([`* * * * * * * 1 cron name=flood timeout=2s grace=1s log_limit=4k yes ${mark}`]);
    const [record] = await waitFor(() => runRecords(dir, 'flood').length > 0 && runRecords(dir, 'flood'), 15_000, 'the flood run to time out');
    expect(record).toMatchObject({ timedOut: true, signal: 'SIGTERM', bytesKept: 4096 });
    expect(record.bytesDropped as number).toBeGreaterThan(MiB);
    await waitFor(() => processesMentioning(mark).length === 0 || undefined, 5000, 'the flood to be gone').catch(() => undefined);
    expect(processesMentioning(mark)).toEqual([]);
  }, 30_000);
});
