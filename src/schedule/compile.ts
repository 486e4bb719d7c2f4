import { newDayExtensions, type DayExtensions } from './day-extensions.js';
import { DAY_OF_MONTH, DAY_OF_WEEK } from './field-specs.js';
import { compileField } from './fields.js';
import { compileMacro } from './macros.js';
import type { CompileResult, ScheduleError } from './types.js';
import { LOCAL_ZONE } from './zone.js';

const FIELD_ORDER = 'second minute hour day-of-month month day-of-week';
/** Items that may set day extensions (L, W, #); a field without them compiles the same in any task. */
const MAY_EXTEND = /[lw#]/i;
/** Compiled bitmaps are read-only, so tasks with the same field text share one: 9 arrays a task cost GC. */
const sharedFields = Array.from({ length: 6 }, () => new Map<string, Uint8Array>());
const SHARED_FIELDS_LIMIT = 100_000;
const NO_EXTENSIONS = newDayExtensions();

/**
 * Compiles the schedule tokens of one task line (SPEC §1.1): a macro (`@daily`, `@every 90s`, ...)
 * or exactly six fields. All errors of all fields are reported, each with its token and offset.
 * `zone` (an IANA name or `local`) reads an `@at` time without an offset; the other schedules keep it apart.
 */
export function compileSchedule(tokens: readonly string[], zone: string = LOCAL_ZONE): CompileResult {
  if (tokens.length > 0 && tokens[0].startsWith('@')) {
    const macro = compileMacro(tokens, zone);
    return macro.ok === 'fields' ? compileSixFields(macro.fields) : macro;
  }
  return compileSixFields(tokens);
}

function compileSixFields(tokens: readonly string[]): CompileResult {
  if (tokens.length !== 6) return { ok: false, errors: [{ field: 0, offset: 0, message: fieldCountMessage(tokens) }] };
  const errors: ScheduleError[] = [];
  const extensions = MAY_EXTEND.test(tokens[DAY_OF_MONTH]) || MAY_EXTEND.test(tokens[DAY_OF_WEEK]) ? newDayExtensions() : NO_EXTENSIONS;
  const [second, minute, hour, dayOfMonth, month, dayOfWeek] = tokens.map((text, field) => compileSharedField(text, field, extensions, errors));
  if (errors.length > 0) return { ok: false, errors };
  const { lastDay, lastWeekday, nearestWeekday, lastDayOfWeek, nthDayOfWeek } = extensions;
  return {
    ok: true,
    schedule: {
      kind: 'cron',
      second,
      minute,
      hour,
      dayOfMonth,
      month,
      dayOfWeek,
      // SPEC §1.1 (Vixie): a day field that starts with * or ? makes the day fields AND instead of OR.
      domStar: startsStarred(tokens[DAY_OF_MONTH]),
      dowStar: startsStarred(tokens[DAY_OF_WEEK]),
      lastDay,
      lastWeekday,
      nearestWeekday,
      lastDayOfWeek,
      nthDayOfWeek,
      hasDayExtensions:
        lastDay || lastWeekday || nearestWeekday.includes(1) || lastDayOfWeek.includes(1) || nthDayOfWeek.some((bits) => bits !== 0),
      // SPEC §3: cronie's fixed-time jobs have a single second, minute and hour.
      fixedTime: hasOneValue(second) && hasOneValue(minute) && hasOneValue(hour),
    },
  };
}

function compileSharedField(text: string, field: number, extensions: DayExtensions, errors: ScheduleError[]): Uint8Array {
  if (MAY_EXTEND.test(text)) return compileField(text, field, extensions, errors);
  const shared = sharedFields[field];
  let bitmap = shared.get(text);
  if (bitmap === undefined) {
    const before = errors.length;
    bitmap = compileField(text, field, extensions, errors);
    if (errors.length === before) {
      if (shared.size >= SHARED_FIELDS_LIMIT) shared.clear();
      shared.set(text, bitmap);
    }
  }
  return bitmap;
}

function fieldCountMessage(tokens: readonly string[]): string {
  const message = `expected 6 schedule fields (${FIELD_ORDER}), found ${tokens.length}`;
  // Five fields is classic cron: say how to write it, but never guess which field is missing.
  return tokens.length === 5 ? `${message}: put the second first, e.g. "0 ${tokens.join(' ')}"` : message;
}

function startsStarred(text: string): boolean {
  return text.startsWith('*') || text.startsWith('?');
}

function hasOneValue(bitmap: Uint8Array): boolean {
  let seen = 0;
  for (let index = 0; index < bitmap.length; index++) if (bitmap[index] === 1 && ++seen > 1) return false;
  return seen === 1;
}
