/*
 * The client's tag pool.
 *
 * intro(5): "Each T-message has a tag field, chosen and used by the client
 *   to identify the message. The reply to the message will have the same
 *   tag. Clients are responsible for ensuring that no two outstanding
 *   messages on the same connection have the same tag."
 *   "The tag NOTAG ... is used for version messages" (so never here).
 * flush(5): "it must wait to receive the corresponding Rflush before reusing
 *   oldtag for subsequent messages."
 *
 * Tags 0..limit-1 are lent out; a caller over the bound waits (FIFO) for a
 * release. A few tags above the bound are kept for Tflush, so that flushing
 * cannot deadlock behind the very requests it would cancel.
 */
import { NOTAG } from '../codec/constants.js';
import { P9Error } from '../codec/errors.js';
import { AbortError } from '../channel/errors.js';

interface Waiter {
  resolve: (tag: number) => void;
  reject: (err: unknown) => void;
}

export class TagPool {
  readonly limit: number;
  readonly reserve: number;
  private next = 0;
  private readonly free: number[] = [];
  private readonly used = new Set<number>();
  private waiters: Waiter[] = [];

  constructor(limit: number, reserve = 8) {
    if (!Number.isInteger(limit) || limit < 1 || limit + reserve > NOTAG) {
      throw new P9Error('EINVAL', `tag pool limit ${limit} must be 1..${NOTAG - reserve}`);
    }
    this.limit = limit;
    this.reserve = reserve;
  }

  /** Tags lent out now. */
  get inUse(): number {
    return this.used.size;
  }

  /** A free tag at once, or undefined. `reserved` lets a Tflush use the spare tags. */
  tryAcquire(reserved = false): number | undefined {
    const bound = reserved ? this.limit + this.reserve : this.limit;
    if (this.used.size >= bound) return undefined;
    let tag = this.free.pop();
    if (tag === undefined) {
      if (this.next >= this.limit + this.reserve) return undefined;
      tag = this.next++;
    }
    this.used.add(tag);
    return tag;
  }

  /** A free tag, waiting for one if all are lent. Rejects with AbortError on abort. */
  acquire(opts: { signal?: AbortSignal; reserved?: boolean } = {}): Promise<number> {
    const tag = this.tryAcquire(opts.reserved);
    if (tag !== undefined) return Promise.resolve(tag);
    const signal = opts.signal;
    if (signal?.aborted) return Promise.reject(new AbortError(undefined, signal.reason));
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        resolve: (t) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(t);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      const onAbort = (): void => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new AbortError(undefined, signal?.reason));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(w);
    });
  }

  release(tag: number): void {
    if (!this.used.delete(tag)) return;
    const w = this.waiters.shift();
    if (w !== undefined && this.used.size < this.limit) {
      this.used.add(tag);
      w.resolve(tag);
      return;
    }
    if (w !== undefined) this.waiters.unshift(w);
    this.free.push(tag);
  }

  /** Rejects every waiter (the connection closed). */
  failAll(err: unknown): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w.reject(err);
  }
}
