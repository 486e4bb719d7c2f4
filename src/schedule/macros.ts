import { formatDuration, parseDuration } from './duration.js';
import { closest } from './suggest.js';
import { SEARCH_LIMIT_SECONDS } from './next-fire.js';
import { AT_EXAMPLE, atSecond, parseAtTime } from './at-time.js';
import type { CompileResult, ScheduleError } from './types.js';
import { Zone } from './zone.js';

/** SPEC §1.1: macros that stand for six fields, each firing at second 0. */
const MACRO_FIELDS: Readonly<Record<string, readonly string[]>> = {
  '@yearly': ['0', '0', '0', '1', '1', '*'],
  '@annually': ['0', '0', '0', '1', '1', '*'],
  '@monthly': ['0', '0', '0', '1', '*', '*'],
  '@weekly': ['0', '0', '0', '*', '*', '0'],
  '@daily': ['0', '0', '0', '*', '*', '*'],
  '@midnight': ['0', '0', '0', '*', '*', '*'],
  '@hourly': ['0', '0', '*', '*', '*', '*'],
  '@minutely': ['0', '*', '*', '*', '*', '*'],
};

const MACRO_NAMES = [...Object.keys(MACRO_FIELDS), '@every', '@reboot', '@at'];

/** A macro either stands for six fields, which the caller compiles, or is compiled here. */
export type MacroResult = { readonly ok: 'fields'; readonly fields: readonly string[] } | CompileResult;

/** Compiles `tokens` whose first token starts with `@`, `@at` in `zone`. Macro names are case-insensitive. */
export function compileMacro(tokens: readonly string[], zone: string): MacroResult {
  const name = tokens[0].toLowerCase();
  if (name === '@every') return compileEvery(tokens);
  if (name === '@at') return compileAt(tokens, zone);
  const fields = MACRO_FIELDS[name];
  if (fields === undefined && name !== '@reboot') return failure(0, 0, unknownMacroMessage(tokens[0]));
  if (tokens.length > 1) return failure(1, 0, `${name} replaces all six fields: remove "${tokens[1]}"`);
  return fields ? { ok: 'fields', fields } : { ok: true, schedule: { kind: 'reboot' } };
}

/** Durations `@every` accepts, for the message about a malformed one (no `500ms`: it needs whole seconds). */
const EVERY_EXAMPLES = '90s, 10m, 2h, 1d';

/**
 * SPEC §1.1: `@every <duration>` in whole seconds; the duration need not divide a day. At most the
 * 8 years `check` looks ahead (README: choices): a longer one would first fire centuries from now.
 */
function compileEvery(tokens: readonly string[]): CompileResult {
  if (tokens.length < 2) return failure(0, 0, '@every needs a duration: write e.g. @every 90s');
  if (tokens.length > 2) {
    return failure(2, 0, `@every takes one duration without spaces (e.g. @every 1h30m): remove "${tokens[2]}"`);
  }
  const text = tokens[1];
  const duration = parseDuration(text, EVERY_EXAMPLES);
  if (!duration.ok) {
    if (duration.decimalMs === undefined) return failure(1, duration.offset, duration.message);
    // A decimal (`1.5s`) gets the suggestion in whole seconds that a fraction of a second gets.
    return notWholeSeconds(text, duration.decimalMs) ?? failure(1, 0, `@every ${text} is not a whole number: write @every ${formatDuration(duration.decimalMs)}`);
  }
  const fraction = notWholeSeconds(text, duration.ms);
  if (fraction) return fraction;
  const wholeSeconds = duration.ms / 1000;
  if (wholeSeconds > SEARCH_LIMIT_SECONDS) {
    return failure(
      1,
      0,
      `@every ${text} is longer than ${formatDuration(SEARCH_LIMIT_SECONDS * 1000)} (8 years, as far as check looks ahead): ` +
        'for a task this rare use six fields, e.g. 0 0 0 1 1 * for once a year',
    );
  }
  return { ok: true, schedule: { kind: 'every', seconds: wholeSeconds } };
}

/** `@at 2026-12-24T18:00`, or with the time as a token of its own (`@at 2026-12-24 18:00`: task-line.ts). */
function compileAt(tokens: readonly string[], zone: string): CompileResult {
  if (tokens.length < 2) return failure(0, 0, `@at needs a time: write e.g. ${AT_EXAMPLE}`);
  const parsed = parseAtTime(tokens[1], tokens[2]);
  if (!parsed.ok) return parsed.offset > tokens[1].length ? failure(2, parsed.offset - tokens[1].length - 1, parsed.message) : failure(1, parsed.offset, parsed.message);
  const resolved = atSecond(parsed.time, Zone.for(zone));
  return resolved.ok ? { ok: true, schedule: { kind: 'at', second: resolved.second } } : failure(1, 0, resolved.message);
}

/** The error for a duration of `ms` that is not a whole number of seconds, with the nearest ones @every takes. */
function notWholeSeconds(text: string, ms: number): CompileResult | undefined {
  const wholeSeconds = Math.floor(ms / 1000);
  if (wholeSeconds === 0) return failure(1, 0, `@every ${text} is shorter than a second: schedules run on whole seconds; write @every 1s`);
  if (ms % 1000 === 0) return undefined;
  const [below, above] = [formatDuration(wholeSeconds * 1000), formatDuration((wholeSeconds + 1) * 1000)];
  return failure(1, 0, `@every ${text} is not a whole number of seconds: write @every ${below} or @every ${above}`);
}

function unknownMacroMessage(written: string): string {
  const suggestion = closest(written.toLowerCase(), MACRO_NAMES);
  const hint = suggestion ? `did you mean ${suggestion}? ` : '';
  return `unknown macro "${written}": ${hint}use one of ${MACRO_NAMES.join(', ')}`;
}

function failure(field: number, offset: number, message: string): CompileResult {
  const error: ScheduleError = { field, offset, message };
  return { ok: false, errors: [error] };
}
