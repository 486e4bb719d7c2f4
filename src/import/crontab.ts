/**
 * One crontab's text → its task lines, environment lines and problems (SPEC §11). Pure: the CLI reads
 * the files. User crontabs have five fields (or a macro) and the command; `/etc/crontab` and `cron.d`
 * files have a user column between them.
 */
import { isDefaultsLine } from '../tasks/alert-options.js';
import { endsInContinuation } from '../tasks/logical-lines.js';
import { zoneError } from '../schedule/zone.js';
import { cronFieldErrors } from './cron-fields.js';
import { pipedCommand, splitPercent } from './percent.js';

export type CrontabFormat = 'user' | 'system';

/** A problem with a crontab line, as `file:line:column: message`. */
export interface ImportProblem {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

export interface CrontabTask {
  readonly line: number;
  /** The crontab line as written. */
  readonly source: string;
  /** Comment lines right above it in the crontab, as written. */
  readonly comments: readonly string[];
  /** gotorch's schedule: six fields, or one macro. */
  readonly schedule: readonly string[];
  readonly user?: string;
  /** The command gotorch runs: cron's `%` already turned into a pipe. */
  readonly command: string;
  /** The environment lines in force, in the order they were first set, with their latest values. */
  readonly env: readonly (readonly [string, string])[];
  /** `CRON_TZ=` in force (cronie reads the schedule in it). */
  readonly zone?: string;
}

/** A line that has no gotorch equivalent but loses nothing a job sees (`MAILTO=`). */
export interface DroppedLine {
  readonly line: number;
  readonly source: string;
  readonly why: string;
}

export interface ParsedCrontab {
  readonly tasks: readonly CrontabTask[];
  readonly dropped: readonly DroppedLine[];
  readonly problems: readonly ImportProblem[];
  /** Comments after the last task line. */
  readonly trailingComments: readonly string[];
}

/** cron's macros (crontab(5)); cron compares them case-sensitively. */
const MACROS = new Set(['@reboot', '@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);
/** crontab(5): `name = value`, the name without blanks; cron-parser's CronFileParser reads them the same way. */
const ENV_LINE = /^([^\s=]+)\s*=\s*(.*)$/s;
const GOTORCH_ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAILER_LINES: Readonly<Record<string, string>> = {
  MAILTO: 'gotorch mails no job output: a hook can (on_failure=, README: Importing crontabs)',
  MAILFROM: 'gotorch mails no job output',
};
const HTTP_COMMAND = /^https?:\/\//;

/** One blank-separated word of `text` at or after `from`: its text and where it starts. */
function nextWord(text: string, from: number): { text: string; at: number; end: number } | undefined {
  const match = /[^ \t]+/.exec(text.slice(from));
  if (!match) return undefined;
  const at = from + match.index;
  return { text: match[0], at, end: at + match[0].length };
}

/** cron strips one pair of matching quotes around a value (and keeps blanks inside them). */
function envValue(raw: string): string {
  const trimmed = raw.trim();
  const quoted = /^(["'])(.*)\1$/s.exec(trimmed);
  return quoted ? quoted[2] : trimmed;
}

export function parseCrontab(text: string, file: string, format: CrontabFormat): ParsedCrontab {
  const tasks: CrontabTask[] = [];
  const dropped: DroppedLine[] = [];
  const problems: ImportProblem[] = [];
  const env = new Map<string, string>();
  let comments: string[] = [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((raw, index) => {
    const lineNumber = index + 1;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const problem = (column: number, message: string) => problems.push({ file, line: lineNumber, column, message });
    const entry = line.trim();
    if (entry === '') return;
    if (entry.startsWith('#')) {
      comments.push(entry);
      return;
    }
    const variable = ENV_LINE.exec(entry);
    if (variable) {
      const [, name, rawValue] = variable;
      const value = envValue(rawValue);
      const column = line.indexOf(name) + 1;
      const refusal = envRefusal(name, value, env);
      if (refusal) problem(column, refusal);
      else if (Object.hasOwn(MAILER_LINES, name)) dropped.push({ line: lineNumber, source: line, why: MAILER_LINES[name] });
      else {
        env.delete(name);
        env.set(name, value);
      }
      return;
    }
    const task = parseTaskLine(line, format, (column, message) => problem(column, message));
    if (task === undefined) return;
    tasks.push({ line: lineNumber, source: line, comments, env: [...env], zone: env.get('CRON_TZ'), ...task });
    comments = [];
  });
  return { tasks, dropped, problems, trailingComments: comments };
}

/** Why an environment line cannot become a gotorch line of the same meaning, or undefined. */
function envRefusal(name: string, value: string, env: ReadonlyMap<string, string>): string | undefined {
  if (!GOTORCH_ENV_NAME.test(name)) return `gotorch environment names are letters, digits and _ (not starting with a digit): rename "${name}" or set it inside the command`;
  if (isDefaultsLine(name)) return `${name}= is a gotorch setting, not an environment variable (README: Task options): set it inside the command, or write the gotorch line by hand`;
  if (name === 'SHELL' && !value.startsWith('/')) return `gotorch needs SHELL to be an absolute path such as /bin/bash, not "${value}"`;
  if ((name === 'CRON_TZ' || name === 'TZ') && zoneError(value) !== undefined) return zoneError(value);
  if (name === 'TZ' && !env.has('CRON_TZ')) {
    return 'TZ= in a crontab is only the jobs\' zone, but gotorch reads the schedules below a TZ= line in it too: write CRON_TZ=<the zone cron runs in> above this line to keep the times';
  }
  return undefined;
}

type TaskParts = Pick<CrontabTask, 'schedule' | 'user' | 'command'>;

function parseTaskLine(line: string, format: CrontabFormat, problem: (column: number, message: string) => void): TaskParts | undefined {
  const first = nextWord(line, 0);
  if (!first) return undefined;
  const fields: { text: string; at: number; end: number }[] = [first];
  const macro = first.text.startsWith('@');
  if (macro && !MACROS.has(first.text)) {
    problem(first.at + 1, `"${first.text}" is not a cron macro: write one of ${[...MACROS].join(', ')}, or five fields`);
    return undefined;
  }
  while (!macro && fields.length < 5) {
    const word = nextWord(line, fields[fields.length - 1].end);
    if (!word) {
      problem(line.length + 1, `a crontab line needs five fields (minute hour day-of-month month day-of-week), then ${format === 'system' ? 'the user and ' : ''}the command`);
      return undefined;
    }
    fields.push(word);
  }
  let at = fields[fields.length - 1].end;
  let user: string | undefined;
  if (format === 'system') {
    const word = nextWord(line, at);
    if (!word) {
      problem(line.length + 1, 'missing user: a system crontab line has the user after the schedule, then the command');
      return undefined;
    }
    if (!/^[a-z_][a-z0-9_.-]*\$?$/i.test(word.text) && !/^\d+$/.test(word.text)) {
      problem(word.at + 1, `"${word.text}" is not a user name or uid (is this a user crontab? leave out --system)`);
      return undefined;
    }
    user = word.text;
    at = word.end;
  }
  const commandAt = nextWord(line, at)?.at ?? line.length;
  const written = line.slice(commandAt);
  const errors = macro ? [] : cronFieldErrors(fields.map((field) => field.text));
  for (const error of errors) problem(fields[error.field].at + error.offset + 1, error.message);
  const split = splitPercent(written);
  const command = pipedCommand(split).trimEnd();
  const column = commandAt + 1;
  if (split.command.trim() === '') problem(column, 'missing command: write the command after the schedule');
  else if (HTTP_COMMAND.test(command)) problem(column, 'gotorch runs a command starting with http:// or https:// as an HTTP request (SPEC §11), not as a shell command: write it as curl ...');
  else if (endsInContinuation(command)) {
    problem(column + written.trimEnd().length - 1, 'a trailing backslash is literal in a crontab but continues a gotorch line: end the command another way (e.g. a final ";")');
  } else if (errors.length === 0) {
    return { schedule: macro ? [first.text] : ['0', ...fields.map((field) => field.text)], user, command };
  }
  return undefined;
}
