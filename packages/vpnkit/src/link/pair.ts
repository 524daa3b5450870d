/**
 * An in-process duplex link pair: what one end sends, the other receives.
 * For tests and for wiring two in-process stacks together.  Each direction
 * is a bounded `FrameQueue`; a full queue drops and counts.
 */

import { FrameQueue } from '../switch/frame-queue.js';
import { emptyLinkStats, type Link, type LinkStats } from '../switch/link.js';

export interface LinkPairOptions {
  /** Frames queued per direction (default 1024). */
  readonly capacity?: number;
  /** Largest frame accepted (default 65535 + 14). */
  readonly maxFrameSize?: number;
  readonly names?: readonly [string, string];
}

class PairEnd implements Link {
  readonly inbox: FrameQueue;
  peer: PairEnd | undefined;
  private readonly s: LinkStats = emptyLinkStats();
  private isClosed = false;

  constructor(
    readonly name: string,
    readonly maxFrameSize: number,
    capacity: number,
  ) {
    this.inbox = new FrameQueue(capacity);
  }

  frames(): AsyncIterableIterator<Uint8Array> {
    return this.inbox;
  }

  send(frame: Uint8Array): boolean {
    const peer = this.peer;
    if (this.isClosed || peer === undefined || peer.isClosed || frame.length > this.maxFrameSize) {
      this.s.txDropped++;
      return false;
    }
    if (!peer.receive(frame)) {
      this.s.txDropped++;
      return false;
    }
    this.s.txFrames++;
    this.s.txBytes += frame.length;
    return true;
  }

  private receive(frame: Uint8Array): boolean {
    if (!this.inbox.push(frame)) {
      this.s.rxDropped++;
      return false;
    }
    this.s.rxFrames++;
    this.s.rxBytes += frame.length;
    return true;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  close(): Promise<void> {
    if (!this.isClosed) {
      this.isClosed = true;
      this.inbox.end();
      void this.peer?.close();
    }
    return Promise.resolve();
  }

  stats(): LinkStats {
    return { ...this.s };
  }
}

/** Two connected links. */
export function createLinkPair(opts: LinkPairOptions = {}): [Link, Link] {
  const cap = opts.capacity ?? 1024;
  const max = opts.maxFrameSize ?? 65535 + 14;
  const [na, nb] = opts.names ?? ['pair-a', 'pair-b'];
  const a = new PairEnd(na, max, cap);
  const b = new PairEnd(nb, max, cap);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
