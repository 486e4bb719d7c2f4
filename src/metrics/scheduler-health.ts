/**
 * SPEC §9 `/healthz`: 200 while the scheduler ticks (last tick < 3 s ago), else 503. A stalled process
 * (SIGSTOP, a blocked event loop) cannot answer while it stalls, and once it runs again the overdue
 * tick usually comes before the waiting request: so a gap of 3 s or more between two ticks also
 * counts as unhealthy for the 3 s after it, and the probe that waited through the stall sees 503.
 * Monotonic time: a wall-clock step is not a stall.
 */
import { performance } from 'node:perf_hooks';

export const HEALTHY_TICK_GAP_MS = 3000;

export interface Health {
  readonly healthy: boolean;
  /** One line for whoever reads the probe's body. */
  readonly text: string;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

export class SchedulerHealth {
  private lastTickAt: number | undefined;
  /** The tick that ended the latest gap of HEALTHY_TICK_GAP_MS or more, and how long that gap was. */
  private stall = { endedAt: -Infinity, gapMs: 0 };

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Called on every tick (the daemon's tick-lateness hook). */
  ticked(): void {
    const at = this.now();
    if (this.lastTickAt !== undefined && at - this.lastTickAt >= HEALTHY_TICK_GAP_MS) this.stall = { endedAt: at, gapMs: at - this.lastTickAt };
    this.lastTickAt = at;
  }

  check(): Health {
    const now = this.now();
    if (this.lastTickAt === undefined) return { healthy: false, text: 'starting: the scheduler has not ticked yet' };
    const sinceTick = now - this.lastTickAt;
    if (sinceTick >= HEALTHY_TICK_GAP_MS) return { healthy: false, text: `stalled: the last tick was ${seconds(sinceTick)} ago` };
    const sinceStall = now - this.stall.endedAt;
    if (sinceStall < HEALTHY_TICK_GAP_MS) return { healthy: false, text: `stalled: no tick for ${seconds(this.stall.gapMs)}, until ${seconds(sinceStall)} ago` };
    return { healthy: true, text: `ok: the last tick was ${seconds(sinceTick)} ago` };
  }
}
