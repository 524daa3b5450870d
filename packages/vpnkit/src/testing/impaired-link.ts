/**
 * A link that impairs traffic like `tc qdisc ... netem delay D loss L%
 * reorder R%` would, on the peer's egress or in both directions, for
 * testing recovery (this machine's kernel is built without sch_netem).
 *
 * netem's semantics, per frame: dropped with probability `loss`;
 * otherwise sent at once with probability `reorder` (overtaking frames
 * still in the delay line), else after `delayMs`.  A seeded PRNG makes a
 * run reproducible.
 */

import { seededRandom } from '../tcp/isn.js';
import type { Link, LinkStats } from '../switch/link.js';

/** Bound of the delay line and of the inbound queue, frames (a full queue drops, like a router). */
const MAX_QUEUE = 8192;

export interface Impairment {
  /** One-way delay, ms. */
  delayMs: number;
  /** Drop probability, 0..1. */
  loss: number;
  /** Probability a frame skips the delay line, 0..1. */
  reorder: number;
  seed?: number;
  /**
   * Which frames: 'egress' impairs only frames from the inner link's peer
   * towards the switch (like netem on the peer's interface, e.g. inside a
   * namespace); 'both' also impairs frames towards the peer. Default 'both'.
   */
  direction?: 'egress' | 'both';
}

export interface ImpairedLinkStats {
  dropped: number;
  reordered: number;
  delayed: number;
}

export class ImpairedLink implements Link {
  readonly name: string;
  readonly maxFrameSize: number;
  private readonly rnd: () => number;
  readonly impairStats: ImpairedLinkStats = { dropped: 0, reordered: 0, delayed: 0 };
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(
    private readonly inner: Link,
    private readonly imp: Impairment,
  ) {
    this.name = `impaired(${inner.name})`;
    this.maxFrameSize = inner.maxFrameSize;
    const r = seededRandom(imp.seed ?? 1);
    this.rnd = () => (r() >>> 0) / 0x1_0000_0000;
  }

  get closed(): boolean {
    return this.inner.closed;
  }

  /** Decide a frame's fate: deliver now, later, or never. */
  private pass(deliver: () => void): void {
    if (this.rnd() < this.imp.loss) {
      this.impairStats.dropped++;
      return;
    }
    if (this.imp.delayMs <= 0 || this.rnd() < this.imp.reorder) {
      if (this.imp.delayMs > 0) this.impairStats.reordered++;
      deliver();
      return;
    }
    if (this.timers.size >= MAX_QUEUE) {
      this.impairStats.dropped++;
      return;
    }
    this.impairStats.delayed++;
    const t = setTimeout(() => {
      this.timers.delete(t);
      deliver();
    }, this.imp.delayMs);
    this.timers.add(t);
  }

  async *frames(): AsyncIterableIterator<Uint8Array> {
    // Frames from the inner link are impaired on their way to the switch.
    const ready: Uint8Array[] = [];
    let wakeup: (() => void) | undefined;
    let done = false;
    void (async () => {
      for await (const f of this.inner.frames()) {
        this.pass(() => {
          if (ready.length >= MAX_QUEUE) {
            this.impairStats.dropped++;
            return;
          }
          ready.push(f);
          wakeup?.();
        });
      }
      done = true;
      wakeup?.();
    })();
    for (;;) {
      const f = ready.shift();
      if (f !== undefined) {
        yield f;
        continue;
      }
      if (done) return;
      await new Promise<void>((r) => (wakeup = r));
      wakeup = undefined;
    }
  }

  send(frame: Uint8Array): boolean {
    if (this.inner.closed) return false;
    if (this.imp.direction === 'egress') return this.inner.send(frame);
    this.pass(() => this.inner.send(frame));
    return true;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.inner.close();
  }

  stats(): LinkStats {
    return this.inner.stats();
  }
}
