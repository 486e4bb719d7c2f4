/** The schedule module (SPEC §1.1, §3): compile six fields into bitmaps, match a second, find next fires. */
export { compileSchedule } from './compile.js';
export { dayMatches, everyDue, matchesWall } from './match.js';
export { nextFires } from './next-fire.js';
export { LOCAL_ZONE, Zone, zoneError } from './zone.js';
export type { CompileResult, CronSchedule, EverySchedule, RebootSchedule, Schedule, ScheduleError, WallTime } from './types.js';
