/**
 * The lease table (RFC 2131 §4.3.1 address selection, §4.3.3 DECLINE).
 *
 *   "If an address is available, the new address SHOULD be chosen as
 *    follows:
 *      o The client's current address as recorded in the client's current
 *        binding, ELSE
 *      o The client's previous address as recorded in the client's (now
 *        expired or released) binding, if that address is in the server's
 *        pool of available addresses and not already allocated, ELSE
 *      o The address requested in the 'Requested IP Address' option, if that
 *        address is valid and not already allocated, ELSE
 *      o A new address allocated from the server's pool of available
 *        addresses"                                       (RFC 2131 §4.3.1)
 *
 *   "If the server receives a DHCPDECLINE message, the client has
 *    discovered through some other means that the suggested network
 *    address is already in use.  The server MUST mark the network address
 *    as not available"                                    (RFC 2131 §4.3.3)
 *
 * Keyed by client identifier (option 61) when present, else by MAC (§4.2:
 * "the combination of 'client identifier' or 'chaddr' and assigned network
 * address constitute a unique identifier for the client's lease").
 * Bounded: at most `maxLeases` records; expired and released records are
 * remembered (so a client gets its old address back) until their address
 * or slot is needed.  Static reservations (`reserve(mac, ip)`, e.g. from
 * hyperkit's preferred-IPv4 command) pin a pool address to one MAC; no
 * other client is offered it.  Time is passed in; no clock here.
 */

import { Ipv4Address, bytesToHex } from '../wire/index.js';

export type LeaseState = 'offered' | 'bound' | 'released';

export interface Lease {
  readonly key: string;
  readonly ip: Ipv4Address;
  mac: Uint8Array;
  state: LeaseState;
  /** ms; for 'released' the time it was released. */
  expiresAt: number;
}

export interface LeaseTableOptions {
  readonly rangeStart: Ipv4Address;
  readonly rangeEnd: Ipv4Address;
  readonly reserved: readonly Ipv4Address[];
  readonly maxLeases: number;
}

export class LeaseTable {
  private readonly byKey = new Map<string, Lease>();
  private readonly byIp = new Map<Ipv4Address, Lease>();
  /** Declined address -> time it becomes usable again. */
  private readonly declined = new Map<Ipv4Address, number>();
  private readonly reserved: Set<Ipv4Address>;
  /** MAC (hex) -> pinned address, and the reverse; at most one address per MAC. */
  private readonly pins = new Map<string, Ipv4Address>();
  private readonly pinnedBy = new Map<Ipv4Address, string>();
  private cursor: number;

  constructor(private readonly opts: LeaseTableOptions) {
    this.reserved = new Set(opts.reserved.map((a) => a >>> 0));
    this.cursor = opts.rangeStart >>> 0;
  }

  get size(): number {
    return this.byKey.size;
  }

  get(key: string): Lease | undefined {
    return this.byKey.get(key);
  }

  byAddress(ip: Ipv4Address): Lease | undefined {
    return this.byIp.get(ip >>> 0);
  }

  /** Is `ip` a pool address (in range, not reserved)? */
  inPool(ip: Ipv4Address): boolean {
    const a = ip >>> 0;
    return a >= this.opts.rangeStart >>> 0 && a <= this.opts.rangeEnd >>> 0 && !this.reserved.has(a);
  }

  /** Is the record live (holds its address against other clients)? */
  private live(l: Lease, now: number): boolean {
    return l.state !== 'released' && l.expiresAt > now;
  }

  private isDeclined(now: number, ip: Ipv4Address): boolean {
    const until = this.declined.get(ip);
    if (until === undefined) return false;
    if (until <= now) {
      this.declined.delete(ip);
      return false;
    }
    return true;
  }

  /**
   * Pin `ip` to `mac`: only that MAC is offered it, and that MAC is offered
   * it first.  Returns false when `ip` is outside the pool, pinned to
   * another MAC, or the table of pins is full (bounded by `maxLeases`); given
   * `now`, also while another MAC holds a bound, unexpired lease on it (the pin
   * could not be honoured until that lease lapsed, and its holder's renewals
   * would fail).
   */
  reserve(mac: Uint8Array, ip: Ipv4Address, now?: number): boolean {
    const a = ip >>> 0;
    const m = bytesToHex(mac.subarray(0, 6));
    if (!this.inPool(a)) return false;
    const owner = this.pinnedBy.get(a);
    if (owner !== undefined && owner !== m) return false;
    const holder = now === undefined ? undefined : this.byIp.get(a);
    // An offer is not a lease: one outstanding to another MAC gets a NAK when it asks for it.
    if (holder !== undefined && now !== undefined && holder.state === 'bound' && this.live(holder, now) && bytesToHex(holder.mac.subarray(0, 6)) !== m) {
      return false;
    }
    if (owner === undefined && !this.pins.has(m) && this.pins.size >= this.opts.maxLeases) return false;
    const old = this.pins.get(m);
    if (old !== undefined) this.pinnedBy.delete(old);
    this.pins.set(m, a);
    this.pinnedBy.set(a, m);
    return true;
  }

