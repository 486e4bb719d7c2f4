/**
 * One task line (SPEC §1): schedule, hosts, max, type, options, command. Pure: text in, a task or
 * errors (with offsets in the logical line) out.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { compileSchedule } from '../schedule/compile.js';
import { TIME_TOKEN } from '../schedule/at-time.js';
import type { CompileResult } from '../schedule/types.js';
import { argumentTooLong } from './arg-limit.js';
import { hostListErrors } from '../fleet/host-list.js';
import { lateOptionsWarning } from './late-options.js';
import { applyOption, isOptionKey, isRepeatable, newOptions, optionConflicts, unknownOptionMessage, type OptionContext } from './options.js';
import { withAlertDefaults, type AlertDefaults } from './alert-options.js';
import { httpConflicts } from './http-options.js';
import { didYouMean } from '../schedule/suggest.js';
import { readOptionToken, readToken, skipBlanks, type Token } from './tokens.js';
import type { SourceLocation, Task, TaskType } from './types.js';

/** An error (or a warning) at an offset in the logical line. */
export interface LineError {
  readonly at: number;
  readonly message: string;
}

/** Errors reject the file; warnings (likely mistakes that still parse) are only reported. */
export interface ParsedLine {
  readonly task?: Task;
  readonly errors: readonly LineError[];
  readonly warnings: readonly LineError[];
}

/** What a task line inherits from the lines above it (SPEC §1.6; the alert defaults, SPEC §8). */
export interface LineContext extends OptionContext, AlertDefaults {
  readonly env: Readonly<Record<string, string>>;
  readonly shell: string;
  readonly zone: string;
}

const TYPES: Readonly<Record<string, TaskType>> = { cron: 'cron', common: 'cron', daemon: 'daemon' };
const MAX_LIMIT = 100_000;
const OPTION_START = /^[a-z_][a-z0-9_]*=/;
/** A line of thousands of bad options (pasted garbage) reports this many, then one summary. */
const MAX_LINE_ERRORS = 20;
/** How far to look for the type column before giving up (six fields, hosts, max, type, and some slack). */
const TYPE_SEARCH = 12;

const isInteger = (text: string): boolean => /^-?\d+$/.test(text);
/** Schedule tokens of the macros that take an argument. */
const MACRO_LENGTHS: Readonly<Record<string, number>> = { '@every': 2, '@at': 2 };
const isAt = (tokens: readonly { readonly text: string }[]): boolean => tokens.length > 0 && tokens[0].text.toLowerCase() === '@at';

/**
 * Reads plain tokens up to the type column: a macro fixes where it stands; otherwise it is the first
 * `cron`/`common`/`daemon` after an integer (max). Stops after `limit` tokens when there is none.
 */
function readHeadTokens(text: string, limit: number): { tokens: Token[]; scheduleLength: number } {
  const tokens: Token[] = [];
  let at = skipBlanks(text, 0);
  let macroLength = -1;
  while (at < text.length && tokens.length < limit) {
    const token = readToken(text, at);
    tokens.push(token);
    at = skipBlanks(text, token.end);
    const index = tokens.length - 1;
    if (index === 0 && token.text.startsWith('@')) macroLength = MACRO_LENGTHS[token.text.toLowerCase()] ?? 1;
    // `@at * 1 cron ...` lacks its time: `*` is the hosts column, and the error says what @at needs.
    if (index === 1 && macroLength === 2 && isAt(tokens) && !/^\d/.test(token.text)) macroLength = 1;
    // `@at 2026-12-24 18:00`: a time after a date alone is part of the schedule, not the hosts column.
    if (index === 2 && macroLength === 2 && isAt(tokens) && !/[Tt]/.test(tokens[1].text) && TIME_TOKEN.test(token.text)) macroLength = 3;
    if (macroLength >= 0) {
      if (tokens.length === macroLength + 3) return { tokens, scheduleLength: macroLength };
    } else if (index >= 2 && Object.hasOwn(TYPES, token.text) && isInteger(tokens[index - 1].text)) {
      return { tokens, scheduleLength: index - 2 };
    }
  }
  return { tokens, scheduleLength: macroLength >= 0 ? macroLength : 6 };
}

/**
 * Whether `text` starts the way a task line does: six fields that compile (or a macro), then hosts,
 * an integer max and a type. A continuation that joins such a line was likely not meant.
 */
export function readsAsTaskLine(text: string): boolean {
  const { tokens, scheduleLength } = readHeadTokens(text, TYPE_SEARCH);
  const [, maxToken, typeToken] = tokens.slice(scheduleLength, scheduleLength + 3);
  if (typeToken === undefined || !isInteger(maxToken.text) || !Object.hasOwn(TYPES, typeToken.text)) return false;
  return compileSchedule(tokens.slice(0, scheduleLength).map((token) => token.text)).ok;
}

export function deriveIdentity(command: string): string {
  const firstWord = command.trim().split(/[ \t;|&<>()]/, 1)[0] ?? '';
  const base = path.basename(firstWord).replace(/[^A-Za-z0-9_.-]+/g, '').slice(0, 40) || 'task';
  return `${base}-${createHash('sha1').update(command).digest('hex').slice(0, 6)}`;
}

