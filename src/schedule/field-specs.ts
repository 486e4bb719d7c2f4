/** The six schedule fields in token order (SPEC §1.1: seconds first, always). */

export const DAY_OF_MONTH = 3;
export const DAY_OF_WEEK = 5;

export interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** Case-insensitive names; names[i] stands for min + i. */
  readonly names?: readonly string[];
  /** The `@every` unit of one step of this field, to suggest `@every` for a step wider than the field. */
  readonly everyUnit?: string;
}

export const FIELD_SPECS: readonly FieldSpec[] = [
  { name: 'second', min: 0, max: 59, everyUnit: 's' },
  { name: 'minute', min: 0, max: 59, everyUnit: 'm' },
  { name: 'hour', min: 0, max: 23, everyUnit: 'h' },
  { name: 'day-of-month', min: 1, max: 31, everyUnit: 'd' },
  { name: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] },
  // 7 is Sunday too; the compiler folds it into 0.
  { name: 'day-of-week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
];

export function isDayField(field: number): boolean {
  return field === DAY_OF_MONTH || field === DAY_OF_WEEK;
}
