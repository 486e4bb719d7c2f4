/**
 * Shared by the fault-injection suites: jobs that write their own evidence (start and end, with task,
 * scheduled second and pid) to a file outside the log dir, and the checks read from it.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { processesWithEnv } from '../supervisor/processes.js';

export const LONG = process.env.GOTORCH_LONG === '1';

/** The env line every task file of these suites starts with: finds the jobs (and their children) in /proc. */
export const markerLine = (dir: string): string => `FAULTS_MARK=${dir}`;

export interface Evidence {
  readonly kind: 's' | 'e';
  readonly task: string;
  readonly second: number;
  readonly pid: number;
}

/**
 * Writes `job.sh` into `dir`: `sh job.sh <seconds>` appends `s <task> <scheduled> <pid>` to `evidence`,
 * sleeps, then appends the `e` line. Appends of one short line are atomic, so file order is real order.
 */
export function writeJobScript(dir: string, evidence: string): string {
  const script = path.join(dir, 'job.sh');
  const line = (kind: string): string => `echo "${kind} $GOTORCH_TASK $GOTORCH_SCHEDULED_AT $$" >> ${evidence}`;
  writeFileSync(script, `${line('s')}\nsleep "$1"\n${line('e')}\n`);
  return script;
}

export function readEvidence(file: string): Evidence[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [kind, task, second, pid] = line.split(' ');
      return { kind: kind as 's' | 'e', task, second: Number(second), pid: Number(pid) };
    });
}

/** The most instances of each task running at once, replaying starts and ends in the order written. */
export function peakOverlap(evidence: readonly Evidence[]): Map<string, number> {
  const running = new Map<string, number>();
  const peak = new Map<string, number>();
  for (const entry of evidence) {
    const now = (running.get(entry.task) ?? 0) + (entry.kind === 's' ? 1 : -1);
    running.set(entry.task, now);
    peak.set(entry.task, Math.max(peak.get(entry.task) ?? 0, now));
  }
  return peak;
}

/** `task@second` for every start recorded more than once: SPEC §3, each (task, second) starts at most once. */
export function doubleStarts(evidence: readonly Evidence[]): string[] {
  const seen = new Set<string>();
  const doubles: string[] = [];
  for (const entry of evidence) {
    if (entry.kind !== 's') continue;
    const key = `${entry.task}@${entry.second}`;
    if (seen.has(key)) doubles.push(key);
    seen.add(key);
  }
  return doubles;
}

/** Live processes of the suite's jobs in `dir` (every descendant carries the marker in its environment). */
export function jobProcesses(dir: string): number[] {
  return processesWithEnv(markerLine(dir)).map((proc) => proc.pid);
}

/** Leaders of the job process groups in `dir`: one per running job. */
export function jobLeaders(dir: string): number[] {
  return processesWithEnv(markerLine(dir))
    .filter((proc) => proc.pgrp === proc.pid)
    .map((proc) => proc.pid);
}

export function percentile(values: readonly number[], fraction: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))];
}
