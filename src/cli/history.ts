/** `gotorch history` (SPEC §7): finished runs and skipped fires from the run log, daemon running or not. */
import { runtimePaths } from '../daemon/paths.js';
import { readableDuration } from '../daemon/terminal-format.js';
import { parseLimit, parseSince } from '../history/history-query.js';
import { historyLinesContaining, selectHistory, type HistoryQuery, type HistoryRow, type HookRow } from '../history/history-rows.js';
import { RunLog } from '../history/run-log-files.js';
import { formatLocalInstant, table } from './format.js';
import type { CommonOptions } from './main.js';

export interface HistoryOptions {
  readonly limit: string;
  readonly failed?: boolean;
  readonly since?: string;
  readonly json?: boolean;
}

/** The value, or `-` where it does not apply to the row (a skipped fire has no run, trigger or duration). */
const orDash = <T>(value: T | null, render: (value: T) => string = String): string => (value === null ? '-' : render(value));

/** `on_failure sent, ping /3 sent`: each outcome once, in the order logged. */
function hooksCell(hooks: readonly HookRow[] | null): string {
  if (hooks === null || hooks.length === 0) return '-';
  return [...new Set(hooks.map((hook) => `${hook.hook}${hook.ping === null ? '' : ` /${hook.ping}`} ${hook.result}`))].join(', ');
}

export function formatHistory(rows: readonly HistoryRow[]): string {
  // SPEC §8: a HOOKS column once a row shown has any (a file without hooks reads as before them).
  const withHooks = rows.some((row) => row.hooks !== null && row.hooks.length > 0);
  const header = ['SCHEDULED', 'TASK', 'RUN', 'RESULT', 'TRIGGER', 'ATTEMPT', 'DURATION', 'LATE', ...(withHooks ? ['HOOKS'] : [])];
  const body = rows.map((row) => [
    // SPEC §8: a jittered second says by how much it was shifted.
    row.jitterS === null || row.jitterS === 0 ? formatLocalInstant(row.scheduledAt * 1000) : `${formatLocalInstant(row.scheduledAt * 1000)} (+${row.jitterS}s)`,
    row.task,
    orDash(row.run),
    row.result === 'skipped' ? `skipped (${row.reason})` : row.result,
    orDash(row.trigger),
    orDash(row.attempt),
    orDash(row.durationMs, readableDuration),
    orDash(row.lateMs, readableDuration),
    ...(withHooks ? [hooksCell(row.hooks)] : []),
  ]);
  return `${table([header, ...body])}\n`;
}

/** SPEC §4: exit 2. */
function usageError(message: string): number {
  process.stderr.write(`gotorch: ${message}\n`);
  return 2;
}

export function historyCommand(common: CommonOptions, name: string | undefined, options: HistoryOptions): number {
  const limit = parseLimit(options.limit);
  if (!limit.ok) return usageError(limit.message);
  const since = options.since === undefined ? undefined : parseSince(options.since, Date.now());
  if (since?.ok === false) return usageError(since.message);
  const log = RunLog.open(runtimePaths(common).logDir); // unreadable: main prints why, exit 1
  const query: HistoryQuery = { task: name, failed: options.failed, since: since?.value, limit: limit.value };
  const rows = selectHistory(log.linesNewestFirst(historyLinesContaining(query)), query);
  log.close();
  if (rows.length === 0) {
    process.stderr.write(`gotorch: no ${options.failed ? 'failed runs' : 'runs or skipped fires'}${name === undefined ? '' : ` of ${name}`}${options.since === undefined ? '' : ` since ${options.since}`} in ${log.dir}\n`);
    return 0;
  }
  process.stdout.write(options.json ? rows.map((row) => JSON.stringify(row)).join('\n') + '\n' : formatHistory(rows));
  return 0;
}
