/**
 * A value that changes, and readers that wait for it to change: the branch heads
 * behind `head.live` and `reflog`. Waiting is cancelled by the request's signal (a
 * Tflush or a closed connection), so a blocked read never outlives its client.
 */
import { FsError } from './errors.js';

export class Watchable<T> {
  #value: T;
  #version = 0;
  #waiters = new Set<() => void>();
  #listeners = new Set<(v: T) => void>();

  constructor(value: T) {
    this.#value = value;
  }

  get value(): T {
    return this.#value;
  }

  get version(): number {
    return this.#version;
  }

  set(v: T): void {
    this.#value = v;
    this.#version++;
    for (const l of this.#listeners) l(v);
    const ws = [...this.#waiters];
    this.#waiters.clear();
    for (const w of ws) w();
  }

  /** Nobody listens or waits: the owner may forget it. */
  get idle(): boolean {
    return this.#listeners.size === 0 && this.#waiters.size === 0;
  }

  /** Calls `l` with every value set from now on; returns the unsubscribe function. */
  subscribe(l: (v: T) => void): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  /** Resolves once the version is past `since`; rejects (EINTR) when `signal` aborts. */
  changed(since: number, signal: AbortSignal): Promise<void> {
    if (this.#version !== since) return Promise.resolve();
    return waitFor(signal, (wake) => {
      this.#waiters.add(wake);
      return () => this.#waiters.delete(wake);
    });
  }
}

/** Parks until `arm`'s wake is called or `signal` aborts. */
export function waitFor(signal: AbortSignal, arm: (wake: () => void) => () => void): Promise<void> {
  if (signal.aborted) return Promise.reject(new FsError('EINTR', 'Interrupted'));
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      disarm();
      reject(new FsError('EINTR', 'Interrupted'));
    };
    const disarm = arm(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
