/** A six-field schedule compiled to one bitmap per field, indexed by value (SPEC §1.1). */
export interface CronSchedule {
  readonly kind: 'cron';
  readonly second: Uint8Array; // 60 entries
  readonly minute: Uint8Array; // 60
  readonly hour: Uint8Array; // 24
  readonly dayOfMonth: Uint8Array; // 32, index 1..31 (0 unused)
  readonly month: Uint8Array; // 13, index 1..12 (0 unused)
  readonly dayOfWeek: Uint8Array; // 7, 0 = Sunday (7 folded into 0)
  /** The field text starts with `*` or `?`: Vixie's rule ANDs the day fields when either is starred. */
  readonly domStar: boolean;
  readonly dowStar: boolean;
  /** `L` in day-of-month. */
  readonly lastDay: boolean;
  /** `LW` in day-of-month. */
  readonly lastWeekday: boolean;
  /** `nW` in day-of-month: nearestWeekday[n] = 1. 32 entries. */
  readonly nearestWeekday: Uint8Array;
  /** `nL` in day-of-week: lastDayOfWeek[n] = 1. 7 entries. */
  readonly lastDayOfWeek: Uint8Array;
  /** `n#k` in day-of-week: bit (k-1) of nthDayOfWeek[n]. 7 entries. */
  readonly nthDayOfWeek: Uint8Array;
  /** True when the day-of-month or day-of-week field uses L, W or #. */
  readonly hasDayExtensions: boolean;
  /** Second, minute and hour are each a single value (cronie's "fixed time" for clock jumps, SPEC §3). */
  readonly fixedTime: boolean;
}

/** `@every <duration>`: fires when the Unix time in seconds is a multiple of `seconds`. */
export interface EverySchedule {
  readonly kind: 'every';
  readonly seconds: number;
}

/** `@reboot`: once when the daemon starts for the first time since the machine booted. */
export interface RebootSchedule {
  readonly kind: 'reboot';
}

/** `@at <ISO 8601 time>`: once, at this Unix second (read in the task's zone at load; SPEC §11). */
export interface AtSchedule {
  readonly kind: 'at';
  readonly second: number;
}

export type Schedule = CronSchedule | EverySchedule | RebootSchedule | AtSchedule;

/**
 * An error in one schedule field. `field` indexes the tokens given to the compiler; `offset` is the
 * character offset inside that token where the problem starts (0 for the whole token).
 */
export interface ScheduleError {
  readonly field: number;
  readonly offset: number;
  readonly message: string;
}

export type CompileResult =
  | { readonly ok: true; readonly schedule: Schedule }
  | { readonly ok: false; readonly errors: readonly ScheduleError[] };

/** Wall-clock fields of one second in one time zone; filled in place on the hot path. */
export interface WallTime {
  year: number;
  month: number; // 1..12
  day: number; // 1..31
  hour: number;
  minute: number;
  second: number;
  dayOfWeek: number; // 0 = Sunday
  daysInMonth: number;
  /** Seconds since the epoch as if the wall clock were UTC: unix + offset. Strictly monotone within one offset. */
  wallSeconds: number;
}
