/**
 * The planner (SPEC §3): given the last second planned and the second now, which (task, second) pairs
 * are due. Pure: no timers, no clock reads, no I/O — the daemon's ticker feeds it seconds.
 */
import { matchesWall } from '../schedule/match.js';
import { CATCH_UP_LIMIT_SECONDS } from '../schedule/next-fire.js';
import { Zone } from '../schedule/zone.js';
import { newWallTime } from '../schedule/calendar.js';
import type { WallTime } from '../schedule/types.js';
import type { Task } from '../tasks/types.js';
import { finishNow, type Sliced } from '../sliced.js';
import { ZoneIndexBuilder, type ZoneIndex } from './zone-index.js';

/** A late wake up to this many seconds replays every missed second (SPEC §3). */
export const LATE_WAKE_LIMIT = 60;
/** Clock jumps up to this size get cronie's treatment; beyond it the planner resyncs (SPEC §3). */
export const JUMP_LIMIT = CATCH_UP_LIMIT_SECONDS;
/** Tasks indexed between two pauses of Planner.prepare: a few milliseconds of work. */
const PREPARE_SLICE = 1000;

export interface Fire {
  readonly task: Task;
  /** The scheduled second (Unix seconds) this run is for: GOTORCH_SCHEDULED_AT. */
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

/** A task list indexed for planning, built before a reload switches to it. */
export interface PreparedSchedule {
  readonly all: readonly Task[];
  readonly tasks: readonly Task[];
  readonly daemons: readonly Task[];
  readonly indexes: ReadonlyMap<string, ZoneIndex>;
}

interface ZoneState {
  readonly zone: Zone;
  index: ZoneIndex;
  readonly wall: WallTime;
  /** Wall second (unix + offset) of the last second evaluated in this zone. */
  lastWall: number;
  /** The highest wall second evaluated: fixed-time tasks do not run again below it (SPEC §3 backward). */
  highWall: number;
}

const utc = Zone.for('UTC');

export class Planner {
  private tasks: readonly Task[] = [];
  private daemons: readonly Task[] = [];
  private zones = new Map<string, ZoneState>();
  /** SPEC §3: each (task, scheduled second) starts at most once — keyed by identity, kept across reloads. */
  private readonly lastFired = new Map<string, number>();
  private last: number;
  /** After a small backward step: waiting for the clock to pass `last` again. */
  private holding = false;
  /** Indices of matching tasks, reused each tick. */
  private readonly matched: number[] = [];
  /** Wall fields for catch-up and daemon windows, reused to keep the tick free of allocation. */
  private readonly scratch = newWallTime();

  /** `startSecond` counts as planned: the first advance evaluates the second after it. */
  constructor(tasks: readonly Task[], startSecond: number) {
    this.last = startSecond;
    this.setTasks(tasks);
  }

  get lastSecond(): number {
    return this.last;
  }

  /** Replaces the schedule; it holds from the next second planned (SPEC §5). */
  setTasks(tasks: readonly Task[]): void {
    this.install(finishNow(Planner.prepare(tasks)));
  }

  /**
   * The expensive part of a reload, done before the switch: index the tasks of each zone. A generator
   * that pauses every PREPARE_SLICE tasks, so a caller can yield to the event loop in between.
   */
  static *prepare(all: readonly Task[]): Sliced<PreparedSchedule> {
    const tasks = all.filter((task) => task.type === 'cron' && task.schedule.kind !== 'reboot');
    const builders = new Map<string, ZoneIndexBuilder>();
    for (let index = 0; index < tasks.length; index++) {
      if (index > 0 && index % PREPARE_SLICE === 0) yield;
      const zone = tasks[index].zone;
      let builder = builders.get(zone);
      if (builder === undefined) builders.set(zone, (builder = new ZoneIndexBuilder(tasks)));
      builder.add(index);
    }
    yield;
    const indexes = new Map([...builders].map(([zone, builder]) => [zone, builder.build()]));
    return { all, tasks, daemons: all.filter((task) => task.type === 'daemon'), indexes };
  }

  /** Switches to a prepared schedule: cheap, so no tick waits for it. */
  install(prepared: PreparedSchedule): void {
    this.tasks = prepared.tasks;
    this.daemons = prepared.daemons;
    const zones = new Map<string, ZoneState>();
    for (const [name, index] of prepared.indexes) {
      const previous = this.zones.get(name);
      if (previous) {
        previous.index = index;
        zones.set(name, previous);
      } else {
        const zone = Zone.for(name);
        const wall = newWallTime();
        zone.fillWallTime(this.last, wall);
        zones.set(name, { zone, index, wall, lastWall: wall.wallSeconds, highWall: wall.wallSeconds });
      }
    }
    this.zones = zones;
    const ids = new Set(prepared.all.map((task) => task.id));
    for (const id of this.lastFired.keys()) if (!ids.has(id)) this.lastFired.delete(id);
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
    } else if (delta !== 0) {
      const kind = Math.abs(delta) > JUMP_LIMIT ? 'resync' : delta > 0 ? 'forward' : 'backward';
      events.push({ kind, fromSecond: this.last, toSecond: nowSecond });
      if (kind === 'resync') for (const state of this.zones.values()) this.resync(state, nowSecond);
      this.evaluate(nowSecond, kind === 'resync' ? 1 : delta, due, events, replayOnly);
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
    state.zone.fillWallTime(second, state.wall);
    state.lastWall = state.wall.wallSeconds - 1;
    state.highWall = state.lastWall;
  }

  /**
   * One real second in every zone. `realStep` is how far the real clock moved since the previous
   * evaluation; a zone whose wall clock moved by a different amount changed its UTC offset (DST).
   */
  private evaluate(second: number, realStep: number, due: Map<Task, number>, events: ClockEvent[], replayOnly?: (task: Task) => boolean): void {
    for (const state of this.zones.values()) {
      const { zone, index, wall } = state;
      zone.fillWallTime(second, wall);
      const wallNow = wall.wallSeconds;
      const step = wallNow - state.lastWall;
      if (step !== realStep) events.push({ kind: 'dst', zone: zone.name, second, wallShift: step - realStep });
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
      index.collectDue(wall, second, matched);
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

function isFixed(task: Task): boolean {
  return task.schedule.kind === 'cron' && task.schedule.fixedTime;
}
