/**
 * The host lease's own watchdog (issue 14, microsoft/etcd3#155: the client's `lost` event can come
 * 2 × TTL late). etcd extends a lease when it receives a keep-alive, so a confirmed keep-alive proves
 * the lease alive until (its send time + TTL); the watchdog counts the lease gone once
 * last send time + TTL − margin has passed, before the server can expire it (SPEC §10).
 */
import type { Clock, Timer } from '../../clock.js';

/** Room left before the server's expiry: a fifth of the TTL, from 0.5 s to 2 s. */
export function watchdogMargin(ttlMs: number): number {
  return Math.min(2000, Math.max(500, Math.floor(ttlMs / 5)));
}

/** A timer fired this close to the deadline counts as at it. */
const EARLY_FIRE_TOLERANCE_MS = 20;

export class LeaseWatchdog {
  readonly marginMs: number;
  private last: number | undefined;
  private timer: Timer | undefined;
  /** Send times of keep-alives not yet answered, oldest first (one stream answers in order). */
  private unanswered: number[] = [];

  constructor(
    private readonly clock: Clock,
    readonly ttlMs: number,
    private readonly onExpired: () => void,
  ) {
    this.marginMs = watchdogMargin(ttlMs);
  }

  /** The last confirmed keep-alive's (or the grant's) send time, ms; undefined when none holds. */
  get lastKeepAliveAt(): number | undefined {
    return this.last;
  }

  /** When the lease counts as gone, or undefined when none holds. */
  get deadline(): number | undefined {
    return this.last === undefined ? undefined : this.last + this.ttlMs - this.marginMs;
  }

  isAlive(): boolean {
    const deadline = this.deadline;
    return deadline !== undefined && this.clock.now() < deadline;
  }

  /** A lease was granted; the grant request was sent at `sentAt`. */
  granted(sentAt: number): void {
    this.unanswered = [];
    this.confirm(sentAt);
  }

  /** A keep-alive request goes out now. */
  fired(): void {
    this.unanswered.push(this.clock.now());
  }

  /** The keep-alive stream was opened again: requests sent on the old one get no answer. */
  streamRestarted(): void {
    this.unanswered = [];
  }

  /** etcd answered the oldest keep-alive in flight. */
  succeeded(): void {
    const sentAt = this.unanswered.shift();
    // An answer with no request seen (events out of step): the earliest time it can stand for is the last one.
    if (sentAt !== undefined) this.confirm(sentAt);
  }

  /** The lease is given up (lost, revoked, closing): no deadline, no callback. */
  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.last = undefined;
    this.unanswered = [];
  }

  private confirm(sentAt: number): void {
    if (this.last !== undefined && sentAt <= this.last) return;
    this.last = sentAt;
    this.arm();
  }

  private arm(): void {
    this.timer?.cancel();
    const deadline = this.deadline;
    if (deadline === undefined) return;
    this.timer = this.clock.setTimer(deadline, () => {
      this.timer = undefined;
      // Timers may fire early (Clock): one a few ms early expires the lease (the safe side); one fired well before re-arms.
      const deadline = this.deadline;
      if (deadline === undefined) return;
      if (this.clock.now() < deadline - EARLY_FIRE_TOLERANCE_MS) return this.arm();
      this.stop();
      this.onExpired();
    });
  }
}
