/**
 * Long work (parsing, diffing, indexing a large task file) written as a generator that pauses
 * between slices, so a reload can let ticks run in between (SPEC §3: never block the tick).
 */
export type Sliced<T> = Generator<void, T>;

/** All slices at once: for tests, tools and start-up, where nothing waits on the event loop. */
export function finishNow<T>(work: Sliced<T>): T {
  let step = work.next();
  while (!step.done) step = work.next();
  return step.value;
}

/** The slices with a turn of the event loop before each one, so due timers (the tick) run first. */
export async function finishBetweenTicks<T>(work: Sliced<T>): Promise<T> {
  for (;;) {
    await new Promise((resolve) => setImmediate(resolve));
    const step = work.next();
    if (step.done) return step.value;
  }
}
