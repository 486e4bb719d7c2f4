/**
 * A run record's result as SPEC §7 names it (`ok`, `exit N`, `signal SIG`, `timeout`, `killed`,
 * `spawn error`; `replaced` by SPEC §8 overlap=replace), for history, status, metrics and hooks alike.
 * A job adopted from a previous daemon ended with an exit status nobody can know: `unknown`, neither
 * a success nor a failure.
 */
import { constants } from 'node:os';
import type { RunRecord } from './run.js';

export type RunResult = 'ok' | `exit ${number}` | `signal ${string}` | 'timeout' | 'killed' | 'replaced' | 'spawn error' | 'unknown';

/** `replaced` is missing from records written before overlap= existed. */
type Outcome = Pick<RunRecord, 'exitCode' | 'signal' | 'timedOut' | 'killed' | 'error' | 'jobPid'> & { readonly replaced?: boolean };

export function runResult(record: Outcome): RunResult {
  if (record.timedOut) return 'timeout';
  if (record.replaced === true) return 'replaced';
  if (record.killed) return 'killed';
  if (record.exitCode === 0) return 'ok';
  if (record.exitCode !== null) return `exit ${record.exitCode}`;
  if (record.signal !== null) return `signal ${record.signal}`;
  return record.jobPid === null ? 'spawn error' : 'unknown';
}

/** SPEC §8: a non-zero exit, a signal, a timeout or a spawn error. A run gotorch was asked to stop (or replaced) is not one. */
export function isFailure(result: RunResult): boolean {
  return result !== 'ok' && result !== 'killed' && result !== 'replaced' && result !== 'unknown';
}

/** The shell's `$?` for a run: its exit code, 128 + N for signal N; -1 when it did not start; null when unknown (adopted). */
export function shellStatus(record: Pick<RunRecord, 'exitCode' | 'signal' | 'jobPid'>): number | null {
  if (record.exitCode !== null) return record.exitCode;
  const signal = record.signal === null ? undefined : constants.signals[record.signal as NodeJS.Signals];
  if (signal !== undefined) return 128 + signal;
  return record.jobPid === null ? -1 : null;
}
