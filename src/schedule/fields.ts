import type { ScheduleError } from './types.js';
import { DAY_OF_WEEK, FIELD_SPECS, isDayField, type FieldSpec } from './field-specs.js';
import { compileDayExtension, misplacedExtensionMessage, type DayExtensions, type Report, type ValueParser } from './day-extensions.js';

/** What compiling the items of one field needs. */
interface FieldContext {
  readonly field: number;
  readonly spec: FieldSpec;
  readonly report: Report;
  readonly parseValue: ValueParser;
}

/**
 * Compiles one field's text into a bitmap indexed by value (SPEC §1.1; croner's and busybox crond's
 * design). Errors, one per bad list item, are appended to `errors`; the bitmap is then incomplete.
 */
export function compileField(text: string, field: number, extensions: DayExtensions, errors: ScheduleError[]): Uint8Array {
  const spec = FIELD_SPECS[field];
  const values = new Uint8Array(spec.max + 1);
  const report: Report = (offset, message) => errors.push({ field, offset, message });
  const parseValue: ValueParser = (valueText, offset) => parseFieldValue(valueText, offset, spec, field, report);
  const context: FieldContext = { field, spec, report, parseValue };
  if (text === '') {
    report(0, `empty ${spec.name} field: write * or a value ${spec.min}-${spec.max}`);
    return values;
  }
  const items = text.split(',');
  let offset = 0;
  for (const [index, item] of items.entries()) {
    if (item === '') {
      const trailing = index === items.length - 1;
      report(Math.min(offset, text.length - 1), trailing ? 'trailing comma: remove it or add a value after it' : 'empty list item: remove the extra comma');
    } else if (!compileDayExtension(item, offset, field, extensions, parseValue, report)) {
      compileItem(item, offset, context, values);
    }
    offset += item.length + 1;
  }
  if (field !== DAY_OF_WEEK) return values;
  // SPEC §1.1: 7 is Sunday, stored as 0.
  const daysOfWeek = values.slice(0, 7);
  daysOfWeek[0] |= values[7];
  return daysOfWeek;
}

/** `*`, `?`, `a`, `a-b`, each optionally followed by `/step` (`a/n` runs from a to the field's end). */
function compileItem(item: string, offset: number, context: FieldContext, values: Uint8Array): void {
  const { field, spec, report, parseValue } = context;
  const slash = item.indexOf('/');
  const base = slash < 0 ? item : item.slice(0, slash);
  const step = slash < 0 ? 1 : parseStep(item.slice(slash + 1), offset + slash + 1, base, context);
  let first: number | undefined;
  let last: number | undefined;
  if (base === '*' || base === '?') {
    if (base === '?' && !isDayField(field)) {
      report(offset, '? is only allowed in day-of-month and day-of-week: write *');
      return;
    }
    first = spec.min;
    last = spec.max;
  } else if (base.includes('-')) {
    const dash = base.indexOf('-');
    const [startText, endText] = [base.slice(0, dash), base.slice(dash + 1)];
    if (startText === '' || endText === '' || endText.includes('-')) {
      report(offset, `${base} is not a range: write start-end, e.g. ${spec.min}-${spec.max}`);
      return;
    }
    first = parseValue(startText, offset);
    last = parseValue(endText, offset + dash + 1);
    // `fri-sun` means Friday to Sunday: a range ending at the name sun ends at 7 (as in croner).
    if (field === DAY_OF_WEEK && last === 0 && !/^\d+$/.test(endText)) last = 7;
    if (first !== undefined && last !== undefined && first > last) {
      report(offset, invertedRangeMessage(startText, endText, spec, field));
      return;
    }
  } else {
    first = parseValue(base, offset);
    last = slash < 0 ? first : spec.max;
  }
  if (first === undefined || last === undefined || step === undefined) return;
  for (let value = first; value <= last; value += step) values[value] = 1;
}

function parseStep(text: string, offset: number, base: string, { spec, report }: FieldContext): number | undefined {
  if (!/^\d+$/.test(text)) {
    report(offset, text === '' ? `missing step after /: write e.g. ${base}/5` : `step "${text}" is not a number: write e.g. ${base}/5`);
    return undefined;
  }
  const step = Number(text);
  const span = spec.max - spec.min + 1;
  if (step === 0) {
    report(offset, `step must be 1 or more: write ${base}/1 or ${base}`);
    return undefined;
  }
  if (step > span) {
    const every = spec.everyUnit ? `; for every ${step}${spec.everyUnit} write @every ${step}${spec.everyUnit}` : '';
    report(offset, `step ${step} is more than the ${span} values of ${spec.name} (${spec.min}-${spec.max})${every}`);
    return undefined;
  }
  return step;
}

function parseFieldValue(text: string, offset: number, spec: FieldSpec, field: number, report: Report): number | undefined {
  if (/^\d+$/.test(text)) {
    const value = Number(text);
    if (value >= spec.min && value <= spec.max) return value;
    report(offset, `${spec.name} ${text} is out of range ${spec.min}-${spec.max}`);
    return undefined;
  }
  const nameIndex = spec.names?.indexOf(text.toLowerCase()) ?? -1;
  if (nameIndex >= 0) return spec.min + nameIndex;
  report(offset, valueMessage(text, spec, field));
  return undefined;
}

function valueMessage(text: string, spec: FieldSpec, field: number): string {
  const range = `${spec.min}-${spec.max}`;
  if (text === '') return `missing ${spec.name} value: write a number ${range}`;
  if (text === '*' || text === '?') return `${text} stands alone or before a step (*/5): for a range write e.g. ${range}`;
  const misplaced = misplacedExtensionMessage(text, field);
  if (misplaced) return misplaced;
  if (spec.names && /^[a-z]+$/i.test(text)) {
    return `unknown ${spec.name} "${text}": use ${spec.names[0]}-${spec.names[spec.names.length - 1]} or ${range}`;
  }
  return `${spec.name} "${text}" is not a number: write a number ${range}`;
}

function invertedRangeMessage(startText: string, endText: string, spec: FieldSpec, field: number): string {
  const names = /[a-z]/i.test(startText + endText) ? spec.names : undefined;
  // The named top of day-of-week is sun (7), which a range may end at.
  const topText = names ? names[field === DAY_OF_WEEK ? 0 : names.length - 1] : String(spec.max);
  const bottomText = names ? names[0] : String(spec.min);
  return `range ${startText}-${endText} is inverted: write ${endText}-${startText} (or ${startText}-${topText},${bottomText}-${endText} to wrap)`;
}
