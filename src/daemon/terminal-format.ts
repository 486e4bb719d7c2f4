/**
 * `start --foreground` on a terminal (SPEC §4 "pretty on TTY"): one line per log record, as supercronic
 * and journalctl show them — time, level, message, then the fields that matter:
 *
 *   09:03:42 INFO  run finished task=report run=1796116185-1-0463ee15 exit=0 1.2s
 *   09:03:42 OUT   report: the job's line
 *
 * The JSON files keep every field; this only reads the JSON line pino wrote.
 */

const LEVELS: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const LEVEL_COLOURS: Readonly<Record<string, string>> = { TRACE: '2', DEBUG: '2', WARN: '33', ERROR: '31', FATAL: '31' };

/** Shown by the line itself (time, level, message) or detail a terminal reader does not need: the JSON has it. */
const HIDDEN = new Set(['level', 'time', 'msg', 'log', 'scheduledAt', 'startedAt', 'jobPid', 'bytesKept']);

/** Run-record fields left out when they hold the usual value: a scheduled first attempt gotorch did not stop. */
const USUAL: Readonly<Record<string, unknown>> = { trigger: 'schedule', attempt: 1, killed: false, replaced: false, jitterS: 0 };

/** A start this late is worth a look; a few ms is every start (README, Performance). */
const NOTABLE_LATENESS_MS = 1000;

type Render = (value: unknown) => string | undefined;

/** Fields of run records written the way a person reads them, after the others and in this order; any other field is `key=value`. */
const FIELDS: Readonly<Record<string, Render>> = {
  exitCode: (value) => `exit=${String(value)}`,
  signal: (value) => `signal=${String(value)}`,
  timedOut: (value) => (value === true ? 'timed-out' : undefined),
  durationMs: (value) => (typeof value === 'number' ? readableDuration(value) : undefined),
  lateMs: (value) => (typeof value === 'number' && value >= NOTABLE_LATENESS_MS ? `late=${readableDuration(value)}` : undefined),
  bytesDropped: (value) => (typeof value === 'number' && value > 0 ? `dropped=${value}B` : undefined),
};

export interface TerminalFormatOptions {
  /** ANSI colours for the level (off with NO_COLOR, https://no-color.org). */
  readonly colours: boolean;
}

/** One pino JSON line in, one terminal line out (with its newline); a line that is not JSON passes as it is. */
export function formatRecord(jsonLine: string, options: TerminalFormatOptions): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(jsonLine) as Record<string, unknown>;
  } catch {
    return jsonLine.endsWith('\n') ? jsonLine : `${jsonLine}\n`;
  }
  const time = typeof record.time === 'number' ? clockTime(record.time) : '--:--:--';
  if (typeof record.line === 'string') {
    // A job's output line (SPEC §2): whose it is, then the line; control characters cannot reach the terminal.
    const label = record.stream === 'stderr' ? 'ERR' : 'OUT';
    return `${paint(time, '2', options)} ${label.padEnd(5)} ${String(record.task)}: ${escapeControls(record.line)}\n`;
  }
  const level = LEVELS[record.level as number] ?? String(record.level);
  const parts = [paint(time, '2', options), paint(level.padEnd(5), LEVEL_COLOURS[level], options)];
  if (typeof record.msg === 'string') parts.push(escapeControls(record.msg));
  for (const [key, value] of Object.entries(record)) {
    if (!HIDDEN.has(key) && !(key in FIELDS) && shown(value) && USUAL[key] !== value) parts.push(`${key}=${renderValue(value)}`);
  }
  for (const [key, render] of Object.entries(FIELDS)) {
    const rendered = shown(record[key]) ? render(record[key]) : undefined;
    if (rendered !== undefined) parts.push(rendered);
  }
  return `${parts.join(' ')}\n`;
}

/** Nothing to say: no value, or an empty list. */
function shown(value: unknown): boolean {
  return value !== null && value !== undefined && !(Array.isArray(value) && value.length === 0);
}

function renderValue(value: unknown): string {
  if (typeof value === 'string') return quoteIfNeeded(value);
  if (Array.isArray(value)) return quoteIfNeeded(value.map((item) => (typeof item === 'string' ? item : JSON.stringify(item))).join(', '));
  // pino's serialized `err`: its message is what a reader needs; the JSON keeps the stack.
  if (typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string') return quoteIfNeeded((value as { message: string }).message);
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** logfmt's rule: a value with blanks, quotes or `=` (or none at all) is quoted, with JSON's escapes. */
function quoteIfNeeded(text: string): string {
  return text === '' || /[\s"=\\\p{Cc}]/u.test(text) ? JSON.stringify(text) : text;
}

/** A job's output may carry escape sequences: show them, do not let them drive the terminal. */
export function escapeControls(text: string): string {
  return text.replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g, (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function clockTime(ms: number): string {
  const date = new Date(ms);
  return [date.getHours(), date.getMinutes(), date.getSeconds()].map((part) => String(part).padStart(2, '0')).join(':');
}

/** 350ms, 1.2s, 95s, 12m5s: enough precision to read, not more. */
export function readableDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  const seconds = Math.round(ms / 1000);
  return seconds < 600 ? `${seconds}s` : `${Math.floor(seconds / 60)}m${seconds % 60}s`;
}

function paint(text: string, colour: string | undefined, options: TerminalFormatOptions): string {
  return options.colours && colour !== undefined ? `\u001b[${colour}m${text}\u001b[0m` : text;
}
