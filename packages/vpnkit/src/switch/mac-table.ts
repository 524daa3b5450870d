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
 * the least recently seen entry.  Only unicast source addresses are
 * learned.  Time is passed in.
 */

import { bytesToHex, type EthernetAddress } from '../wire/index.js';

export interface MacTableOptions {
  readonly capacity?: number;
  readonly agingMs?: number;
}

interface Entry<P> {
  port: P;
  lastSeen: number;
}

export class MacTable<P> {
  readonly capacity: number;
  readonly agingMs: number;
  private readonly entries = new Map<string, Entry<P>>();
  evicted = 0;
  moved = 0;

  constructor(opts: MacTableOptions = {}) {
    this.capacity = Math.max(1, opts.capacity ?? 1024);
    this.agingMs = Math.max(1, opts.agingMs ?? 300_000);
  }

  learn(now: number, mac: EthernetAddress, port: P): void {
    if (((mac[0] ?? 1) & 1) === 1) return; // group addresses are never sources
    const key = bytesToHex(mac);
    const e = this.entries.get(key);
    if (e !== undefined) {
      this.entries.delete(key);
      if (e.port !== port) this.moved++;
    } else if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) {
        this.entries.delete(oldest.value);
        this.evicted++;
      }
    }
    this.entries.set(key, { port, lastSeen: now });
  }

  lookup(now: number, mac: EthernetAddress): P | undefined {
    const key = bytesToHex(mac);
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
