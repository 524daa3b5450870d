/**
 * A bounded FIFO of frames with a single async consumer: what every link
 * uses for its inbound side.  `push` never blocks: when `capacity` frames
 * are waiting it returns false and the caller counts the drop (tail drop,
 * as a NIC ring does).
 */

export class FrameQueue implements AsyncIterableIterator<Uint8Array> {
  private readonly items: Uint8Array[] = [];
  private head = 0;
  private waiter: ((r: IteratorResult<Uint8Array>) => void) | undefined;
  private ended = false;

  constructor(readonly capacity = 1024) {}

  get length(): number {
    return this.items.length - this.head;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Add a frame; false (dropped) when full or ended. */
  push(frame: Uint8Array): boolean {
    if (this.ended) return false;
    const w = this.waiter;
    if (w !== undefined) {
      this.waiter = undefined;
      w({ value: frame, done: false });
      return true;
    }
    if (this.length >= this.capacity) return false;
    this.items.push(frame);
    return true;
  }

  /** Wake the consumer with `done` once queued frames are consumed. */
  end(): void {
    this.ended = true;
    const w = this.waiter;
    if (w !== undefined && this.length === 0) {
      this.waiter = undefined;
      w({ value: undefined, done: true });
    }
  }

  /** Non-blocking take. */
  shift(): Uint8Array | undefined {
    if (this.length === 0) return undefined;
    const f = this.items[this.head];
    this.items[this.head] = EMPTY;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    return f;
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    const f = this.shift();
    if (f !== undefined) return Promise.resolve({ value: f, done: false });
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    if (this.waiter !== undefined) return Promise.reject(new Error('FrameQueue has a single consumer'));
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  return(): Promise<IteratorResult<Uint8Array>> {
    this.end();
    this.items.length = 0;
    this.head = 0;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Uint8Array> {
    return this;
  }
}

const EMPTY = new Uint8Array(0);