export function parseTaskLine(text: string, context: LineContext, location: SourceLocation): ParsedLine {
  const errors: LineError[] = [];
  const warnings: LineError[] = [];
  const { tokens, scheduleLength: count } = readHeadTokens(text, TYPE_SEARCH);
  const scheduleTokens = tokens.slice(0, count);
  const [hostsToken, maxToken, typeToken] = tokens.slice(count, count + 3);

  const scheduleTexts = scheduleTokens.map((token) => token.text);
  const scheduleErrors = (result: CompileResult): void => {
    if (result.ok) return;
    for (const error of result.errors) {
      const token = scheduleTokens[error.field] ?? scheduleTokens[0];
      let message = error.message;
      if (count !== 6 && !tokens[0].text.startsWith('@')) message += ': after the six fields come hosts (* for every host), max and type';
      errors.push({ at: token ? token.at + error.offset : 0, message });
    }
  };
  // An `@at` time is read in the task's zone, known once its options are: it is compiled after them.
  const oneShot = isAt(scheduleTokens);
  let compiled: CompileResult = oneShot ? { ok: true, schedule: { kind: 'at', second: 0 } } : compileSchedule(scheduleTexts);
  scheduleErrors(compiled);

  if (!typeToken) {
    errors.push({ at: text.trimEnd().length, message: 'incomplete task line: after the schedule write hosts, max, type (cron or daemon) and the command' });
    return { errors, warnings };
  }
  for (const error of hostListErrors(hostsToken.text)) errors.push({ at: hostsToken.at + error.offset, message: error.message });

  const type = Object.hasOwn(TYPES, typeToken.text) ? TYPES[typeToken.text] : undefined;
  if (type === undefined) errors.push({ at: typeToken.at, message: `unknown type "${typeToken.text}"${didYouMean(typeToken.text, Object.keys(TYPES))}: use cron or daemon` });

  const max = isInteger(maxToken.text) ? Number(maxToken.text) : NaN;
  if (!Number.isInteger(max) || max < 0 || max > MAX_LIMIT) {
    errors.push({ at: maxToken.at, message: `max "${maxToken.text}" must be a whole number from 0 to ${MAX_LIMIT} (0 = unlimited for cron)` });
  } else if (type === 'daemon' && max < 1) {
    errors.push({ at: maxToken.at, message: 'a daemon task keeps max instances running: max must be 1 or more' });
  }
  if (type === 'daemon' && compiled.ok && compiled.schedule.kind !== 'cron') {
    errors.push({ at: 0, message: 'a daemon task runs while its schedule matches: use six fields (* * * * * * for always), not a macro' });
  }

  const options = newOptions(context.baseDir);
  const seen: string[] = [];
  const seenAt: number[] = [];
  let suppressed = 0;
  let endedByDashes = false;
  let at = skipBlanks(text, typeToken.end);
  while (at < text.length) {
    if (text.startsWith('--', at) && (at + 2 === text.length || text[at + 2] === ' ' || text[at + 2] === '\t')) {
      at = skipBlanks(text, at + 2);
      endedByDashes = true;
      break;
    }
    const token = readOptionToken(text, at);
    if (!OPTION_START.test(token.text)) break;
    const key = token.text.slice(0, token.text.indexOf('='));
    const valueAt = at + key.length + 1;
    if (errors.length >= MAX_LINE_ERRORS) suppressed++;
    else if (token.error) errors.push(token.error);
    else if (!isOptionKey(key)) errors.push({ at, message: unknownOptionMessage(key) });
    else if (seen.includes(key) && !isRepeatable(key)) errors.push({ at, message: `option ${key}= is given twice: keep one` });
    else {
      const error = applyOption(key, token.text.slice(key.length + 1), context, options);
      if (error) errors.push({ at: valueAt + error.offset, message: error.message });
    }
    seen.push(key);
    seenAt.push(at);
    at = skipBlanks(text, token.end);
  }
  if (seen.length > 0 && type !== undefined) {
    const reboot = compiled.ok && compiled.schedule.kind === 'reboot';
    for (const conflict of optionConflicts(type, reboot, seen, options.singleton)) (conflict.warning ? warnings : errors).push({ at: seenAt[conflict.index], message: conflict.message });
  }

  if (oneShot) scheduleErrors((compiled = compileSchedule(scheduleTexts, options.tz ?? context.zone)));
  if (suppressed > 0) errors.push({ at, message: `and ${suppressed} more option(s) on this line not checked: fix the ones above first` });
  const command = text.slice(at).trimEnd();
  if (command === '') errors.push({ at, message: 'missing command: write the command to run at the end of the line' });
  else if (type !== undefined) {
    for (const conflict of httpConflicts(type, command, seen, options)) (conflict.warning ? warnings : errors).push({ at: conflict.index === 'command' ? at : conflict.index === 'type' ? typeToken.at : seenAt[conflict.index], message: conflict.message });
  }
  const tooLong = argumentTooLong(command, 'the command');
  if (tooLong) errors.push({ at, message: tooLong });
  // `--` says the words after it are the command's, whatever they look like.
  const late = endedByDashes ? undefined : lateOptionsWarning(text, at);
  if (late) warnings.push(late);
  if (errors.length > 0 || !compiled.ok || type === undefined) return { errors, warnings };

  const id = options.name ?? deriveIdentity(command);
  withAlertDefaults(options, context, id);
  return {
    errors,
    warnings,
    task: {
      id,
      location,
      scheduleText: scheduleTokens.map((token) => token.text).join(' '),
      schedule: compiled.schedule,
      zone: options.tz ?? context.zone,
      hosts: hostsToken.text.split(','),
      max,
      type,
      options: Object.freeze(options),
      command,
      shell: context.shell,
      env: context.env,
    },
  };
}
