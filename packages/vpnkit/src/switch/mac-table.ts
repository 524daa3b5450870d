/**
 * The switch's forwarding table (IEEE 802.1D-2004 §7.8 "The Learning
 * Process", §7.9 "The Filtering Database").
 *
 *   "The Learning Process observes the source MAC Addresses of frames
 *    received on each Port and updates the Filtering Database"  (§7.8)
 *   "Dynamic Filtering Entries [...] shall be removed [...] after a
 *    specified time, the Ageing Time, has elapsed since the entry was
 *    created or last updated."  Recommended Ageing Time: 300 s (§7.9.2,
 *    Table 7-5).
 *
 * Bounded: at most `capacity` entries; learning into a full table evicts
 * the least recently seen entry (to within a second: see REORDER_MS).
 * Only unicast source addresses are learned.  Time is passed in.
 */

import type { EthernetAddress } from '../wire/index.js';

export interface MacTableOptions {
  readonly capacity?: number;
  readonly agingMs?: number;
}

interface Entry<P> {
  port: P;
  lastSeen: number;
  /** When the entry last moved to the young end of the eviction order. */
  ordered: number;
}

/**
 * A source seen again within this long keeps its place in the eviction order: learning (every
 * frame) then only writes two fields, where re-inserting meant a Map delete and set and a new
 * entry per frame.  Eviction picks among the least recently *re-ordered* entries, which for a
 * table of hosts that talk at all is the least recently seen to within this second.
 */
const REORDER_MS = 1000;

/** The 48-bit address as a number (exact in a double): no string per frame. */
function macKey(mac: EthernetAddress): number {
  return (((mac[0] as number) << 8) | (mac[1] as number)) * 0x1_0000_0000 + ((((mac[2] as number) << 24) | ((mac[3] as number) << 16) | ((mac[4] as number) << 8) | (mac[5] as number)) >>> 0);
}

export class MacTable<P> {
  readonly capacity: number;
  readonly agingMs: number;
  private readonly entries = new Map<number, Entry<P>>();
  evicted = 0;
  moved = 0;

  constructor(opts: MacTableOptions = {}) {
    this.capacity = Math.max(1, opts.capacity ?? 1024);
    this.agingMs = Math.max(1, opts.agingMs ?? 300_000);
  }

  learn(now: number, mac: EthernetAddress, port: P): void {
    if (((mac[0] ?? 1) & 1) === 1 || mac.length < 6) return; // group addresses are never sources
    const key = macKey(mac);
    const e = this.entries.get(key);
    if (e !== undefined) {
      if (e.port !== port) {
        this.moved++;
        e.port = port;
      }
      e.lastSeen = now;
      if (now - e.ordered >= REORDER_MS || now < e.ordered) {
        e.ordered = now;
        this.entries.delete(key);
        this.entries.set(key, e);
      }
      return;
    }
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) {
        this.entries.delete(oldest.value);
        this.evicted++;
      }
    }
    this.entries.set(key, { port, lastSeen: now, ordered: now });
  }

  lookup(now: number, mac: EthernetAddress): P | undefined {
    if (mac.length < 6) return undefined;
    const key = macKey(mac);
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (now - e.lastSeen >= this.agingMs) {
      this.entries.delete(key);
      return undefined;
    }
    return e.port;
  }

  /** Forget every entry on `port` (when a link goes away). */
  forgetPort(port: P): void {
    for (const [k, e] of this.entries) if (e.port === port) this.entries.delete(k);
  }

  expire(now: number): void {
    for (const [k, e] of this.entries) if (now - e.lastSeen >= this.agingMs) this.entries.delete(k);
  }

  get size(): number {
    return this.entries.size;
  }
}
