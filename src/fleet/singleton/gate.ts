/**
 * SPEC §10: between the planner's fires and the supervisor. A local task goes straight to `fire`; a
 * singleton cron fire is claimed in etcd first (claim.ts) and fired once claimed, with its original
 * scheduled second (so its lateness shows the claim's latency). The tick never waits: the claim runs
 * on after fire() returns. A fire that cannot be claimed is not run (at most once) and is reported as
 * skipped (`fleet unavailable`), which history, metrics and the failure hook hear of.
 */
import type { Logger } from 'pino';
import { settleWithin, type Clock, type Timer } from '../../clock.js';
import type { RunEvents, SkipReason } from '../../events.js';
import type { RunTrigger } from '../../supervisor/run.js';
import type { FireResult } from '../../supervisor/supervisor.js';
import type { Task } from '../../tasks/types.js';
import { claimFire, type ClaimOutcome, type ClaimRecord } from './claim.js';
import { CLOSE_WAIT_MS, unavailable, type FleetLink } from './fleet-link.js';

/** A claim is not made with less than this left of the host lease (its slot would die with it). */
export const CLAIM_LEASE_MARGIN_MS = 1000;
/** A claim still unanswered after this is given up: the fire is skipped (a late commit is undone). */
export const CLAIM_TIMEOUT_MS = 3000;

export interface GateOptions {
  /** The fleet connection; undefined without `--etcd` (then singleton fires never run: README). */
  readonly link: () => FleetLink | undefined;
  /** The supervisor's fire (`jitterS`: SPEC §8's shift of a local task's second). */
  readonly fire: (task: Task, second: number, trigger: RunTrigger, runId?: string, jitterS?: number) => FireResult;
  /** A new run id for a fire of that second (the supervisor's newRunId): the claim names the run. */
  readonly runId: (second: number) => string;
  readonly events: RunEvents;
  readonly clock: Clock;
  readonly log: Logger;
  readonly claimTimeoutMs?: number;
}

/** The last claim decided for a singleton cron task, for `status`. */
export interface LastClaim {
  readonly second: number;
  /** `this host`, or the host that claimed it. */
  readonly holder: string;
}

const fireId = (task: string, second: number): string => `${task}\0${second}`;

export class FireGate {
  /** Slots this host holds, by (task, second), until the run's last attempt ends. */
  private readonly slots = new Map<string, { readonly key: string; readonly value: string }>();
  private readonly last = new Map<string, LastClaim>();
  private readonly timeoutMs: number;

  constructor(private readonly options: GateOptions) {
    this.timeoutMs = options.claimTimeoutMs ?? CLAIM_TIMEOUT_MS;
    const { events } = options;
    events.on('run-finished', 'singleton gate', ({ task, role, record, retryInMs }) => {
      if (role === 'job' && retryInMs === null && record.trigger !== 'manual') this.release(task.id, record.scheduledAt);
    });
    events.on('retry-dropped', 'singleton gate', ({ task, record }) => this.release(task.id, record.scheduledAt));
    events.on('fire-skipped', 'singleton gate', ({ task, scheduledAt }) => this.release(task.id, scheduledAt));
  }

  /** Called by the tick for each planned fire; never waits for etcd. */
  fire(task: Task, second: number, trigger: RunTrigger, jitterS = 0): void {
    if (!task.options.singleton || task.type !== 'cron') {
      this.options.fire(task, second, trigger, undefined, jitterS);
      return;
    }
    const link = this.options.link();
    // Without --etcd the task never runs: said once at load (singletonWarnings), not every second.
    if (link === undefined) return;
    const why = unavailable(link, this.options.clock.now(), CLAIM_LEASE_MARGIN_MS);
    if (why !== undefined) {
      this.skip(task, second, 'fleet unavailable', why);
      return;
    }
    void this.claim(link, task, second, trigger);
  }

  /** For `status`: who holds the latest fire of a singleton cron task, or undefined before the first. */
  lastClaim(taskId: string): LastClaim | undefined {
    return this.last.get(taskId);
  }

  /** Claims in flight hold a slot only after they answer; `close` frees the slots held (runs ended or stopping). */
  async close(): Promise<void> {
    const link = this.options.link();
    const held = [...this.slots.values()];
    this.slots.clear();
    if (link !== undefined) await settleWithin(this.options.clock, CLOSE_WAIT_MS, held.map((slot) => link.store.removeIf(slot.key, slot.value)));
  }

  private async claim(link: FleetLink, task: Task, second: number, trigger: RunTrigger): Promise<void> {
    const { clock } = this.options;
    const record: ClaimRecord = { host: link.hostName, run: this.options.runId(second), second, at: clock.now() };
    const claiming = claimFire(link, task, second, record);
    const outcome = await this.bounded(claiming);
    if (outcome === undefined) {
      // etcd may still commit it: then nobody runs this fire (at most once), and the slot is given back.
      void claiming.then((late) => {
        if (late.kind === 'claimed' && late.slot !== null) link.store.removeIf(late.slot.key, late.slot.value).catch(() => undefined);
      });
      this.skip(task, second, 'fleet unavailable', `no answer from etcd within ${this.timeoutMs} ms`);
      return;
    }
    const log = this.options.log;
    switch (outcome.kind) {
      case 'claimed':
        this.last.set(task.id, { second, holder: 'this host' });
        if (outcome.slot !== null) this.slots.set(fireId(task.id, second), outcome.slot);
        this.options.fire(task, second, trigger, record.run);
        return;
      case 'taken':
        this.last.set(task.id, { second, holder: outcome.holder });
        log.debug({ task: task.id, scheduledAt: second, holder: outcome.holder }, 'singleton fire claimed by another host');
        return;
      case 'full':
        this.last.set(task.id, { second, holder: 'this host' });
        this.skip(task, second, 'max');
        return;
      case 'failed':
        this.skip(task, second, 'fleet unavailable', `the claim failed: ${outcome.error}`);
    }
  }

  /** The claim's outcome, or undefined when it took longer than the timeout. */
  private bounded(claiming: Promise<ClaimOutcome>): Promise<ClaimOutcome | undefined> {
    const { clock } = this.options;
    let timer: Timer | undefined;
    const timeout = new Promise<undefined>((resolve) => (timer = clock.setTimer(clock.now() + this.timeoutMs, () => resolve(undefined))));
    return Promise.race([claiming, timeout]).finally(() => timer?.cancel());
  }

  private skip(task: Task, second: number, reason: SkipReason, detail?: string): void {
    this.options.events.publish({ type: 'fire-skipped', task, scheduledAt: second, reason, running: 0, starting: 0, at: this.options.clock.now(), ...(detail === undefined ? {} : { detail }) });
  }

  private release(taskId: string, second: number): void {
    const id = fireId(taskId, second);
    const slot = this.slots.get(id);
    const link = this.options.link();
    if (slot === undefined || link === undefined) return;
    this.slots.delete(id);
    link.store.removeIf(slot.key, slot.value).catch((error: unknown) => {
      // The slot is bound to the host lease: it goes when the lease does, if not sooner.
      this.options.log.warn({ task: taskId, scheduledAt: second, slot: slot.key, err: error }, 'could not free a singleton slot: it ends with the host lease');
    });
  }
}
