/**
 * The planner (SPEC §3): given the last second planned and the second now, which (task, second) pairs
 * are due. Pure: no timers, no clock reads, no I/O — the daemon's ticker feeds it seconds.
 *
 * SPEC §8 jitter: a task with offset j fires at real second T when its schedule matches at T - j. Tasks
 * are grouped by (zone, offset); each group's clock runs j seconds behind, and every rule of SPEC §3
 * holds on it. Without jitter there is one group per zone, as before.
 */
import { matchesWall } from '../schedule/match.js';
import { CATCH_UP_LIMIT_SECONDS } from '../schedule/next-fire.js';
import { Zone } from '../schedule/zone.js';
import { fillCivil, newWallTime } from '../schedule/calendar.js';
import type { Task } from '../tasks/types.js';
import { finishNow, type Sliced } from '../sliced.js';
import { NO_JITTER, type JitterOf } from './jitter.js';
import { ZoneIndexBuilder, type ZoneIndex } from './zone-index.js';
import { OneShots } from './one-shots.js';

/** A late wake up to this many seconds replays every missed second (SPEC §3). */
export const LATE_WAKE_LIMIT = 60;
/** Clock jumps up to this size get cronie's treatment; beyond it the planner resyncs (SPEC §3). */
export const JUMP_LIMIT = CATCH_UP_LIMIT_SECONDS;
/** Tasks indexed between two pauses of Planner.prepare: a few milliseconds of work. */
const PREPARE_SLICE = 1000;

export interface Fire {
  readonly task: Task;
  /** The scheduled second (Unix seconds) this run is for, jitter included: GOTORCH_SCHEDULED_AT. */
  readonly second: number;
}

export type ClockEvent =
  | { readonly kind: 'late'; readonly fromSecond: number; readonly toSecond: number }
  | { readonly kind: 'forward' | 'backward' | 'resync'; readonly fromSecond: number; readonly toSecond: number }
  | { readonly kind: 'dst'; readonly zone: string; readonly second: number; readonly wallShift: number };

export interface Advance {
  readonly fires: readonly Fire[];
  readonly events: readonly ClockEvent[];
  /** Daemon tasks whose schedule window is open at the current second (SPEC §1.4). */
  readonly openDaemons: ReadonlySet<string>;
}

/** The tasks of one zone that share one jitter offset. */
interface GroupIndex {
  readonly zone: string;
  readonly offset: number;
  readonly index: ZoneIndex;
}

/** A task list indexed for planning, built before a reload switches to it. */
export interface PreparedSchedule {
  readonly all: readonly Task[];
  readonly tasks: readonly Task[];
  readonly daemons: readonly Task[];
  /** By zone and offset (`groupKey`). */
  readonly groups: ReadonlyMap<string, GroupIndex>;
  readonly oneShots: OneShots;
}

/** One (zone, offset) group: its wall clock is the zone's at `second - offset`. */
interface ZoneState {
  readonly zone: Zone;
  readonly offset: number;
  /** The group of its zone that reports the zone's DST changes: one event per change, not one per group. */
  reportsDst: boolean;
  index: ZoneIndex;
  /** Wall second (unix + UTC offset) of the last second evaluated in this group. */
  lastWall: number;
  /** The highest wall second evaluated: fixed-time tasks do not run again below it (SPEC §3 backward). */
  highWall: number;
}

const utc = Zone.for('UTC');

const groupKey = (zone: string, offset: number): string => (offset === 0 ? zone : `${zone} +${offset}`);

export class Planner {
  private tasks: readonly Task[] = [];
  private daemons: readonly Task[] = [];
  /** By `groupKey`: one per zone without jitter, one per (zone, offset) with it. */
  private groups = new Map<string, ZoneState>();
  private oneShots = new OneShots([]);
  /** SPEC §3: each (task, scheduled second) starts at most once — keyed by identity, kept across reloads. */
  private readonly lastFired = new Map<string, number>();
  /** `@at` tasks: the second each fired for, so a step back over it never fires it again (kept across reloads). */
  private readonly oneShotsFired = new Map<string, number>();
  private last: number;
  /** After a small backward step: waiting for the clock to pass `last` again. */
  private holding = false;
  /** Indices of matching tasks, reused each tick. */
  private readonly matched: number[] = [];
  /** Wall fields for catch-up and daemon windows, reused to keep the tick free of allocation. */
  private readonly scratch = newWallTime();
  /** The wall fields of the group being evaluated. */
  private readonly wall = newWallTime();

