/**
 * Rows in the order history shows them, newest first, while the log is read backwards. The log is in
 * the order records were written, and one record can stand for fires up to a minute older than itself
 * (skips counted into one record, skip-report.ts): rows wait here until no record still to be read can
 * hold a newer one. A binary heap on (time, then the order read).
 */
export interface Timed {
  /** What the row is ordered by (ms). */
  readonly at: number;
}

interface Held<T> {
  readonly row: T;
  readonly seq: number;
}

export class NewestFirst<T extends Timed> {
  private readonly heap: Held<T>[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(row: T): void {
    this.heap.push({ row, seq: this.seq++ });
    let index = this.heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.before(index, parent)) break;
      this.swap(index, parent);
      index = parent;
    }
  }

  /** The newest row if it is at least as new as `at`; rows read later are never newer than their record. */
  popIfNotOlderThan(at: number): T | undefined {
    const top = this.heap[0];
    if (top === undefined || top.row.at < at) return undefined;
    const last = this.heap.pop()!;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.sink(0);
    }
    return top.row;
  }

  private sink(index: number): void {
    for (;;) {
      const left = 2 * index + 1;
      const right = left + 1;
      let first = index;
      if (left < this.heap.length && this.before(left, first)) first = left;
      if (right < this.heap.length && this.before(right, first)) first = right;
      if (first === index) return;
      this.swap(index, first);
      index = first;
    }
  }

  /** Newer first; of two alike, the one read first (written later). */
  private before(a: number, b: number): boolean {
    const x = this.heap[a];
    const y = this.heap[b];
    return x.row.at !== y.row.at ? x.row.at > y.row.at : x.seq < y.seq;
  }

  private swap(a: number, b: number): void {
    [this.heap[a], this.heap[b]] = [this.heap[b], this.heap[a]];
  }
}
