/** Shared parts of the oracle tests: a seeded generator of expressions, start dates and the DST filter. */
import { compileSchedule } from '../../src/schedule/compile.js';
import { nextFires } from '../../src/schedule/next-fire.js';
import type { CronSchedule, Schedule } from '../../src/schedule/types.js';
import { Zone } from '../../src/schedule/zone.js';

export const ORACLE_ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe'] as const;
export const FIRES = 20;
const HOUR = 3600;
const DAY = 86_400;

/** mulberry32: small, seedable, good enough to spread test cases. */
export function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const MONTH_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const BOUNDS: readonly (readonly [number, number])[] = [[0, 59], [0, 59], [0, 23], [1, 31], [1, 12], [0, 7]];
/** How often each field is `*`: low for seconds so that schedules are sparse enough to be interesting. */
const STAR_CHANCE = [0.15, 0.3, 0.45, 0.5, 0.6, 0.55];

export class ExpressionGenerator {
  constructor(readonly random: () => number) {}

  int(low: number, high: number): number {
    return low + Math.floor(this.random() * (high - low + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)];
  }

  /** A value, sometimes as a name; `sun` never ends a range (cron-parser reads it as 0 there). */
  value(field: number, value: number, endsRange = false): string {
    if (field === 4 && this.random() < 0.3) return MONTH_NAMES[value - 1];
    if (field === 5 && value < 7 && !(endsRange && value === 0) && this.random() < 0.3) return DAY_NAMES[value];
    return String(value);
  }

  /**
   * `n`, `a-b` or `a-b/n` within [low, high]; a field's only item may also be `*\/n` or `a/n` (from a
   * to the field's end). List items never share a value: cron-parser rejects lists that repeat one.
   */
  item(field: number, low: number, high: number, only: boolean, allowStartStep: boolean): string {
    const maxStep = Math.min(BOUNDS[field][1] - BOUNDS[field][0] + (field === 5 ? 0 : 1), 20);
    const roll = this.random();
    if (only && roll < 0.15) return `*/${this.int(1, maxStep)}`;
    if (only && allowStartStep && roll < 0.25) return `${this.value(field, this.int(low, high))}/${this.int(1, maxStep)}`;
    if (roll < 0.55) return this.value(field, this.int(low, high));
    const start = this.int(low, high);
    const end = this.int(start, high);
    const range = `${this.value(field, start)}-${this.value(field, end, true)}`;
    return roll < 0.8 ? range : `${range}/${this.int(1, Math.max(1, Math.min(end - start + 1, maxStep)))}`;
  }

  /** One field: `*` (or `?` in a day field), or a list of one to three items over disjoint spans. */
  field(field: number, allowStartStep = true): string {
    if (this.random() < STAR_CHANCE[field]) return (field === 3 || field === 5) && this.random() < 0.2 ? '?' : '*';
    const [low, high] = BOUNDS[field];
    if (this.random() < 0.7) return this.item(field, low, high, true, allowStartStep);
    // Sunday is both 0 and 7: lists keep to 0-6 so that no day appears twice.
    const top = field === 5 ? 6 : high;
    const cuts = new Set<number>();
    const parts = this.int(2, 3);
    while (cuts.size < parts - 1) cuts.add(this.int(low + 1, top));
    const bounds = [low, ...[...cuts].sort((a, b) => a - b), top + 1];
    const items = bounds.slice(1).map((next, index) => this.item(field, bounds[index], next - 1, false, allowStartStep));
    return items.sort(() => this.random() - 0.5).join(',');
  }

  /** A start second in 2020-2035; in DST zones often just before an offset change. */
  start(zone: Zone): number {
    const start = Math.floor(Date.UTC(2020, 0, 1) / 1000) + this.int(0, 15 * 365) * DAY + this.int(0, DAY - 1);
    if (zone.name === 'UTC' || this.random() < 0.4) return start;
    const transition = zone.nextTransition(start, start + 400 * DAY);
    return transition - this.pick([this.int(1, 3 * DAY), this.int(1, 3 * HOUR)]);
  }
}

export function compileCron(fields: readonly string[]): CronSchedule {
  const result = compileSchedule(fields);
  if (!result.ok || result.schedule.kind !== 'cron') throw new Error(`${fields.join(' ')} should compile: ${JSON.stringify(result)}`);
  return result.schedule;
}

/**
 * SPEC §1.1 (Vixie) ANDs the day fields when either starts with `*` or `?`; cron-parser and croner
 * only when one is exactly `*` (or `?`), so `*\/2` OR-s with a listed day for them.
 */
