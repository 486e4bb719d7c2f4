/**
 * SPEC §7 `logs`: the output lines of a task's latest run, or of the run named. Pure: lines in (the
 * newest first, as RunLog gives them); it reads back to where the run began and no further.
 */
import { CLOCK_SLACK_MS, lineTime, parseEntry, runIdSecond, taskBytes, type OutputEntry, type RunFinishedEntry } from './run-log-records.js';

export interface RunOutput {
  readonly task: string;
  readonly run: string;
  /** Oldest first. */
  readonly lines: readonly OutputEntry[];
  /** The run's record, once it finished. */
  readonly finished: RunFinishedEntry | undefined;
}

/**
 * `run`: the run id asked for; without it, the task's latest run (the newest line of the task naming
 * one). `lines`: the newest first; those without taskBytes(task) serve only to tell the time.
 */
export function runOutput(lines: Iterable<Buffer>, task: string, run?: string): RunOutput | undefined {
  const marker = taskBytes(task);
  let target = run;
  // A run prints nothing before it starts, and starts at or after the second its id begins with.
  let floor = target === undefined ? -Infinity : floorOf(target, undefined);
  const collected: OutputEntry[] = [];
  let finished: RunFinishedEntry | undefined;
  for (const line of lines) {
    if (!line.includes(marker)) {
      if ((lineTime(line) ?? Infinity) < floor) break;
      continue;
    }
    const entry = parseEntry(line);
    // A hook's outcome may come after a later run's lines (flood control's trailing hook): it names no latest run.
    if (entry === undefined || entry.kind === 'fire-skipped' || entry.kind === 'hook' || entry.task !== task) continue;
    if (entry.time < floor) break;
    if (target === undefined) target = entry.run;
    if (entry.run !== target) continue;
    if (entry.kind === 'output') collected.push(entry);
    else finished = entry;
    floor = floorOf(target, finished);
  }
  if (target === undefined || (collected.length === 0 && finished === undefined)) return undefined;
  return { task, run: target, lines: collected.reverse(), finished };
}

function floorOf(run: string, finished: RunFinishedEntry | undefined): number {
  const started = finished?.startedAt ?? (runIdSecond(run) ?? -Infinity) * 1000;
  return started - CLOCK_SLACK_MS;
}
