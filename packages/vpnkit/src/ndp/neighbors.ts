/**
 * The IPv6 neighbour cache and the queue of packets awaiting resolution
 * (RFC 4861 §5.1, §7.2.2).
 *
 *   "Neighbor Cache (one for each interface) A set of entries about
 *    individual neighbors to which traffic has been sent recently. [...]
 *    contains information such as the neighbor's link-layer address"
 *                                                        (RFC 4861 §5.1)
 *
 *   "While waiting for address resolution to complete, the sender MUST,
 *    for each neighbor, retain a small queue of packets waiting for
 *    address resolution to complete.  The queue MUST hold at least one
 *    packet, and MAY contain more.  [...] When a queue overflows, the new
 *    arrival SHOULD replace the oldest entry."             (RFC 4861 §7.2.2)
 *
 * Simplified NUD: an entry lives `ttlMs` after it was last confirmed (by an
 * ND message or traffic from that address with the same MAC), then the next
 * packet for it triggers a fresh solicitation.  Bounded: `capacity` entries
 * (LRU eviction), and the pending queue bounds addresses, packets per
 * address and packets in total.  Time is passed in; no clock here.
 */

import type { EthernetAddress, Ipv6Address } from '../wire/index.js';
import { ResolutionQueue, type PendingOptions, type PendingStats } from '../arp/pending.js';

/** A Map key for an address: its 8 big-endian 16-bit words as UTF-16 code units. */
export function ipv6Key(a: Ipv6Address): string {
  // Bounded: callers pass 16-byte addresses (wire views and configuration).
  return String.fromCharCode(
    (a[0]! << 8) | a[1]!,
    (a[2]! << 8) | a[3]!,
    (a[4]! << 8) | a[5]!,
    (a[6]! << 8) | a[7]!,
    (a[8]! << 8) | a[9]!,
    (a[10]! << 8) | a[11]!,
    (a[12]! << 8) | a[13]!,
    (a[14]! << 8) | a[15]!,
  );
}

function same(a: Uint8Array, b: Uint8Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

export interface NeighborCacheOptions {
  /** Maximum entries (default 256). */
  readonly capacity?: number;
  /** How long a binding lives after it was last confirmed, ms (default 60 s). */
  readonly ttlMs?: number;
}

export interface NeighborEntry {
  readonly addr: Ipv6Address;
  mac: EthernetAddress;
  expiresAt: number;
  /** False once removed: a memo holding it must not use it. */
  live: boolean;
}

export interface NeighborCacheStats {
  entries: number;
  inserted: number;
  evicted: number;
  expired: number;
  /** Bindings whose MAC changed. */
  changed: number;
}

export class NeighborCache {
  readonly capacity: number;
  readonly ttlMs: number;
  private readonly entries = new Map<string, NeighborEntry>();
  /** The last entry looked up: the NAT sends runs of packets to one guest address. */
  private memo: NeighborEntry | undefined;
  private readonly counters = { inserted: 0, evicted: 0, expired: 0, changed: 0 };

  constructor(opts: NeighborCacheOptions = {}) {
    this.capacity = Math.max(1, Math.floor(opts.capacity ?? 256));
    this.ttlMs = Math.max(1, opts.ttlMs ?? 60_000);
  }

  /** Insert or refresh a binding (address and MAC are copied). */
  insert(now: number, addr: Ipv6Address, mac: EthernetAddress): void {
    const key = ipv6Key(addr);
    const e = this.entries.get(key);
    if (e !== undefined) {
      if (!same(e.mac, mac, 6)) {
        e.mac = mac.slice(0, 6);
        this.counters.changed++;
      }
      e.expiresAt = now + this.ttlMs;
      // Re-insert at the young end (LRU).
      this.entries.delete(key);
      this.entries.set(key, e);
      return;
    }
    this.counters.inserted++;
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.entries().next();
      if (!oldest.done) this.remove(oldest.value[0], oldest.value[1]);
      this.counters.evicted++;
    }
    this.entries.set(key, { addr: addr.slice(0, 16), mac: mac.slice(0, 6), expiresAt: now + this.ttlMs, live: true });
  }

  /**
   * Refresh the binding of `addr` if it exists with this MAC, without
   * allocating when it is the last one looked up.  True if it did.
   */
  confirm(now: number, addr: Ipv6Address, mac: EthernetAddress): boolean {
    const e = this.find(now, addr);
    if (e === undefined || !same(e.mac, mac, 6)) return false;
    e.expiresAt = now + this.ttlMs;
    return true;
  }

  /** The live binding for `addr`, or undefined. */
  lookup(now: number, addr: Ipv6Address): EthernetAddress | undefined {
    return this.find(now, addr)?.mac;
  }

  has(now: number, addr: Ipv6Address): boolean {
    return this.find(now, addr) !== undefined;
  }

  private find(now: number, addr: Ipv6Address): NeighborEntry | undefined {
    let e = this.memo;
    if (e === undefined || !e.live || !same(e.addr, addr, 16)) {
      const key = ipv6Key(addr);
      e = this.entries.get(key);
      if (e === undefined) return undefined;
      this.memo = e;
    }
    if (e.expiresAt <= now) {
      this.remove(ipv6Key(addr), e);
      this.counters.expired++;
      return undefined;
    }
    return e;
  }

  private remove(key: string, e: NeighborEntry): void {
    e.live = false;
    this.entries.delete(key);
    if (this.memo === e) this.memo = undefined;
  }

  expire(now: number): void {
    for (const [k, e] of this.entries) {
      if (e.expiresAt <= now) {
        this.remove(k, e);
        this.counters.expired++;
      }
    }
  }

  pollAt(): number | undefined {
    let t: number | undefined;
    for (const e of this.entries.values()) if (t === undefined || e.expiresAt < t) t = e.expiresAt;
    return t;
  }

  get size(): number {
    return this.entries.size;
  }

  /** A snapshot, oldest first. */
  list(): Array<{ addr: Ipv6Address; mac: EthernetAddress; expiresAt: number }> {
    return [...this.entries.values()].map((e) => ({ addr: e.addr, mac: e.mac, expiresAt: e.expiresAt }));
  }

  stats(): NeighborCacheStats {
    return { entries: this.entries.size, ...this.counters };
  }
}

export interface NeighborPendingOptions extends PendingOptions {
  /** Packets kept per address (default 16, room for a fragmented datagram; the oldest is replaced). */
  readonly perAddress?: number;
  /** RetransTimer between solicitations, ms (RFC 4861 §10: 1000). */
  readonly retryMs?: number;
  /** MAX_MULTICAST_SOLICIT (RFC 4861 §10: 3). */
  readonly maxRequests?: number;
}

export type NeighborPendingStats = PendingStats;

/** IPv6 packets waiting for neighbour discovery (16 per address by default). */
export class NeighborPending extends ResolutionQueue<Ipv6Address, string> {
  constructor(opts: NeighborPendingOptions = {}) {
    super(opts, ipv6Key, (a) => a.slice(0, 16), 16);
  }

  /** Park `packet` (kept by reference) until `addr` resolves; false if a bound dropped it. */
  enqueue(now: number, addr: Ipv6Address, packet: Uint8Array): boolean {
    return this.park(now, addr, packet);
  }
}