  /** `startSecond` counts as planned: the first advance evaluates the second after it. */
  constructor(tasks: readonly Task[], startSecond: number, jitterOf: JitterOf = NO_JITTER) {
    this.last = startSecond;
    this.setTasks(tasks, jitterOf);
  }

  get lastSecond(): number {
    return this.last;
  }

  /** Replaces the schedule; it holds from the next second planned (SPEC §5). */
  setTasks(tasks: readonly Task[], jitterOf: JitterOf = NO_JITTER): void {
    this.install(finishNow(Planner.prepare(tasks, jitterOf)));
  }

  /**
   * The expensive part of a reload, done before the switch: index the tasks of each zone and offset
   * (`jitterOf`: this host's, SPEC §8). A generator that pauses every PREPARE_SLICE tasks, so a caller
   * can yield to the event loop in between.
   */
  static *prepare(all: readonly Task[], jitterOf: JitterOf = NO_JITTER): Sliced<PreparedSchedule> {
    const tasks = all.filter((task) => task.type === 'cron' && task.schedule.kind !== 'reboot');
    const builders = new Map<string, { zone: string; offset: number; builder: ZoneIndexBuilder }>();
    const oneShots: { task: Task; second: number }[] = [];
    for (let index = 0; index < tasks.length; index++) {
      if (index > 0 && index % PREPARE_SLICE === 0) yield;
      const { zone, schedule } = tasks[index];
      const offset = jitterOf(tasks[index]);
      if (schedule.kind === 'at') {
        oneShots.push({ task: tasks[index], second: schedule.second + offset });
        continue;
      }
      const key = groupKey(zone, offset);
      let group = builders.get(key);
      if (group === undefined) builders.set(key, (group = { zone, offset, builder: new ZoneIndexBuilder(tasks) }));
      group.builder.add(index);
    }
    yield;
    const groups = new Map([...builders].map(([key, { zone, offset, builder }]) => [key, { zone, offset, index: builder.build() }]));
    return { all, tasks, daemons: all.filter((task) => task.type === 'daemon'), groups, oneShots: new OneShots(oneShots) };
  }

  /** Switches to a prepared schedule: cheap, so no tick waits for it. */
  install(prepared: PreparedSchedule): void {
    this.tasks = prepared.tasks;
    this.daemons = prepared.daemons;
    this.oneShots = prepared.oneShots;
    const states = new Map<string, ZoneState>();
    const dstReporters = new Map<Zone, ZoneState>();
    for (const [key, { zone: name, offset, index }] of prepared.groups) {
      let state = this.groups.get(key);
      if (state) {
        state.index = index;
      } else {
        const zone = Zone.for(name);
        const lastWall = wallSeconds(zone, this.last - offset);
        state = { zone, offset, reportsDst: false, index, lastWall, highWall: lastWall };
      }
      states.set(key, state);
      const reporter = dstReporters.get(state.zone);
      if (reporter === undefined || offset < reporter.offset) dstReporters.set(state.zone, state);
    }
    for (const state of states.values()) state.reportsDst = dstReporters.get(state.zone) === state;
    this.groups = states;
    const ids = new Set(prepared.all.map((task) => task.id));
    for (const id of this.lastFired.keys()) if (!ids.has(id)) this.lastFired.delete(id);
    for (const id of this.oneShotsFired.keys()) if (!ids.has(id)) this.oneShotsFired.delete(id);
  }

