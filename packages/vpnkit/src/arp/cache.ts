/**
 * The ARP cache: IPv4 -> MAC bindings learned from the guest (RFC 826,
 * RFC 1122 §2.3.2.1).
 *
 *   "?Do I have the hardware type in ar$hrd?  Yes: ...
 *    ?Do I already have an entry for the <protocol type, sender protocol
 *    address> pair in my translation table?  If so, update the sender
 *    hardware address field of the entry with the new information in the
 *    packet and set Merge_flag to true."                       (RFC 826)
 *
 *   "(1) Timeout -- Periodically time out cache entries, even if they are
 *    in use."                                       (RFC 1122 §2.3.2.1)
 *
 * Bounded: at most `capacity` entries; inserting into a full cache evicts
 * the least recently refreshed entry (a Map keeps insertion order and a
 * refresh re-inserts).  Time is passed in (milliseconds); no clock here.
 */

import type { EthernetAddress, Ipv4Address } from '../wire/index.js';

export interface ArpCacheOptions {
  /** Maximum number of entries (default 256). */
  readonly capacity?: number;
  /** How long a binding lives after it was last confirmed, ms (default 60 s). */
  readonly ttlMs?: number;
}

interface Entry {
  readonly mac: EthernetAddress;
  expiresAt: number;
}

export interface ArpCacheStats {
  entries: number;
  inserted: number;
  evicted: number;
  expired: number;
}

export class ArpCache {
  readonly capacity: number;
  readonly ttlMs: number;
  private readonly entries = new Map<Ipv4Address, Entry>();
  private readonly counters = { inserted: 0, evicted: 0, expired: 0 };

  constructor(opts: ArpCacheOptions = {}) {
    this.capacity = Math.max(1, Math.floor(opts.capacity ?? 256));
    this.ttlMs = Math.max(1, opts.ttlMs ?? 60_000);
  }

  /** Insert or refresh a binding.  The MAC is copied. */
  insert(now: number, ip: Ipv4Address, mac: EthernetAddress): void {
    const key = ip >>> 0;
    if (this.entries.delete(key)) {
      // refreshed: re-inserted below at the young end
    } else {
      this.counters.inserted++;
      if (this.entries.size >= this.capacity) {
        const oldest = this.entries.keys().next();
        if (!oldest.done) {
          this.entries.delete(oldest.value);
          this.counters.evicted++;
        }
      }
    }
    this.entries.set(key, { mac: mac.slice(0, 6), expiresAt: now + this.ttlMs });
  }

  /** True when `ip` already has an entry (RFC 826's merge test). */
  has(now: number, ip: Ipv4Address): boolean {
    return this.lookup(now, ip) !== undefined;
  }

  /** The live binding for `ip`, or undefined (an expired entry is removed). */
  lookup(now: number, ip: Ipv4Address): EthernetAddress | undefined {
    const key = ip >>> 0;
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (e.expiresAt <= now) {
      this.entries.delete(key);
      this.counters.expired++;
      return undefined;
    }
    return e.mac;
  }

  /** Drop every expired entry. */
  expire(now: number): void {
    for (const [ip, e] of this.entries) {
      if (e.expiresAt <= now) {
        this.entries.delete(ip);
        this.counters.expired++;
      }
    }
  }

  /** The earliest expiry, or undefined when empty. */
  pollAt(): number | undefined {
    let t: number | undefined;
    for (const e of this.entries.values()) if (t === undefined || e.expiresAt < t) t = e.expiresAt;
    return t;
  }

  remove(ip: Ipv4Address): boolean {
    return this.entries.delete(ip >>> 0);
  }

  get size(): number {
    return this.entries.size;
  }

  /** A snapshot, oldest first. */
  list(): Array<{ ip: Ipv4Address; mac: EthernetAddress; expiresAt: number }> {
    return [...this.entries].map(([ip, e]) => ({ ip, mac: e.mac, expiresAt: e.expiresAt }));
  }

  stats(): ArpCacheStats {
    return { entries: this.entries.size, ...this.counters };
  }
}
