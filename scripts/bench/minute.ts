/**
 * busybox crond against gotorch at a minute boundary, 50 jobs each. busybox has minute resolution, so
 * both run the same job (`exec bash` writing $EPOCHREALTIME) and lateness is measured from the minute.
 * Full mode: gotorch fires on odd minutes and busybox on even ones, so they never compete; quick mode:
 * both at the same boundary (contended, a smoke test only).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startRunner, stopProcess, waitFor } from './lateness.js';
import { busyboxCrond } from './peers/busybox.js';
import { round, summary } from './stats.js';

const JOBS = 50;

interface BoundaryLateness {
  readonly jobs: number;
  readonly runs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** Lateness from the minute of the first minute in `file` that holds every job's line. */
function firstFullMinute(file: string): BoundaryLateness | undefined {
  if (!existsSync(file)) return undefined;
  const byMinute = new Map<number, number[]>();
  for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const at = Number(line) * 1000;
    const minute = Math.floor(at / 60_000) * 60_000;
    byMinute.set(minute, [...(byMinute.get(minute) ?? []), at - minute]);
  }
  const full = [...byMinute.entries()].sort(([a], [b]) => a - b).find(([, late]) => late.length >= JOBS);
  if (full === undefined) return undefined;
  const stats = summary(full[1]);
  return { jobs: JOBS, runs: stats.n, p50Ms: round(stats.p50, 2), p99Ms: round(stats.p99, 2), maxMs: round(stats.max, 2) };
}

export async function minuteBoundary(shared: boolean) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-bench-minute-'));
  const command = (file: string) => `exec /bin/bash -c 'echo $EPOCHREALTIME >> ${path.join(dir, file)}'`;
  const found = process.getuid?.() === 0 ? busyboxCrond() : ({ ok: false, reason: 'busybox crond runs jobs as root only: run the bench as root' } as const);
  let crond: ChildProcess | undefined;
  const jobs = Array.from({ length: JOBS }, () => [shared ? '0 * * * * *' : '0 1-59/2 * * * *', command('gotorch.txt')] as const);
  const ours = await startRunner('gotorch', dir, jobs);
  try {
    if (found.ok) {
      mkdirSync(path.join(dir, 'crontabs'));
      writeFileSync(path.join(dir, 'crontabs', 'root'), Array.from({ length: JOBS }, () => `${shared ? '*' : '*/2'} * * * * ${command('busybox.txt')}`).join('\n') + '\n');
      crond = spawn(found.busybox, ['crond', '-f', '-c', path.join(dir, 'crontabs'), '-L', path.join(dir, 'crond.log'), '-l', '8'], { stdio: 'ignore' });
    }
    await waitFor(
      () => firstFullMinute(path.join(dir, 'gotorch.txt')) !== undefined && (!found.ok || firstFullMinute(path.join(dir, 'busybox.txt')) !== undefined),
      (shared ? 65 : 185) * 1000,
      'a minute boundary for gotorch and busybox crond',
    );
  } finally {
    await stopProcess(ours);
    if (crond !== undefined) await stopProcess(crond);
  }
  const result = {
    mode: shared ? 'same boundary' : 'alternate minutes',
    gotorch: firstFullMinute(path.join(dir, 'gotorch.txt')),
    busybox: found.ok ? { version: found.version, ...firstFullMinute(path.join(dir, 'busybox.txt')) } : { missing: found.reason },
  };
  rmSync(dir, { recursive: true, force: true });
  return result;
}