export function oracleDayRuleDiffers(s: CronSchedule, dayOfMonth: string, dayOfWeek: string, wildcards: readonly string[]): boolean {
  return (s.domStar || s.dowStar) !== (wildcards.includes(dayOfMonth) || wildcards.includes(dayOfWeek));
}

/**
 * Offset changes in (from, until] whose skipped or repeated wall hours (whole hours around them)
 * the schedule matches: there the oracles apply their own DST rules, not SPEC §3's.
 */
export function touchedTransitions(s: Schedule, zone: Zone, from: number, until: number): number[] {
  const touched: number[] = [];
  for (let at = zone.nextTransition(from, until); at !== Infinity; at = zone.nextTransition(at, until)) {
    const [before, after] = [zone.offsetSeconds(at - 1), zone.offsetSeconds(at)];
    const low = Math.floor((at + Math.min(before, after)) / HOUR) * HOUR;
    const high = Math.ceil((at + Math.max(before, after)) / HOUR) * HOUR;
    // Wall seconds read as UTC seconds: the first wall second from `low` that the schedule matches.
    const [firstWallMatch] = nextFires(s, Zone.for('UTC'), low - 1, 1);
    if (firstWallMatch !== undefined && firstWallMatch < high) touched.push(at);
  }
  return touched;
}

/** Fires from an hour before to two hours after a touched change are left out of the comparison. */
export function nearTouched(fire: number, touched: readonly number[]): boolean {
  return touched.some((at) => fire >= at - HOUR && fire < at + 2 * HOUR);
}

export interface Tally {
  cases: number;
  compared: number;
  firesCompared: number;
  firesLeftOut: number;
  casesWithDstLeftOut: number;
  /** Both find no fire up to the limit (e.g. `31W` in February, or a span cut short for cron-parser). */
  agreedOnNoFire: number;
  /** Compared cases whose span holds an offset change (touched or not). */
  comparedAcrossDst: number;
  comparedByZone: Record<string, number>;
  excluded: Record<string, number>;
}

export function newTally(): Tally {
  return { cases: 0, compared: 0, firesCompared: 0, firesLeftOut: 0, casesWithDstLeftOut: 0, agreedOnNoFire: 0, comparedAcrossDst: 0, comparedByZone: {}, excluded: {} };
}

export function exclude(tally: Tally, reason: string): void {
  tally.excluded[reason] = (tally.excluded[reason] ?? 0) + 1;
}

/** One comparison: our fires and the oracle's for `schedule` in `zone` after `start`, both complete up to `limit`. */
export interface Comparison {
  readonly schedule: Schedule;
  readonly zone: Zone;
  readonly start: number;
  readonly limit: number;
  readonly ours: readonly number[];
  readonly oracle: readonly number[];
}

/** Compares up to `limit`, leaving out fires near touched DST changes; a failure description or undefined. */
export function compareFires({ schedule, zone, start, limit, ours, oracle }: Comparison, tally: Tally): string | undefined {
  // A change up to an hour after the limit still casts its window over fires before it.
  const touched = touchedTransitions(schedule, zone, start, limit + HOUR);
  const keep = (fire: number) => fire <= limit && !nearTouched(fire, touched);
  const [ourKept, oracleKept] = [ours.filter(keep), oracle.filter(keep)];
  const leftOut = ours.filter((fire) => fire <= limit).length - ourKept.length;
  tally.firesLeftOut += leftOut;
  if (leftOut > 0 || oracle.some((fire) => fire <= limit && !keep(fire))) tally.casesWithDstLeftOut++;
  if (oracleKept.length === 0 && ourKept.length === 0) {
    if (leftOut === 0 && !oracle.some((fire) => fire <= limit)) tally.agreedOnNoFire++;
    else exclude(tally, 'every fire up to the limit is in a DST window');
    return undefined;
  }
  tally.compared++;
  tally.firesCompared += oracleKept.length;
  tally.comparedByZone[zone.name] = (tally.comparedByZone[zone.name] ?? 0) + 1;
  if (zone.nextTransition(start, limit) !== Infinity) tally.comparedAcrossDst++;
  if (ourKept.length === oracleKept.length && ourKept.every((fire, index) => fire === oracleKept[index])) return undefined;
  const show = (fires: readonly number[]) => fires.map((fire) => new Date(fire * 1000).toISOString()).join(', ');
  return `ours:   ${show(ourKept)}\noracle: ${show(oracleKept)}`;
}
