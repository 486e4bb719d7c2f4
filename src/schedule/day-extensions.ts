import { DAY_OF_MONTH, DAY_OF_WEEK } from './field-specs.js';

/** What `L`, `LW`, `nW` (day-of-month) and `nL`, `n#k` (day-of-week) items set (SPEC §1.1 extensions). */
export interface DayExtensions {
  lastDay: boolean;
  lastWeekday: boolean;
  readonly nearestWeekday: Uint8Array;
  readonly lastDayOfWeek: Uint8Array;
  readonly nthDayOfWeek: Uint8Array;
}

export function newDayExtensions(): DayExtensions {
  return {
    lastDay: false,
    lastWeekday: false,
    nearestWeekday: new Uint8Array(32),
    lastDayOfWeek: new Uint8Array(7),
    nthDayOfWeek: new Uint8Array(7),
  };
}

export type Report = (offset: number, message: string) => void;
export type ValueParser = (text: string, offset: number) => number | undefined;

/** Compiles `item` when it is an extension of its day field; false means it is an ordinary item. */
export function compileDayExtension(
  item: string,
  offset: number,
  field: number,
  extensions: DayExtensions,
  parseValue: ValueParser,
  report: Report,
): boolean {
  if (field === DAY_OF_MONTH) return compileMonthDayExtension(item, offset, extensions, parseValue, report);
  if (field === DAY_OF_WEEK) return compileWeekDayExtension(item, offset, extensions, parseValue, report);
  return false;
}

function compileMonthDayExtension(
  item: string,
  offset: number,
  extensions: DayExtensions,
  parseValue: ValueParser,
  report: Report,
): boolean {
  const upper = item.toUpperCase();
  if (upper === 'L') {
    extensions.lastDay = true;
    return true;
  }
  if (upper === 'LW') {
    extensions.lastWeekday = true;
    return true;
  }
  if (upper === 'W') {
    report(offset, 'W needs a day: write 15W (the weekday nearest the 15th) or LW (the last weekday)');
    return true;
  }
  const nearest = /^(\d+)W$/i.exec(item);
  if (!nearest) return false;
  const day = parseValue(nearest[1], offset);
  if (day !== undefined) extensions.nearestWeekday[day] = 1;
  return true;
}

function compileWeekDayExtension(
  item: string,
  offset: number,
  extensions: DayExtensions,
  parseValue: ValueParser,
  report: Report,
): boolean {
  const nth = /^([^#/-]*)#(.*)$/.exec(item);
  if (nth) {
    const [, dayText, occurrence] = nth;
    const day = parseValue(dayText, offset);
    if (!/^[1-5]$/.test(occurrence)) {
      report(offset + dayText.length + 1, `occurrence "${occurrence}" in ${item} must be 1-5: 5#2 is the second Friday`);
    } else if (day !== undefined) {
      extensions.nthDayOfWeek[day % 7] |= 1 << (Number(occurrence) - 1);
    }
    return true;
  }
  const last = /^(\d+|[a-z]+)L$/i.exec(item);
  if (!last) return false;
  const day = parseValue(last[1], offset);
  if (day !== undefined) extensions.lastDayOfWeek[day % 7] = 1;
  return true;
}

/** The message for L, W or # where a plain value was expected, or undefined when the text is not one. */
export function misplacedExtensionMessage(text: string, field: number): string | undefined {
  if (field === DAY_OF_MONTH) {
    if (/^(L|LW|\d+W)$/i.test(text)) return `${text} cannot be part of a range or step: write it as its own list item`;
    if (/^\d+L$/i.test(text)) return `${text} is day-of-week syntax (the last weekday n): in day-of-month write L or LW`;
  }
  if (field === DAY_OF_WEEK) {
    if (/^L$/i.test(text)) return 'L alone is not allowed in day-of-week: write nL (5L is the last Friday), or L in day-of-month';
    if (/^(\d+|[a-z]+)(L|#\d*)$/i.test(text)) return `${text} cannot be part of a range or step: write it as its own list item`;
  }
  if (text.includes('#')) return '# is only allowed in day-of-week, as n#k (5#2 is the second Friday)';
  if (/^(\d+W|LW)$/i.test(text)) return 'W is only allowed in day-of-month, as nW or LW';
  if (/^\d*L$/i.test(text)) return 'L is only allowed in day-of-month and as nL in day-of-week';
  return undefined;
}