  /** Drops `mac`'s pin (its VIF went away); true if it had one. */
  unreserve(mac: Uint8Array): boolean {
    const m = bytesToHex(mac.subarray(0, 6));
    const a = this.pins.get(m);
    if (a === undefined) return false;
    this.pins.delete(m);
    this.pinnedBy.delete(a);
    return true;
  }

  /** The address pinned to `mac`, if any. */
  reservation(mac: Uint8Array): Ipv4Address | undefined {
    return this.pins.get(bytesToHex(mac.subarray(0, 6)));
  }

  /** Can `key` (with hardware address `mac`) take `ip` now? */
  available(now: number, key: string, ip: Ipv4Address, mac?: Uint8Array): boolean {
    const a = ip >>> 0;
    if (!this.inPool(a) || this.isDeclined(now, a)) return false;
    const owner = this.pinnedBy.get(a);
    if (owner !== undefined && (mac === undefined || owner !== bytesToHex(mac.subarray(0, 6)))) return false;
    const holder = this.byIp.get(a);
    return holder === undefined || holder.key === key || !this.live(holder, now);
  }

  /**
   * Choose an address for `key` per RFC 2131 §4.3.1, or undefined when the
   * pool (or the table) is exhausted.  Does not record anything.
   */
  choose(now: number, key: string, requested?: Ipv4Address, mac?: Uint8Array): Ipv4Address | undefined {
    const pinned = mac === undefined ? undefined : this.reservation(mac);
    if (pinned !== undefined && this.available(now, key, pinned, mac)) return pinned;
    const current = this.byKey.get(key);
    if (current !== undefined && this.available(now, key, current.ip, mac)) return current.ip;
    if (requested !== undefined && this.available(now, key, requested, mac)) return requested >>> 0;
    if (current === undefined && this.byKey.size >= this.opts.maxLeases && this.oldestReclaimable(now) === undefined) {
      return undefined;
    }
    // A never-used address first (so remembered bindings survive), scanning
    // from a moving cursor; bounded by the range size.
    const start = this.opts.rangeStart >>> 0;
    const end = this.opts.rangeEnd >>> 0;
    const n = end - start + 1;
    for (let i = 0; i < n; i++) {
      const a = start + ((this.cursor - start + i) % n);
      if (this.inPool(a) && !this.byIp.has(a) && !this.pinnedBy.has(a) && !this.isDeclined(now, a)) {
        this.cursor = a + 1 > end ? start : a + 1;
        return a;
      }
    }
    // Then the address of the oldest expired or released record.
    return this.oldestReclaimable(now)?.ip;
  }

  private oldestReclaimable(now: number): Lease | undefined {
    let best: Lease | undefined;
    for (const l of this.byKey.values()) {
      if (this.live(l, now) || this.isDeclined(now, l.ip) || this.pinnedBy.has(l.ip)) continue;
      if (best === undefined || l.expiresAt < best.expiresAt) best = l;
    }
    return best;
  }

  /** Record that `key` holds `ip` in `state` until `expiresAt`.  The caller checked `available`. */
  set(key: string, ip: Ipv4Address, mac: Uint8Array, state: LeaseState, expiresAt: number, now: number): Lease {
    const a = ip >>> 0;
    const mine = this.byKey.get(key);
    if (mine !== undefined && mine.ip !== a) this.drop(mine);
    const holder = this.byIp.get(a);
    if (holder !== undefined && holder.key !== key) this.drop(holder);
    if (!this.byKey.has(key) && this.byKey.size >= this.opts.maxLeases) {
      const victim = this.oldestReclaimable(now);
      if (victim !== undefined) this.drop(victim);
    }
    const lease: Lease = { key, ip: a, mac: mac.slice(0, 6), state, expiresAt };
    this.byKey.set(key, lease);
    this.byIp.set(a, lease);
    return lease;
  }

  /** Mark the record released (remembered, but no longer holding its address). */
  release(key: string, now: number): boolean {
    const l = this.byKey.get(key);
    if (l === undefined || l.state === 'released') return false;
    l.state = 'released';
    l.expiresAt = now;
    return true;
  }

  /** Take `ip` out of the pool until `until`, dropping any record on it. */
  decline(ip: Ipv4Address, until: number): void {
    const a = ip >>> 0;
    const holder = this.byIp.get(a);
    if (holder !== undefined) this.drop(holder);
    // Bounded by the range: only pool addresses are recorded.
    if (this.inPool(a)) this.declined.set(a, until);
  }

  private drop(l: Lease): void {
    this.byKey.delete(l.key);
    if (this.byIp.get(l.ip) === l) this.byIp.delete(l.ip);
  }

  /** Snapshot of all records. */
  list(): Lease[] {
    return [...this.byKey.values()].map((l) => ({ ...l }));
  }

  /** Number of records holding their address at `now`. */
  liveCount(now: number): number {
    let n = 0;
    for (const l of this.byKey.values()) if (this.live(l, now)) n++;
    return n;
  }

  /** Earliest time an offered/bound record lapses, or undefined. */
  pollAt(now: number): number | undefined {
    let t: number | undefined;
    for (const l of this.byKey.values()) {
      if (this.live(l, now) && (t === undefined || l.expiresAt < t)) t = l.expiresAt;
    }
    return t;
  }

  /** Format for logs. */
  static describe(l: Lease): string {
    return `${l.key} ${Ipv4Address.format(l.ip)} ${l.state}`;
  }
}