  /**
   * Plans every second after the last one planned up to and including `nowSecond`. With `replayOnly`
   * (a restart after a clean stop, SPEC §3), the missed seconds are a replay, not a late wake: only the
   * tasks it accepts fire, and no `late` event is reported.
   */
  advance(nowSecond: number, replayOnly?: (task: Task) => boolean): Advance {
    const delta = nowSecond - this.last;
    const due = new Map<Task, number>();
    const events: ClockEvent[] = [];
    if (delta < 0 && delta >= -LATE_WAKE_LIMIT) {
      // A small step back (NTP): hold until the clock passes the last planned second, so no second runs twice.
      if (!this.holding) events.push({ kind: 'backward', fromSecond: this.last, toSecond: nowSecond });
      this.holding = true;
      return { fires: [], events, openDaemons: this.openDaemons(nowSecond) };
    }
    this.holding = false;
    if (delta >= 1 && delta <= LATE_WAKE_LIMIT) {
      if (delta > 1 && replayOnly === undefined) events.push({ kind: 'late', fromSecond: this.last, toSecond: nowSecond });
      // SPEC §3 late wake: every missed second in order; a task due in several runs once, for the first.
      for (let second = this.last + 1; second <= nowSecond; second++) this.evaluate(second, 1, due, events, replayOnly);
      this.oneShots.collect(this.last, nowSecond, undefined, this.oneShotsFired, due, replayOnly);
    } else if (delta !== 0) {
      const kind = Math.abs(delta) > JUMP_LIMIT ? 'resync' : delta > 0 ? 'forward' : 'backward';
      events.push({ kind, fromSecond: this.last, toSecond: nowSecond });
      if (kind === 'resync') for (const state of this.groups.values()) this.resync(state, nowSecond);
      this.evaluate(nowSecond, kind === 'resync' ? 1 : delta, due, events, replayOnly);
      // SPEC §3 forward: a one-shot jumped over runs once, at the second the jump was seen, as a fixed-time task does.
      if (kind !== 'backward') this.oneShots.collect(kind === 'resync' ? nowSecond - 1 : this.last, nowSecond, nowSecond, this.oneShotsFired, due, replayOnly);
    }
    this.last = nowSecond;
    const fires: Fire[] = [];
    for (const [task, second] of due) {
      this.lastFired.set(task.id, second);
      fires.push({ task, second });
    }
    return { fires, events, openDaemons: this.openDaemons(nowSecond) };
  }

  private resync(state: ZoneState, second: number): void {
    state.lastWall = wallSeconds(state.zone, second - state.offset) - 1;
    state.highWall = state.lastWall;
  }

  /**
   * One real second in every zone and offset group: the group's tasks are due for `second` when their
   * schedule matches at `second - offset`. `realStep` is how far the real clock moved since the
   * previous evaluation; a zone whose wall clock moved by a different amount changed its UTC offset (DST).
   */
  private evaluate(second: number, realStep: number, due: Map<Task, number>, events: ClockEvent[], replayOnly?: (task: Task) => boolean): void {
    for (const state of this.groups.values()) {
      const { zone, index } = state;
      const shifted = second - state.offset;
      const wallNow = wallSeconds(zone, shifted);
      const step = wallNow - state.lastWall;
      if (step !== realStep && state.reportsDst) events.push({ kind: 'dst', zone: zone.name, second: shifted, wallShift: step - realStep });
      const matched = this.matched;
      matched.length = 0;
      if (step > 1) {
        // SPEC §3 forward: fixed-time tasks whose wall time was skipped run once; wildcard tasks do not replay.
        for (let wallSecond = Math.max(state.lastWall + 1, state.highWall + 1, wallNow - JUMP_LIMIT); wallSecond < wallNow; wallSecond++) {
          utc.fillWallTime(wallSecond, this.scratch);
          index.collectDue(this.scratch, second, matched, true);
        }
      }
      const skipped = matched.length;
      // The calendar only for a group with a task in this second's slots: most groups of a few jittered tasks have none.
      if (index.mayBeDue(wallNow, shifted)) {
        fillCivil(wallNow, this.wall);
        index.collectDue(this.wall, shifted, matched);
      }
      // SPEC §3 backward: fixed-time tasks that already ran for a wall time are not run again.
      const replay = wallNow <= state.highWall;
      for (let at = 0; at < matched.length; at++) {
        const task = this.tasks[matched[at]];
        if (at >= skipped && replay && isFixed(task)) continue;
        if (replayOnly !== undefined && !replayOnly(task)) continue;
        if (!due.has(task) && this.lastFired.get(task.id) !== second) due.set(task, second);
      }
      state.lastWall = wallNow;
      if (wallNow > state.highWall) state.highWall = wallNow;
    }
  }

  private openDaemons(second: number): Set<string> {
    const open = new Set<string>();
    for (const task of this.daemons) {
      if (task.schedule.kind !== 'cron') continue;
      Zone.for(task.zone).fillWallTime(second, this.scratch);
      if (matchesWall(task.schedule, this.scratch)) open.add(task.id);
    }
    return open;
  }
}

function wallSeconds(zone: Zone, unixSecond: number): number {
  return unixSecond + zone.offsetSeconds(unixSecond);
}

function isFixed(task: Task): boolean {
  return task.schedule.kind === 'cron' && task.schedule.fixedTime;
}
