/**
 * SPEC §8 "hooks never block": the hooks and pings under way. Each is a promise nobody awaits but
 * this; past MAX_IN_FLIGHT a new one is dropped (the caller logs it with the count), so an endpoint
 * that hangs cannot pile up sockets and processes. A stop waits for them up to a bound, then aborts
 * what is left, so a failure at shutdown still alerts and a hung endpoint does not hold the stop.
 */

export const MAX_IN_FLIGHT = 64;
/** The longest a stop waits for hooks and pings in flight (one try's timeout). */
export const STOP_WAIT_MS = 10_000;

export class InFlight {
  private readonly running = new Set<Promise<void>>();
  private readonly stopper = new AbortController();
  /** Sends dropped because MAX_IN_FLIGHT were under way, since the daemon started. */
  dropped = 0;

  constructor(private readonly limit = MAX_IN_FLIGHT) {}

  get size(): number {
    return this.running.size;
  }

  /** Starts `send` (given the stop's abort signal) unless `limit` are under way; false when dropped. */
  start(send: (abort: AbortSignal) => Promise<void>): boolean {
    if (this.running.size >= this.limit) {
      this.dropped++;
      return false;
    }
    const promise: Promise<void> = send(this.stopper.signal)
      .catch(() => undefined)
      .finally(() => this.running.delete(promise));
    this.running.add(promise);
    return true;
  }

  /** Waits for every send under way (and those they start) for up to `boundMs`, then aborts the rest; resolves with how many were cut short. */
  async settle(boundMs: number): Promise<number> {
    const deadline = performance.now() + boundMs;
    while (this.running.size > 0) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(this.running), new Promise((resolve) => (timer = setTimeout(resolve, left)))]);
      clearTimeout(timer);
    }
    const cut = this.running.size;
    if (cut > 0) {
      this.stopper.abort();
      await Promise.all(this.running);
    }
    return cut;
  }
}
