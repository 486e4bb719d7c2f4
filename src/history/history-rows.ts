/**
 * SPEC §7 `history`: which rows the run log's lines make, newest first. Pure: lines in (the newest
 * first, as RunLog gives them), rows out; it reads only as far back as the rows asked for lie.
 */
import { isFailure, runResult, type RunResult } from '../supervisor/run-result.js';
import type { RunTrigger } from '../supervisor/run.js';
import { NewestFirst } from './newest-first.js';
import { CLOCK_SLACK_MS, FIRE_SKIPPED_BYTES, HOOK_BYTES, lineTime, MESSAGE_BYTES, parseEntry, RUN_FINISHED_BYTES, taskBytes, type FireSkippedEntry, type HookEntry, type RunFinishedEntry } from './run-log-records.js';

export interface HistoryQuery {
  /** Only this task's rows. */
  readonly task?: string;
  /** Only failed runs (isFailure: skips, kills and adopted runs of unknown end are not failures). */
  readonly failed?: boolean;
  /** Only rows scheduled at or after this instant (ms). */
  readonly since?: number;
  readonly limit: number;
}

/** SPEC §8: a hook's or ping's outcome for a run, as history shows it. */
export interface HookRow {
  readonly hook: string;
  readonly result: string;
  /** A ping's endpoint (an exit status, `fail`, `log`); null for a hook. */
  readonly ping: string | null;
}

/** One line of `history --json`; the human table shows the same fields. */
export interface HistoryRow {
  readonly task: string;
  /** null for a skipped fire. */
  readonly run: string | null;
  /** Unix seconds. */
  readonly scheduledAt: number;
  readonly result: RunResult | 'skipped';
  /** Why a fire was skipped (`max`, `shutting down`); null for a run. */
  readonly reason: string | null;
  readonly trigger: RunTrigger | null;
  readonly attempt: number | null;
  /** SPEC §8 jitter: the seconds `scheduledAt` lies after the schedule's own second on that host; null for a skipped fire. */
  readonly jitterS: number | null;
  /** ms since the epoch. */
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  readonly durationMs: number | null;
  readonly lateMs: number | null;
  /** What became of the run's hooks and pings after it ended, in the order they were logged; null for a skipped fire. */
  readonly hooks: readonly HookRow[] | null;
}

/** Rows are ordered by when they happened: a run when it finished, a skipped fire at its second. */
interface Ordered extends HistoryRow {
  readonly at: number;
}

function runRow(entry: RunFinishedEntry, hooks: readonly HookRow[]): Ordered {
  return {
    at: entry.time,
    task: entry.task,
    run: entry.run,
    scheduledAt: entry.scheduledAt,
    result: runResult({ ...entry, killed: entry.killed ?? false }),
    reason: null,
    trigger: entry.trigger ?? null,
    attempt: entry.attempt ?? null,
    jitterS: entry.jitterS ?? 0,
    startedAt: entry.startedAt,
    finishedAt: entry.startedAt + entry.durationMs,
    durationMs: entry.durationMs,
    lateMs: entry.lateMs,
    hooks,
  };
}

function skipRows(entry: FireSkippedEntry): Ordered[] {
  return entry.seconds.map((second) => ({
    at: second * 1000,
    task: entry.task,
    run: null,
    scheduledAt: second,
    result: 'skipped',
    reason: entry.reason,
    trigger: null,
    attempt: null,
    jitterS: null,
    startedAt: null,
    finishedAt: null,
    durationMs: null,
    lateMs: null,
    hooks: null,
  }));
}

/** What the lines given to selectHistory must contain (linesBackward's `containing`): the rest is never looked at. */
export function historyLinesContaining(query: HistoryQuery): Buffer {
  return query.task === undefined ? MESSAGE_BYTES : taskBytes(query.task);
}

/** `lines`: the newest first; those without historyLinesContaining(query) serve only to tell the time. */
export function selectHistory(lines: Iterable<Buffer>, query: HistoryQuery): HistoryRow[] {
  const wantedTask = query.task === undefined ? undefined : taskBytes(query.task);
  const floor = query.since === undefined ? -Infinity : query.since - CLOCK_SLACK_MS;
  const wanted = (row: Ordered): boolean =>
    (query.task === undefined || row.task === query.task) &&
    (query.since === undefined || row.scheduledAt * 1000 >= query.since) &&
    (!query.failed || (row.result !== 'skipped' && isFailure(row.result)));
  const held = new NewestFirst<Ordered>();
  // A hook's record comes after its run's (its outcome is known later), so is read before it: kept by run id, newest first.
  const hooksOf = new Map<string, HookRow[]>();
  const collect = (entry: HookEntry): void => {
    // A start ping is logged before its run ends (or not, whichever is quicker): history shows what followed the end only.
    if (entry.ping === 'start') return;
    const hooks = hooksOf.get(entry.run);
    const row = { hook: entry.hook, result: entry.result, ping: entry.ping };
    if (hooks === undefined) hooksOf.set(entry.run, [row]);
    else hooks.push(row);
  };
  const takeHooks = (run: string): HookRow[] => {
    const hooks = hooksOf.get(run) ?? [];
    hooksOf.delete(run);
    return hooks.reverse();
  };
  const shown: HistoryRow[] = [];
  /** Shows every held row no line still to be read can outrank: rows are never newer than their line. */
  const showNotOlderThan = (time: number): boolean => {
    for (let row = held.popIfNotOlderThan(time); row !== undefined; row = held.popIfNotOlderThan(time)) {
      const { at: _at, ...shownRow } = row;
      if (shown.push(shownRow) >= query.limit) return true;
    }
    return false;
  };
  for (const line of lines) {
    const candidate = (wantedTask === undefined || line.includes(wantedTask)) && (line.includes(RUN_FINISHED_BYTES) || line.includes(HOOK_BYTES) || (!query.failed && line.includes(FIRE_SKIPPED_BYTES)));
    if (!candidate) {
      const time = lineTime(line);
      if (time === undefined) continue;
      if (time < floor) break;
      if (showNotOlderThan(time)) return shown;
      continue;
    }
    const entry = parseEntry(line);
    if (entry === undefined || entry.kind === 'output') continue;
    if (entry.time < floor) break;
    if (entry.kind === 'hook') collect(entry);
    else for (const row of entry.kind === 'run-finished' ? [runRow(entry, takeHooks(entry.run))] : skipRows(entry)) if (wanted(row)) held.push(row);
    if (showNotOlderThan(entry.time)) return shown;
  }
  showNotOlderThan(-Infinity);
  return shown;
}
