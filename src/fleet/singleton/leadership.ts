/**
 * SPEC §10 daemon-type singletons: an election per task. The leader key `leaders/<task>` is created
 * only if absent, bound to the host lease; its holder keeps `max` instances, other hosts try again each
 * tick and take over once the key is gone (the old holder's lease expired on the server). The holder
 * stops its instances at its own watchdog's deadline, last keep-alive + TTL − margin, before the
 * server can let the lease go: never from the client's 'lost' event, which can come 2 × TTL late.
 */
import type { Logger } from 'pino';
import { settleWithin, type Clock, type Timer } from '../../clock.js';
import type { Task } from '../../tasks/types.js';
import { CLOSE_WAIT_MS, leaseDeadline, unavailable, type FleetLink } from './fleet-link.js';

/** How long before the lease may end the holder stops: TERM at the deadline leaves it grace + 1 s to exit (README: Singleton tasks), at most half the TTL. */
export function stopMarginMs(task: Task, ttlMs: number): number {
  return Math.min(task.options.graceMs + 1000, ttlMs / 2);
}

export interface LeadershipOptions {
  readonly link: () => FleetLink | undefined;
  readonly clock: Clock;
  readonly log: Logger;
  /** The daemon instance: the leader key names it, so this daemon knows its own key after a lapse. */
  readonly instance: string;
  /** Leadership of `task` was won or lost between ticks: keep its instances (`mayRun`) now. */
  readonly changed: (task: Task, mayRun: boolean) => void;
}

interface TaskLeadership {
  task: Task;
  held: boolean;
  /** `this host`, another host's name, or null while unknown. */
  holder: string | null;
  campaigning: boolean;
  /** A campaign was answered (won or lost) since this daemon started. */
  answered: boolean;
  /** The window as of the last tick: a campaign answered after it closed resigns at once. */
  wanted: boolean;
  watchdog: { readonly at: number; readonly timer: Timer } | null;
}

export class Leadership {
  private readonly tasks = new Map<string, TaskLeadership>();

  constructor(private readonly options: LeadershipOptions) {}

  /** Called by the tick for each singleton daemon task: whether its instances may run on this host now. */
  mayRun(task: Task, windowOpen: boolean): boolean {
    const state = this.stateOf(task);
    state.wanted = windowOpen;
    const link = this.options.link();
    if (link === undefined) return false;
    if (!windowOpen) {
      if (state.held) this.resign(state, link, 'window closed');
      return false;
    }
    const margin = stopMarginMs(task, link.ttlMs);
    if (state.held && this.watch(state, link)) return true;
    if (!state.campaigning && unavailable(link, this.options.clock.now(), margin) === undefined) void this.campaign(state, link);
    return false;
  }

  /**
   * The first campaign of `task` since this daemon started is still unanswered: its instances (adopted
   * from the previous daemon of this host) are neither stopped nor started until it is (the daemon's tick).
   */
  pending(task: Task): boolean {
    const state = this.tasks.get(task.id);
    return state !== undefined && state.campaigning && !state.answered;
  }

  /** For `status`: `this host`, the holder's name, or null when unknown (no fleet, not asked yet). */
  holderOf(taskId: string): string | null {
    return this.tasks.get(taskId)?.holder ?? null;
  }

  /** SPEC §5: a reload's task list; leaderships of tasks that are no longer singleton daemons are given up. */
  setTasks(tasks: readonly Task[]): void {
    const kept = new Set(tasks.filter((task) => task.type === 'daemon' && task.options.singleton).map((task) => task.id));
    const link = this.options.link();
    for (const [id, state] of this.tasks) {
      if (kept.has(id)) continue;
      if (state.held && link !== undefined) this.resign(state, link, 'task removed');
      this.disarm(state);
      this.tasks.delete(id);
    }
  }

  /** At a stop, once the instances are gone: every leadership is given up, so another host takes over at once. */
  async close(): Promise<void> {
    const link = this.options.link();
    const held = [...this.tasks.values()].filter((state) => state.held);
    for (const state of this.tasks.values()) this.disarm(state);
    this.tasks.clear();
    if (link !== undefined) await settleWithin(this.options.clock, CLOSE_WAIT_MS, held.map((state) => link.store.removeIf(this.leaderKey(link, state.task), this.value(link))));
  }

