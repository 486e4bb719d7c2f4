/**
 * How late the ticker woke after each second began: over the latest ticks for `status --json`'s
 * percentiles (issue 6: tick lateness under load), and the worst since it was last taken, for the
 * monitor record. A fixed ring, so recording allocates nothing. One listener may hear each tick as it
 * is recorded (the metrics' histogram and /healthz): it must be as cheap as recording.
 */
export const TICK_WINDOW = 60;

export interface TickLatenessSummary {
  /** Ticks summarised: the latest, at most TICK_WINDOW. */
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export class TickLateness {
  private readonly ring = new Float64Array(TICK_WINDOW);
  private recorded = 0;
  private maxSinceTaken = 0;
  private listener: ((lateMs: number) => void) | undefined;

  record(lateMs: number): void {
    this.ring[this.recorded % TICK_WINDOW] = lateMs;
    this.recorded++;
    this.maxSinceTaken = Math.max(this.maxSinceTaken, lateMs);
    this.listener?.(lateMs);
  }

  onRecord(listener: (lateMs: number) => void): void {
    this.listener = listener;
  }

  /** The worst lateness recorded since the previous call (ms), then starts over. */
  takeMax(): number {
    const max = this.maxSinceTaken;
    this.maxSinceTaken = 0;
    return max;
  }

  /** Nearest-rank percentiles of the window, or null before the first tick. */
  summary(): TickLatenessSummary | null {
    const count = Math.min(this.recorded, TICK_WINDOW);
    if (count === 0) return null;
    const sorted = this.ring.slice(0, count).sort();
    const rank = (fraction: number): number => sorted[Math.ceil(fraction * count) - 1];
    return { count, p50Ms: rank(0.5), p99Ms: rank(0.99), maxMs: sorted[count - 1] };
  }
}
