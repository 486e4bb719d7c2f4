/** The one source of time: injected so the planner and supervisor can run on a fake clock in tests. */
export interface Clock {
  /** Wall-clock time in milliseconds since the epoch (Date.now()). */
  now(): number;
  /** Calls `fn` once, at or after `atMs` by the wall clock (real timers may fire slightly early). */
  setTimer(atMs: number, fn: () => void): Timer;
}

export interface Timer {
  cancel(): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(atMs, fn) {
    let cancel: () => void = () => undefined;
    const arm = (): void => {
      const delay = atMs - Date.now();
      // setTimeout's floor is 1 ms: for the last sub-millisecond before a boundary, poll with setImmediate.
      if (delay < 1) {
        const handle = setImmediate(fn);
        cancel = () => clearImmediate(handle);
        return;
      }
      // setTimeout can fire up to a millisecond early (a 300 ms timeout= ended a job 299 ms in): what is left is waited for again.
      const handle = setTimeout(() => (Date.now() >= atMs ? fn() : arm()), delay);
      cancel = () => clearTimeout(handle);
    };
    arm();
    return { cancel: () => cancel() };
  },
};

/** Waits for `work` to settle, but at most `ms` by `clock` (a stop must not hang on a hung etcd). */
export async function settleWithin(clock: Clock, ms: number, work: readonly Promise<unknown>[]): Promise<void> {
  let timer: Timer | undefined;
  const late = new Promise<void>((resolve) => (timer = clock.setTimer(clock.now() + ms, resolve)));
  await Promise.race([Promise.allSettled(work), late]);
  timer?.cancel();
}