  private stateOf(task: Task): TaskLeadership {
    let state = this.tasks.get(task.id);
    if (state === undefined) this.tasks.set(task.id, (state = { task, held: false, holder: null, campaigning: false, answered: false, wanted: false, watchdog: null }));
    state.task = task;
    return state;
  }

  private leaderKey(link: FleetLink, task: Task): string {
    return link.key('leaders', task.id);
  }

  private value(link: FleetLink): string {
    return JSON.stringify({ host: link.hostName, instance: this.options.instance });
  }

  private async campaign(state: TaskLeadership, link: FleetLink): Promise<void> {
    state.campaigning = true;
    const key = this.leaderKey(link, state.task);
    const value = this.value(link);
    try {
      const result = await link.store.createIfAbsent([key], [{ key, value, lease: 'host' }]);
      // Our own key still there: its lease outlived a lapse of keep-alives, nobody else can have taken over.
      // Or the key of this host's previous daemon (crashed, or detached for a restart): its instances are the
      // ones this daemon adopted, so it takes the key over at once instead of waiting out the old lease.
      // Either way it is bound again to the host lease in force, which the watchdog follows.
      const existing = result.created ? undefined : result.existing.get(key);
      const own = existing !== undefined && (existing === value || holderName(existing) === link.hostName) && (await link.store.rebind(key, existing, value));
      const first = !state.answered;
      state.answered = true;
      if (!result.created && !own) {
        state.holder = holderName(existing);
        // Told who holds it: instances this daemon adopted stop now (the tick waited for this first answer;
        // after it, each tick stops them itself).
        if (first) this.options.changed(state.task, false);
        return;
      }
      if (!state.wanted || !this.tasks.has(state.task.id)) {
        void link.store.removeIf(key, value).catch(() => undefined);
        return;
      }
      state.held = true;
      state.holder = 'this host';
      // The answer may come late: the instances start only while the lease is trusted.
      if (!this.watch(state, link)) return;
      this.options.log.info({ task: state.task.id }, 'singleton daemon: this host holds it');
      this.options.changed(state.task, true);
    } catch (error) {
      this.options.log.debug({ task: state.task.id, err: error }, 'singleton daemon: campaign failed, trying again next second');
    } finally {
      state.campaigning = false;
    }
  }

  /** Keeps the watchdog at the lease's deadline; at or past it, leadership is given up (false). */
  private watch(state: TaskLeadership, link: FleetLink): boolean {
    const deadline = leaseDeadline(link, stopMarginMs(state.task, link.ttlMs));
    if (deadline === null || this.options.clock.now() >= deadline) {
      this.lose(state);
      return false;
    }
    if (state.watchdog?.at === deadline) return true;
    this.disarm(state);
    const timer = this.options.clock.setTimer(deadline, () => {
      state.watchdog = null;
      // A keep-alive answered since the timer was set moves the deadline on: re-armed then.
      if (state.held && !this.watch(state, link)) this.options.changed(state.task, false);
    });
    state.watchdog = { at: deadline, timer };
    return true;
  }

  private lose(state: TaskLeadership): void {
    this.disarm(state);
    if (!state.held) return;
    state.held = false;
    state.holder = null;
    // The key is left to the lease: deleting it would let another host start while ours are still stopping.
    this.options.log.warn({ task: state.task.id }, 'singleton daemon: the host lease may expire (no keep-alive answered in time): stopping its instances');
  }

  private resign(state: TaskLeadership, link: FleetLink, reason: string): void {
    this.disarm(state);
    state.held = false;
    state.holder = null;
    this.options.log.info({ task: state.task.id, reason }, 'singleton daemon: giving up leadership');
    void link.store.removeIf(this.leaderKey(link, state.task), this.value(link)).catch(() => undefined);
  }

  private disarm(state: TaskLeadership): void {
    state.watchdog?.timer.cancel();
    state.watchdog = null;
  }
}

function holderName(value: string | undefined): string | null {
  try {
    return (JSON.parse(value ?? '') as { host: string }).host;
  } catch {
    return null;
  }
}
