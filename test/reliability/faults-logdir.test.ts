/**
 * Fault injection: the log dir of a running daemon fills up, or turns read-only (SPEC §6 logs). The
 * daemon keeps scheduling (its every-second job writes outside the log dir: no gap, no double), says so
 * on stderr once per file — not once per record — and writes its logs again by itself once space
 * returns or the mount is writable again. Needs root (tmpfs and bind mounts); skipped loudly without.
 *
 * A read-only remount of the log dir's own file system fails (EBUSY) while the daemon holds its logs
 * open for writing, as on every Linux file system; so the read-only case stacks a read-only bind mount
 * on the log dir and sends SIGHUP (logrotate's reopen), the moment a daemon meets such a dir.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Sandbox, type LogRecord } from '../control/sandbox.js';
import { endOf, runCli, waitFor, type Started } from '../helpers/processes.js';
import { LONG, markerLine } from './faults-support.js';

/** How long each outage lasts, in seconds of the every-second task. */
const OUTAGE_SECONDS = LONG ? 90 : 5;
/** The daemon retries a failed log file every 30 s (LOG_FILE_DEFAULTS.retryMs): recovery comes within that. */
const RECOVERY_MS = 45_000;

const mounted: string[] = [];

function run(command: string, ...args: string[]): { ok: boolean; output: string } {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}`.trim() };
}

function mount(...args: string[]): void {
  const result = run('mount', ...args);
  if (!result.ok) throw new Error(`mount ${args.join(' ')} failed: ${result.output}`);
  if (!args.some((arg) => arg.startsWith('remount'))) mounted.push(args[args.length - 1]);
}

/** Unmounts in reverse order; a lazy unmount when something still holds a mount. */
function unmountAll(): void {
  for (const target of mounted.splice(0).reverse()) if (!run('umount', target).ok) run('umount', '-l', target);
}

/** Whether this process may mount a tmpfs (root, and a container that allows it). */
function mountWorks(): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root';
  const probe = mkdtempSync(path.join(os.tmpdir(), 'gotorch-mount-probe-'));
  try {
    const result = run('mount', '-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe);
    if (!result.ok) return `mount -t tmpfs failed: ${result.output}`;
    run('umount', probe);
    return undefined;
  } finally {
    rmdirSync(probe);
  }
}

const cannotMount = mountWorks();
if (cannotMount !== undefined) {
  console.warn(`\n!!! SKIPPED: the log dir fault-injection suite needs to mount file systems (${cannotMount}).\n!!! CI runs it as root.\n`);
}

const boxes: Sandbox[] = [];
const daemons: Started[] = [];

afterAll(async () => {
  for (const daemon of daemons) daemon.child.kill('SIGKILL');
  await Promise.all(daemons.map((daemon) => daemon.closed));
  unmountAll();
  for (const box of boxes) await box.cleanup();
}, 30_000);

function parsesWhole(file: string): { records: LogRecord[]; broken: string[] } {
  const records: LogRecord[] = [];
  const broken: string[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    try {
      records.push(JSON.parse(line) as LogRecord);
    } catch {
      broken.push(line);
    }
  }
  return { records, broken };
}

interface Outage {
  /** Makes the log dir unwritable; `daemon` is the foreground daemon's pid. */
  readonly start: (box: Sandbox, pid: number) => void;
  /** What stderr names as the cause, per file. */
  readonly cause: RegExp;
  readonly end: (box: Sandbox) => void;
}

async function survives(outage: Outage, size: string): Promise<void> {
  const box = new Sandbox();
  boxes.push(box);
  mkdirSync(box.logDir, { recursive: true });
  mount('-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', box.logDir);
  box.write([
    markerLine(box.dir),
    `* * * * * * * 1 cron name=tick echo $GOTORCH_SCHEDULED_AT >> ${box.dir}/tick.out; echo tick output`,
  ]);
  const daemon = runCli([...box.globalArgs, 'start', '--foreground']);
  daemons.push(daemon);
  await waitFor(() => daemon.stdout().includes('"msg":"gotorch ready"'), 10_000, 'the foreground daemon to be ready');
  const pid = box.pidfilePid() as number;
  // A reload four times a second keeps gotorch.log busy (a record each), enough to fill the slack of its
  // last tmpfs page within a few seconds; skips, which once did, are logged once a minute now.
  const reloads = setInterval(() => {
    try {
      process.kill(pid, 'SIGUSR2');
    } catch {
      // stopped at the end of the test
    }
  }, 250);
  try {
    await outageOf(box, daemon, outage);
  } finally {
    clearInterval(reloads);
  }
}

async function outageOf(box: Sandbox, daemon: ReturnType<typeof runCli>, outage: Outage): Promise<void> {
  const pid = box.pidfilePid() as number;
  await waitFor(() => box.finishedRuns('tick').length >= 2 && box.daemonRecords().some((record) => record.msg === 'task file reloaded'), 6000, 'both logs to be written');

  outage.start(box, pid);
  const brokenAt = Math.floor(Date.now() / 1000);
  const failed = (file: string): RegExp => new RegExp(`^gotorch: cannot (write|open) log file ${file} \\(${outage.cause.source}\\); scheduling continues`, 'm');
  await waitFor(() => failed(box.runsLog).test(daemon.stderr()) && failed(box.daemonLog).test(daemon.stderr()), 10_000, 'stderr to say both logs fail').catch((error: Error) => {
    throw new Error(`${error.message}; stderr:\n${daemon.stderr()}`);
  });
  // Scheduling goes on through the outage.
  await waitFor(() => box.numbers('tick.out').includes(brokenAt + OUTAGE_SECONDS), (OUTAGE_SECONDS + 5) * 1000, `${OUTAGE_SECONDS} s of ticks during the outage`);

  outage.end(box);
  const repairedAt = Date.now();
  const recovered = (file: string): RegExp => new RegExp(`^gotorch: log file ${file} is writable again; (\\d+) log records were dropped`, 'm');
  await waitFor(() => recovered(box.runsLog).test(daemon.stderr()) && recovered(box.daemonLog).test(daemon.stderr()), RECOVERY_MS, 'stderr to say both logs recovered').catch((error: Error) => {
    throw new Error(`${error.message}; stderr:\n${daemon.stderr()}`);
  });
  const recoveryMs = Date.now() - repairedAt;
  const newer = (records: LogRecord[]): boolean => records.some((record) => (record.time as number) > repairedAt);
  await waitFor(() => newer(box.runRecords()) && newer(box.daemonRecords()), 5000, 'new records in runs.log and gotorch.log');

  const stopping = box.cli('stop');
  expect(await endOf(daemon)).toBe(0);
  expect(await stopping).toMatchObject({ code: 0 });

  const stderr = daemon.stderr().split('\n').filter(Boolean);
  const dropped = [box.runsLog, box.daemonLog].map((file) => Number(recovered(file).exec(daemon.stderr())?.[1]));
  const seconds = box.numbers('tick.out');
  const runs = parsesWhole(box.runsLog);
  const daemonLog = parsesWhole(box.daemonLog);
  console.log(
    `log dir ${outage.cause.source}: ${seconds.length} ticks, outage ${OUTAGE_SECONDS} s, stderr ${stderr.length} lines, ` +
      `records dropped runs.log ${dropped[0]} gotorch.log ${dropped[1]}, recovered ${recoveryMs} ms after the repair, ` +
      `broken lines runs.log ${runs.broken.length} gotorch.log ${daemonLog.broken.length}`,
  );
  // One line per file when it fails and one when it recovers: no flood.
  expect(stderr, daemon.stderr()).toHaveLength(4);
  expect(dropped.every((count) => count > 0)).toBe(true);
  // Every second from the first tick to the last ran exactly once.
  expect(seconds).toEqual(Array.from({ length: seconds[seconds.length - 1] - seconds[0] + 1 }, (_, index) => seconds[0] + index));
  expect(seconds.length).toBeGreaterThan(OUTAGE_SECONDS);
  // A record the full disk cut short stays one broken line of its own: no record after it is damaged.
  for (const log of [runs, daemonLog]) {
    expect(log.broken.length, log.broken.join('\n')).toBeLessThanOrEqual(1);
    for (const line of log.broken) expect(line.indexOf('{"level"', 1), `a record joined to a cut one: ${line}`).toBe(-1);
  }
}

describe.skipIf(cannotMount !== undefined)('the log dir of a running daemon fails (SPEC §6)', () => {
  it('full (ENOSPC on a 256 KiB tmpfs): scheduling goes on, one stderr line per file, recovery once space returns', async () => {
    await survives(
      {
        start: (box) => {
          // dd stops at ENOSPC, leaving the file system full.
          run('dd', 'if=/dev/zero', `of=${path.join(box.logDir, 'filler')}`, 'bs=4k');
          expect(run('df', '--output=avail', box.logDir).output.split('\n')[1].trim()).toBe('0');
        },
        cause: /ENOSPC/,
        end: (box) => rmSync(path.join(box.logDir, 'filler')),
      },
      '256k',
    );
  }, (LONG ? 240 : 150) * 1000);

  it('read-only (a read-only bind mount over it, then SIGHUP): scheduling goes on, one stderr line per file, recovery once writable', async () => {
    await survives(
      {
        start: (box, pid) => {
          mount('--bind', box.logDir, box.logDir);
          mount('-o', 'remount,bind,ro', box.logDir);
          process.kill(pid, 'SIGHUP');
        },
        cause: /EROFS/,
        end: (box) => mount('-o', 'remount,bind,rw', box.logDir),
      },
      '4m',
    );
  }, (LONG ? 240 : 150) * 1000);
});
