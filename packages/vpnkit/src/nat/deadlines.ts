/**
 * A min-heap of deadlines for many timed objects (connections, flows), so
 * the stack's single timer costs O(log n) per change instead of a scan of
 * every connection.  Lazy deletion: an item's current entry lives in the
 * map; an entry that is superseded or deleted lets go of its item at once
 * (a finished connection must not stay reachable until its old deadline
 * surfaces: thousands of them were kept alive for the garbage collector to
 * copy) and is skipped when it surfaces; the heap is rebuilt when stale
 * entries outnumber live ones.
 */

/** A heap entry: its item until the entry is superseded or deleted, then nothing. */
interface Slot<T> {
  item: T | undefined;
  readonly at: number;
}

export class DeadlineQueue<T> {
  private heapAt: number[] = [];
  private heapSlot: Slot<T>[] = [];
  /** Each item's live entry (its current deadline is that entry's `heapAt`). */
  private readonly current = new Map<T, Slot<T>>();

  get size(): number {
    return this.current.size;
  }

  /** Set (or clear, with undefined) the deadline of `item`. */
  set(item: T, at: number | undefined): void {
    if (at === undefined) {
      this.delete(item);
      return;
    }
    const old = this.current.get(item);
    if (old !== undefined) {
      if (old.at === at) return;
      // Superseded: the stale entry no longer holds the item (a finished connection would
      // otherwise stay reachable until its old deadline surfaced).
      old.item = undefined;
    }
    const slot: Slot<T> = { item, at };
    this.current.set(item, slot);
    this.push(at, slot);
    if (this.heapAt.length > 64 && this.heapAt.length > 4 * this.current.size) this.rebuild();
  }

  delete(item: T): void {
    const slot = this.current.get(item);
    if (slot === undefined) return;
    slot.item = undefined;
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
      const item = (this.heapSlot[0] as Slot<T>).item as T;
      this.pop();
      this.current.delete(item);
      due.push(item);
    }
  }

  private dropStale(): void {
    while (this.heapAt.length > 0 && (this.heapSlot[0] as Slot<T>).item === undefined) this.pop();
  }

  private rebuild(): void {
    const at = this.heapAt;
    const slots = this.heapSlot;
    this.heapAt = [];
    this.heapSlot = [];
    for (let i = 0; i < slots.length; i++) if ((slots[i] as Slot<T>).item !== undefined) this.push(at[i] as number, slots[i] as Slot<T>);
  }

  private push(at: number, slot: Slot<T>): void {
    const a = this.heapAt;
    const it = this.heapSlot;
    let i = a.length;
    a.push(at);
    it.push(slot);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((a[p] as number) <= at) break;
      a[i] = a[p] as number;
      it[i] = it[p] as Slot<T>;
      i = p;
    }
    a[i] = at;
    it[i] = slot;
  }

  private pop(): void {
    const a = this.heapAt;
    const it = this.heapSlot;
    const lastAt = a.pop() as number;
    const lastSlot = it.pop() as Slot<T>;
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
      it[i] = it[c] as Slot<T>;
      i = c;
    }
    a[i] = lastAt;
    it[i] = lastSlot;
  }
}
