/**
 * A min-heap of deadlines for many timed objects (connections, flows), so
 * the stack's single timer costs O(log n) per change instead of a scan of
 * every connection.  Lazy deletion: an item's current deadline lives in the
 * map; heap entries that no longer match it are skipped when they surface,
 * and the heap is rebuilt when stale entries outnumber live ones.
 */

export class DeadlineQueue<T> {
  private heapAt: number[] = [];
  private heapItem: T[] = [];
  private readonly current = new Map<T, number>();

  get size(): number {
    return this.current.size;
  }

  /** Set (or clear, with undefined) the deadline of `item`. */
  set(item: T, at: number | undefined): void {
    if (at === undefined) {
      this.current.delete(item);
      return;
    }
    if (this.current.get(item) === at) return;
    this.current.set(item, at);
    this.push(at, item);
    if (this.heapAt.length > 64 && this.heapAt.length > 4 * this.current.size) this.rebuild();
  }

  delete(item: T): void {
    this.current.delete(item);
  }

  /** The earliest live deadline. */
  peek(): number | undefined {
    this.dropStale();
    return this.heapAt[0];
  }

  /** Remove and return every item whose deadline is <= now. */
  popDue(now: number): T[] {
    const due: T[] = [];
    for (;;) {
      this.dropStale();
      const at = this.heapAt[0];
      if (at === undefined || at > now) return due;
      const item = this.heapItem[0] as T;
      this.pop();
      this.current.delete(item);
      due.push(item);
    }
  }

  private dropStale(): void {
    while (this.heapAt.length > 0) {
      const item = this.heapItem[0] as T;
      if (this.current.get(item) === this.heapAt[0]) return;
      this.pop();
    }
  }

  private rebuild(): void {
    this.heapAt = [];
    this.heapItem = [];
    for (const [item, at] of this.current) this.push(at, item);
  }

  private push(at: number, item: T): void {
    const a = this.heapAt;
    const it = this.heapItem;
    let i = a.length;
    a.push(at);
    it.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((a[p] as number) <= at) break;
      a[i] = a[p] as number;
      it[i] = it[p] as T;
      i = p;
    }
    a[i] = at;
    it[i] = item;
  }

  private pop(): void {
    const a = this.heapAt;
    const it = this.heapItem;
    const lastAt = a.pop() as number;
    const lastItem = it.pop() as T;
    const n = a.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && (a[r] as number) < (a[l] as number) ? r : l;
      if ((a[c] as number) >= lastAt) break;
      a[i] = a[c] as number;
      it[i] = it[c] as T;
      i = c;
    }
    a[i] = lastAt;
    it[i] = lastItem;
  }
}
