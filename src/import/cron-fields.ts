/**
 * The five fields of a crontab line as cron (Vixie, cronie) reads them, checked before gotorch's own
 * compiler sees them with second 0 in front: forms cron rejects (`?`, `L`, `W`, `#`, `5/10`) are
 * errors here, so an import never gives a line a meaning its cron did not have.
 */
import { compileSchedule } from '../schedule/compile.js';

export const FIELD_NAMES = ['minute', 'hour', 'day-of-month', 'month', 'day-of-week'] as const;

/** Names are three letters, and only in the month and day-of-week fields. */
const VALUE = ['\\d+', '\\d+', '\\d+', '\\d+|[A-Za-z]{3}', '\\d+|[A-Za-z]{3}'];
const ITEM = VALUE.map((value) => new RegExp(`^(?:(?:\\*|(?:${value})-(?:${value}))(?:/\\d+)?|${value})$`));
const VALUE_WITH_STEP = VALUE.map((value) => new RegExp(`^(?:${value})/\\d+$`));

export interface FieldError {
  /** Index of the field among the five. */
  readonly field: number;
  readonly offset: number;
  readonly message: string;
}

function itemError(field: number, item: string): string | undefined {
  if (ITEM[field].test(item)) return undefined;
  const name = FIELD_NAMES[field];
  if (item === '?') return `cron has no "?": write * in the ${name} field`;
  if (VALUE_WITH_STEP[field].test(item)) {
    const [start, step] = item.split('/');
    return `cron reads a step only after * or a range: write ${start}-${field === 4 ? 7 : [59, 23, 31, 12][field]}/${step} for "${item}"`;
  }
  const names = field === 3 ? ', a name such as jan' : field === 4 ? ', a name such as mon' : '';
  return `"${item}" is not a cron ${name} item: write *, a number${names}, a range a-b, a step */n or a-b/n, or a comma list of these`;
}

/** Errors of the five fields; none means gotorch compiles `0` and these fields to the same times. */
export function cronFieldErrors(fields: readonly string[]): FieldError[] {
  const errors: FieldError[] = [];
  fields.forEach((text, field) => {
    let offset = 0;
    for (const item of text.split(',')) {
      const message = itemError(field, item);
      if (message) errors.push({ field, offset, message });
      offset += item.length + 1;
    }
  });
  if (errors.length > 0) return errors;
  const compiled = compileSchedule(['0', ...fields]);
  if (compiled.ok) return [];
  return compiled.errors.map((error) => ({ field: Math.max(0, error.field - 1), offset: error.offset, message: error.message }));
}
