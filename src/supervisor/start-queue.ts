/**
 * Starts waiting to be spawned, one per `setImmediate`: spawning a burst (or refilling from exit
 * callbacks with several jobs in flight) in one go starves every timer, the planner's included.
 */
export class StartQueue<T> {
  private items: T[] = [];
  private scheduled = false;

  constructor(private readonly start: (item: T) => void) {}

  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    this.items.push(item);
    this.schedule();
  }

  /** Removes and returns every waiting item. */
  clear(): T[] {
    const dropped = this.items;
    this.items = [];
    return dropped;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const item = this.items.shift();
      if (this.items.length > 0) this.schedule();
      if (item !== undefined) this.start(item);
    });
  }
}
