/**
 * Packets waiting for address resolution.
 *
 *   "(2) Queue -- [...] the link layer SHOULD save (rather than discard) at
 *    least one (the latest) packet of each set of packets destined to the
 *    same unresolved IP address, and transmit the saved packet when the
 *    address has been resolved."                    (RFC 1122 §2.3.2.2)
 *
 *   "A mechanism to prevent ARP flooding (repeatedly sending an ARP Request
 *    for the same IP address, at a high rate) MUST be included.  The
 *    recommended maximum rate is 1 per second per destination."
 *                                                    (RFC 1122 §2.3.2.1)
 *
 * Bounded three ways: the number of unresolved addresses, packets per
 * address (the oldest is dropped for the newest, as the RFC prefers the
 * latest), and packets in total.  A request is retried `maxRequests` times,
 * `retryMs` apart; then the address's packets are dropped.
 */

import type { Ipv4Address } from '../wire/index.js';

export interface PendingOptions {
  /** Unresolved addresses tracked at once (default 64). */
  readonly maxAddresses?: number;
  /** Packets kept per address (default 4). */
  readonly perAddress?: number;
  /** Packets kept in total (default 128). */
  readonly total?: number;
  /** Interval between ARP requests for one address, ms (default 1000). */
  readonly retryMs?: number;
  /** Requests sent before giving up (default 3). */
  readonly maxRequests?: number;
}

interface Waiting<A> {
  readonly addr: A;
  packets: Uint8Array[];
  requestsSent: number;
  nextRequestAt: number;
}

export interface PendingStats {
  addresses: number;
  packets: number;
  queued: number;
  released: number;
  /** Dropped because a bound was hit. */
  droppedFull: number;
  /** Dropped because resolution failed. */
  droppedUnresolved: number;
}

export type EnqueueResult = 'queued' | 'dropped';

/**
 * The queue for any address family: `keyOf` maps an address to a Map key, `copy` keeps an
 * address the caller may reuse. ARP (IPv4) and neighbour discovery (IPv6) each wrap it.
 */
export class ResolutionQueue<A, K> {
  private readonly maxAddresses: number;
  private readonly perAddress: number;
  private readonly total: number;
  private readonly retryMs: number;
  private readonly maxRequests: number;
  private readonly waiting = new Map<K, Waiting<A>>();
  private count = 0;
  private readonly counters = { queued: 0, released: 0, droppedFull: 0, droppedUnresolved: 0 };

  constructor(
    opts: PendingOptions,
    private readonly keyOf: (a: A) => K,
    private readonly copy: (a: A) => A,
    defaultPerAddress: number,
  ) {
    this.maxAddresses = Math.max(1, opts.maxAddresses ?? 64);
    this.perAddress = Math.max(1, opts.perAddress ?? defaultPerAddress);
    this.total = Math.max(1, opts.total ?? 128);
    this.retryMs = Math.max(1, opts.retryMs ?? 1000);
    this.maxRequests = Math.max(1, opts.maxRequests ?? 3);
  }

  /**
   * Park `packet` (kept by reference: the caller hands it over) until `addr` resolves; a new
   * address gets its first request due at `now`. False when a bound dropped it.
   */
  protected park(now: number, addr: A, packet: Uint8Array): boolean {
    const key = this.keyOf(addr);
    let w = this.waiting.get(key);
    if (w === undefined) {
      if (this.waiting.size >= this.maxAddresses) {
        this.counters.droppedFull++;
        return false;
      }
      w = { addr: this.copy(addr), packets: [], requestsSent: 0, nextRequestAt: now };
      this.waiting.set(key, w);
    }
    if (w.packets.length >= this.perAddress) {
      w.packets.shift();
      this.count--;
      this.counters.droppedFull++;
    }
    if (this.count >= this.total) {
      this.counters.droppedFull++;
      if (w.packets.length === 0) this.waiting.delete(key);
      return false;
    }
    w.packets.push(packet);
    this.count++;
    this.counters.queued++;
    return true;
  }

  /** The packets waiting for `addr` (removed from the queue). */
  release(addr: A): Uint8Array[] {
    if (this.waiting.size === 0) return [];
    const key = this.keyOf(addr);
    const w = this.waiting.get(key);
    if (w === undefined) return [];
    this.waiting.delete(key);
    this.count -= w.packets.length;
    this.counters.released += w.packets.length;
    return w.packets;
  }

  /**
   * The addresses to send a request for now; gives up on addresses whose
   * requests are exhausted (their packets are dropped and counted).
   */
  due(now: number): A[] {
    const out: A[] = [];
    for (const [k, w] of this.waiting) {
      if (w.nextRequestAt > now) continue;
      if (w.requestsSent >= this.maxRequests) {
        this.waiting.delete(k);
        this.count -= w.packets.length;
        this.counters.droppedUnresolved += w.packets.length;
        continue;
      }
      w.requestsSent++;
      w.nextRequestAt = now + this.retryMs;
      out.push(w.addr);
    }
    return out;
  }

  pollAt(): number | undefined {
    let t: number | undefined;
    for (const w of this.waiting.values()) if (t === undefined || w.nextRequestAt < t) t = w.nextRequestAt;
    return t;
  }

  isPending(addr: A): boolean {
    return this.waiting.size > 0 && this.waiting.has(this.keyOf(addr));
  }

  stats(): PendingStats {
    return { addresses: this.waiting.size, packets: this.count, ...this.counters };
  }
}

/** IPv4 packets waiting for ARP (4 per address by default). */
export class PendingQueue extends ResolutionQueue<Ipv4Address, number> {
  constructor(opts: PendingOptions = {}) {
    super(opts, (ip) => ip >>> 0, (ip) => ip >>> 0, 4);
  }

  /** Queue `packet` until `ip` resolves. */
  enqueue(now: number, ip: Ipv4Address, packet: Uint8Array): EnqueueResult {
    return this.park(now, ip, packet) ? 'queued' : 'dropped';
  }
}
