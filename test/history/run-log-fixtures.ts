/**
 * Run log lines as src/daemon/run-log.ts writes them through pino (field order included: `level`,
 * `time`, `log`, the bound `task` and `run`, then the record's fields and `msg`), and a temp log folder.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';

export function outputLine(task: string, run: string, time: number, line: string, stream = 'stdout'): string {
  return JSON.stringify({ level: 30, time, log: 'run', task, run, stream, line });
}

export interface Finished {
  readonly scheduledAt: number;
  /** When the record was written (ms); default: the start plus the duration. */
  readonly time?: number;
  readonly durationMs?: number;
  readonly lateMs?: number;
  readonly exitCode?: number | null;
  readonly signal?: string | null;
  readonly timedOut?: boolean;
  readonly killed?: boolean;
  readonly jobPid?: number | null;
  readonly error?: string | null;
  readonly trigger?: string;
  readonly attempt?: number;
}

export function finishedLine(task: string, run: string, fields: Finished): string {
  const lateMs = fields.lateMs ?? 3;
  const durationMs = fields.durationMs ?? 20;
  const startedAt = fields.scheduledAt * 1000 + lateMs;
  const exitCode = fields.exitCode === undefined ? 0 : fields.exitCode;
  return JSON.stringify({
    level: exitCode === 0 ? 30 : 40,
    time: fields.time ?? startedAt + durationMs,
    log: 'run',
    task,
    run,
    trigger: fields.trigger ?? 'schedule',
    attempt: fields.attempt ?? 1,
    jobPid: fields.jobPid === undefined ? 4242 : fields.jobPid,
    scheduledAt: fields.scheduledAt,
    startedAt,
    lateMs,
    durationMs,
    exitCode,
    signal: fields.signal ?? null,
    timedOut: fields.timedOut ?? false,
    killed: fields.killed ?? false,
    bytesKept: 0,
    bytesDropped: 0,
    error: fields.error ?? null,
    msg: 'run finished',
  });
}

/** A `fire skipped` record: one second, or several counted into one (skip-report.ts). */
export function skippedLine(task: string, time: number, seconds: readonly number[], reason = 'max'): string {
  const counted = seconds.length > 1 ? { skipped: seconds.length, seconds } : {};
  return JSON.stringify({ level: 40, time, log: 'run', task, scheduledAt: seconds[0], reason, ...counted, running: 1, starting: 0, max: 1, msg: 'fire skipped' });
}

/** A hook's outcome (SPEC §8) as the run log writes it; `ping`: a ping's endpoint. */
export function hookLine(task: string, run: string, time: number, hook: string, result: string, ping?: string): string {
  return JSON.stringify({ level: result === 'sent' ? 30 : 40, time, log: 'run', task, run, hook, result, ...(ping === undefined ? {} : { ping }), msg: 'hook' });
}

/** A run id as the supervisor makes them. */
export const runId = (second: number, counter: number): string => `${second}-${counter}-0463ee15`;

/** Temp log folders, removed after each test of the calling file. */
export function logFolders(): () => string {
  const made: string[] = [];
  afterEach(() => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-history-'));
    made.push(dir);
    return dir;
  };
}

/** Writes files of a log folder: `{ 'runs.log': lines, 'runs.log.1': lines }`, each line ended by a newline. */
export function writeLog(dir: string, files: Readonly<Record<string, readonly string[]>>): void {
  for (const [name, lines] of Object.entries(files)) writeFileSync(path.join(dir, name), lines.map((line) => `${line}\n`).join(''));
}
