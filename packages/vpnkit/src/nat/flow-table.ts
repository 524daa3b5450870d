/**
 * The NAT's flow tables, keyed by (guest address, guest port, peer address,
 * peer port) for either IP family, without building a key per packet: the
 * four fields are hashed into a number (seeded per table, so a guest cannot
 * aim its ports at one bucket offline) and compared exactly within the
 * bucket.  IPv4 addresses are uint32 numbers, IPv6 ones 16 bytes; the two
 * never compare equal.  Bounds are the owner's (TcpNat, UdpNat).
 */

import type { IpAddress } from '../wire/index.js';

export interface FlowEnds {
  readonly guestIp: IpAddress;
  readonly guestPort: number;
  readonly peerIp: IpAddress;
  readonly peerPort: number;
}

function mix(h: number, v: number): number {
  h = Math.imul(h ^ v, 0x5bd1e995);
  return h ^ (h >>> 15);
}

function mixAddr(h: number, a: IpAddress): number {
  if (typeof a === 'number') return mix(h, a >>> 0);
  // Bounded: IPv6 addresses are 16 bytes (wire views and configuration).
  for (let i = 0; i < 16; i += 4) h = mix(h, (a[i]! << 24) | (a[i + 1]! << 16) | (a[i + 2]! << 8) | a[i + 3]!);
  return mix(h, 6);
}

export function sameAddr(a: IpAddress, b: IpAddress): boolean {
  if (typeof a === 'number') return typeof b === 'number' && a >>> 0 === b >>> 0;
  if (typeof b === 'number') return false;
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class FlowTable<F extends FlowEnds> {
  private readonly buckets = new Map<number, F[]>();
  private count = 0;
  private readonly seed = (Math.random() * 0x100000000) | 0;

  private hash(guestIp: IpAddress, guestPort: number, peerIp: IpAddress, peerPort: number): number {
    let h = mixAddr(this.seed, guestIp);
    h = mix(h, ((guestPort & 0xffff) << 16) | (peerPort & 0xffff));
    return mixAddr(h, peerIp);
  }

  get(guestIp: IpAddress, guestPort: number, peerIp: IpAddress, peerPort: number): F | undefined {
    const b = this.buckets.get(this.hash(guestIp, guestPort, peerIp, peerPort));
    if (b === undefined) return undefined;
    for (const f of b) {
      if (f.guestPort === guestPort && f.peerPort === peerPort && sameAddr(f.guestIp, guestIp) && sameAddr(f.peerIp, peerIp)) return f;
    }
    return undefined;
  }

  has(guestIp: IpAddress, guestPort: number, peerIp: IpAddress, peerPort: number): boolean {
    return this.get(guestIp, guestPort, peerIp, peerPort) !== undefined;
  }

  /** Add a flow whose ends are not in the table yet. */
  add(f: F): void {
    const h = this.hash(f.guestIp, f.guestPort, f.peerIp, f.peerPort);
    const b = this.buckets.get(h);
    if (b === undefined) this.buckets.set(h, [f]);
    else b.push(f);
    this.count++;
  }

  /** Remove this very flow (not another with the same ends); true if it was there. */
  delete(f: F): boolean {
    const h = this.hash(f.guestIp, f.guestPort, f.peerIp, f.peerPort);
    const b = this.buckets.get(h);
    if (b === undefined) return false;
    const i = b.indexOf(f);
    if (i === -1) return false;
    if (b.length === 1) this.buckets.delete(h);
    else b.splice(i, 1);
    this.count--;
    return true;
  }

  get size(): number {
    return this.count;
  }

  /** A snapshot of every flow (safe to modify the table while using it). */
  list(): F[] {
    const out: F[] = [];
    for (const b of this.buckets.values()) out.push(...b);
    return out;
  }
}
